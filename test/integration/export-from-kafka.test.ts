import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportFromKafka, exportModels } from '../../src/commands/export.js';
import { startConsumer } from '../../src/consumer-app.js';
import { defaultFriedmanOptions, FriedmanStream } from '../../src/demo/friedman.js';
import { syntheticRecords } from '../../src/demo/record-sources.js';
import type { ExportIndex } from '../../src/model/layers-export.js';
import { brokers, quietLogger, testConfig, uniqueName, waitFor } from './kafka-helpers.js';
import { produceAll, repoRoot, tempDir, writePipeline } from './faults/fault-helpers.js';

const tasks = ['sensor-0', 'sensor-1', 'sensor-2'];

function predictWithTfjs(dir: string, inputs: Record<string, number[][]>): Record<string, number[]> {
  return JSON.parse(execFileSync(process.execPath, [join(repoRoot, 'test/fixtures/export/predict-with-tfjs.mjs'), dir], { input: JSON.stringify(inputs), cwd: repoRoot }).toString()) as Record<string, number[]>;
}

/**
 * `tangent export --from-kafka`: the model a consumer group keeps in Kafka
 * (state changelog + trunk topic), exported without the consumer's local
 * files — while it runs, and after it stopped, when it must equal the export
 * of the consumer's own newest checkpoint.
 */
describe('tangent export --from-kafka', () => {
  it('exports a running consumer group from its state topics, and after it stops the same model as its newest checkpoint', async () => {
    const topic = uniqueName('export-kafka');
    const count = 3_000;
    await produceAll(topic, [...syntheticRecords(count, { friedman: { ...defaultFriedmanOptions, seed: 21, tasks }, malformedFraction: 0, maxRecordBytes: 64 * 1024 })], 3);
    const dir = tempDir('export-kafka');
    const groupId = `${topic}-group`;
    const document = {
      kafka: { topic, groupId },
      model: { backend: 'cpu', hidden: [32, 32] },
      // A trunk publication after every batch: the trunk topic then ends on the trunk of the last checkpoint.
      state: { trunkSyncBatches: 1 },
      checkpoint: { dir: join(dir, 'checkpoints'), every: 5 },
      metrics: { port: 0 },
      summaryIntervalSeconds: 0,
    };
    const pipeline = writePipeline(dir, document);
    const config = testConfig(topic, document);
    const consumer = await startConsumer(config, quietLogger);

    // While it learns: the CLI, from Kafka alone.
    await waitFor(() => consumer.totals.learned >= count / 3, 120_000, 'a third of the stream learned');
    await waitFor(() => (consumer.metrics.lastCheckpointAt ?? 0) > 0, 60_000, 'a checkpoint with task states in Kafka');
    const live = join(dir, 'live');
    execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'export', '--pipeline', pipeline, '--from-kafka', '--out', live], {
      cwd: repoRoot,
      env: { ...process.env, KAFKA_BROKERS: brokers().join(',') },
      stdio: 'pipe',
    });
    const liveIndex = JSON.parse(readFileSync(join(live, 'index.json'), 'utf8')) as ExportIndex;
    expect(liveIndex.exportedFrom).toMatch(/^kafka:/);
    expect(liveIndex.modelVersion).toBeNull();
    expect(liveIndex.tasks.length).toBeGreaterThan(0);

    await waitFor(() => consumer.totals.learned >= count, 120_000, 'the whole stream learned');
    await consumer.stop();

    const fromKafka = join(dir, 'from-kafka');
    const fromCheckpoint = join(dir, 'from-checkpoint');
    const kafkaIndex = await exportFromKafka(config, fromKafka, quietLogger);
    const checkpointIndex = await exportModels(config, fromCheckpoint);
    expect(kafkaIndex.tasks.map((t) => t.task)).toEqual([...tasks]);
    expect(checkpointIndex.tasks.map((t) => t.task).sort()).toEqual([...tasks]);

    const probe = new FriedmanStream({ ...defaultFriedmanOptions, seed: 99, tasks });
    const inputs: Record<string, number[][]> = {};
    for (let i = 0; i < 300; i++) {
      const { task, x } = probe.next();
      (inputs[task] ??= []).push(Array.from(x));
    }
    const a = predictWithTfjs(fromKafka, inputs);
    const b = predictWithTfjs(fromCheckpoint, inputs);
    const liveOut = predictWithTfjs(live, inputs);
    let worst = 0;
    let liveMoved = 0;
    for (const task of tasks) {
      a[task]!.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(v - b[task]![i]!));
        if (liveOut[task]) liveMoved = Math.max(liveMoved, Math.abs(v - liveOut[task]![i]!));
      });
    }
    console.log(`[export-kafka] live export: ${liveIndex.tasks.length} tasks; after stop, max |from Kafka − from checkpoint| ${worst.toExponential(2)} over ${tasks.length} tasks, 300 records; the live export differs from the final by up to ${liveMoved.toFixed(3)}`);
    expect(worst).toBeLessThanOrEqual(1e-5);
    // The live export was an earlier model: learning went on after it.
    expect(liveMoved).toBeGreaterThan(1e-3);
  }, 300_000);
});
