import { describe, expect, it } from 'vitest';
import { startConsumer } from '../../../src/consumer-app.js';
import { defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { syntheticRecords, type OutgoingRecord } from '../../../src/demo/record-sources.js';
import type { BatchObserver } from '../../../src/pipeline/observe.js';
import { observedTarget, type LearnedBatch } from '../../../src/pipeline/records.js';
import { quietLogger, testConfig, uniqueName, waitFor } from '../kafka-helpers.js';
import { produceAll } from './fault-helpers.js';

const tasks = ['sensor-0', 'sensor-1', 'sensor-2'];
const recordCount = 3_000;
const injectAt = 1_000;

/** Network MAE per task over the records after `after` (the injected record itself excluded). */
class MaeAfter implements BatchObserver {
  readonly sums = new Map<string, { absolute: number; count: number }>();
  constructor(private readonly after: number) {}
  observe(batch: LearnedBatch): void {
    const nn = batch.scores.find((s) => s.model === 'nn');
    if (!nn) return;
    batch.accepted.forEach((record, i) => {
      const { source, example } = record;
      if (Number(source.offset) <= this.after) return;
      const sum = this.sums.get(example.task) ?? { absolute: 0, count: 0 };
      sum.absolute += Math.abs(nn.predictions[i]! - observedTarget(record));
      sum.count += 1;
      this.sums.set(example.task, sum);
    });
  }
  mae(task: string): number {
    const s = this.sums.get(task)!;
    return s.absolute / s.count;
  }
}

/** The same stream each run, with record `injectAt` replaced by `injected` (a record of task sensor-0). */
async function run(label: string, injected: { x0: number; y: number }): Promise<Map<string, number>> {
  const base: OutgoingRecord[] = [
    ...syntheticRecords(recordCount, { friedman: { ...defaultFriedmanOptions, seed: 71, tasks, drift: 'none' }, malformedFraction: 0, maxRecordBytes: 65536 }),
  ];
  const x = Array.from({ length: 10 }, () => 0.5);
  x[0] = injected.x0;
  base[injectAt] = { key: 'sensor-0', value: Buffer.from(JSON.stringify({ task: 'sensor-0', x, y: injected.y })) } as OutgoingRecord;
  const topic = uniqueName(`faults-robust-${label}`);
  await produceAll(topic, base, 1);
  const config = testConfig(topic, {
    model: { backend: 'cpu', hidden: [32, 32] },
    ntkgp: { enabled: false },
    batch: { size: 32, lingerMs: 0 },
  });
  const observer = new MaeAfter(injectAt);
  const consumer = await startConsumer(config, quietLogger, { observers: [observer] });
  try {
    await waitFor(() => consumer.progress.totals.learned >= recordCount - 32, 180_000, `${label}: the stream`);
  } finally {
    await consumer.stop();
  }
  return new Map(tasks.map((t) => [t, observer.mae(t)]));
}

describe('robust scaling: one extreme record does not wreck the model', () => {
  it('x[0] = 1e30 or y = 1e30 once: every task’s later MAE stays within 10% of a run without it', async () => {
    const control = await run('control', { x0: 0.5, y: 14 });
    const hugeFeature = await run('x1e30', { x0: 1e30, y: 14 });
    const hugeTarget = await run('y1e30', { x0: 0.5, y: 1e30 });
    const lines: string[] = [];
    for (const task of tasks) {
      const c = control.get(task)!;
      lines.push(`${task}: control ${c.toFixed(3)}, x=1e30 ${hugeFeature.get(task)!.toPrecision(4)}, y=1e30 ${hugeTarget.get(task)!.toPrecision(4)}`);
    }
    console.log(`[faults/robust-scaling] network MAE after the injected record (records ${injectAt + 1}–${recordCount}):\n  ${lines.join('\n  ')}`);
    for (const task of tasks) {
      expect(hugeFeature.get(task)! / control.get(task)!, `x=1e30, ${task}`).toBeLessThan(1.1);
      expect(hugeTarget.get(task)! / control.get(task)!, `y=1e30, ${task}`).toBeLessThan(1.1);
    }
  });
});
