import { describe, expect, it } from 'vitest';
import { startConsumer, type RunningConsumer } from '../../../src/consumer-app.js';
import type { OutgoingRecord } from '../../../src/demo/record-sources.js';
import { quietLogger, sampleValue, scrape, testConfig, uniqueName, waitFor } from '../kafka-helpers.js';
import { produceAll } from './fault-helpers.js';

const json = (task: string, i: number): OutgoingRecord =>
  ({ key: task, value: Buffer.from(JSON.stringify({ task, x: Array.from({ length: 10 }, (_, k) => ((i * 7 + k * 3) % 10) / 10), y: (i % 13) / 3 })) }) as OutgoingRecord;
/** `count` records of `tasks`, interleaved. */
const interleaved = (tasks: readonly string[], count: number, from = 0): OutgoingRecord[] => Array.from({ length: count }, (_, i) => json(tasks[i % tasks.length]!, from + i));

async function evictions(consumer: RunningConsumer): Promise<Record<string, number>> {
  const text = await scrape(consumer.metricsAddress.port);
  return Object.fromEntries(['evicted', 'restored', 'dropped'].map((event) => [event, sampleValue(text, 'tangent_task_evictions_total', { event }) ?? 0]));
}

describe('idle-task eviction', () => {
  it('with every slot taken, idle tasks make room for new ones; an evicted task that returns gets its state back, also after a restart', async () => {
    const topic = uniqueName('faults-task-eviction');
    const config = testConfig(topic, {
      model: { backend: 'cpu', hidden: [16], maxTasks: 4, taskIdleRecords: 64 },
      ntkgp: { enabled: false },
      fineTune: { every: 0 },
      batch: { size: 16, lingerMs: 50 },
    });
    const old = ['a0', 'a1', 'a2', 'a3'];
    // 1: four tasks fill the four slots (a2 and a3 lose their first record to the recurrence rule: half the slots are taken).
    const phase1 = interleaved(old, 400);
    // 2: two new tasks; the old ones idle.
    const phase2 = interleaved(['b0', 'b1'], 300, 400);
    // 3: a0 returns.
    const phase3 = interleaved(['a0'], 100, 700);
    await produceAll(topic, [...phase1, ...phase2, ...phase3], 1);
    const processed = (c: RunningConsumer): number => c.totals.learned + c.totals.deadLettered;

    const first = await startConsumer(config, quietLogger);
    let learnedA0: number;
    let learnedA1: number;
    try {
      await waitFor(() => processed(first) >= 800, 120_000, 'phases 1–3');
      const tasks = first.session.tasks.list();
      const events = await evictions(first);
      learnedA0 = first.session.ledger.sourceOf('a0')!.learned;
      const movesA0 = first.session.network.targetMoments.get('a0')!.count;
      console.log(
        `[faults/task-eviction] after phases 1–3 (800 records): tasks ${tasks.join(', ')}; events ${JSON.stringify(events)}; ` +
          `learned ${first.totals.learned}, dead-lettered ${first.totals.deadLettered}; a0: ${learnedA0} learned in its state, target moments over ${movesA0}`,
      );
      expect(tasks.length).toBeLessThanOrEqual(4);
      expect(tasks).toEqual(expect.arrayContaining(['b0', 'b1', 'a0']));
      expect(events.evicted).toBeGreaterThanOrEqual(3);
      expect(events.restored).toBeGreaterThanOrEqual(1);
      // Restored, not fresh: a0's state holds its 100 records of phase 1 and its 100 of phase 3.
      expect(learnedA0).toBe(200);
      expect(movesA0).toBe(200);
      expect(first.totals.learned + first.totals.deadLettered).toBe(800);
      // The new tasks got in once the old ones had been idle 64 records (and had recurred).
      expect(first.session.ledger.sourceOf('b0')!.learned).toBeGreaterThan(100);
      expect(first.session.ledger.sourceOf('b1')!.learned).toBeGreaterThan(100);
      learnedA1 = 100;
    } finally {
      await first.stop();
    }

    // 4: after a restart from the checkpoint, a1 (evicted, parked in the checkpoint) returns.
    await produceAll(topic, interleaved(['a1'], 50, 800), 1);
    const second = await startConsumer(config, quietLogger);
    try {
      await waitFor(() => processed(second) >= 50, 120_000, 'phase 4');
      const events = await evictions(second);
      const a1 = second.session.ledger.sourceOf('a1')!.learned;
      console.log(`[faults/task-eviction] after a restart, a1 returns: ${a1} learned in its state (${learnedA1} before its eviction + 50); events ${JSON.stringify(events)}`);
      expect(second.totals.learned + second.totals.deadLettered).toBe(50);
      expect(events.restored).toBe(1);
      expect(a1).toBe(learnedA1 + 50);
      expect(second.session.tasks.size).toBeLessThanOrEqual(4);
    } finally {
      await second.stop();
    }
  });
});
