import { describe, expect, it } from 'vitest';
import { defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { syntheticRecords, type OutgoingRecord } from '../../../src/demo/record-sources.js';
import type { Prediction } from '../../../src/pipeline/prediction.js';
import { readTopic, uniqueName, waitFor } from '../kafka-helpers.js';
import { ConsumerProcess, committedSum, fullyCommitted, groupOffsets, produceAll, recordsInBatches, sleep, tempDir, writePipeline } from './fault-helpers.js';

/**
 * kill -9 of the consumer while it publishes predictions: 9,919 records (30%
 * unlabeled, 2% malformed), killed at random points and restarted, against an
 * uninterrupted run. Deterministic mode (one partition, count-based batches,
 * the pure-JS backend; see docs/reliability.md): a record scored again after a
 * restart is scored by the same model state, so its re-published prediction
 * is identical.
 */
const batchSize = 64;
const checkpointEvery = 10;
/** Whole checkpoint intervals (the warm-up's 1, 2, 4, … 32 records, then full batches): with count-based batches the last batch must be full to be learned. */
const recordCount = recordsInBatches(checkpointEvery * 16, batchSize);
const kills = 4;

function pipelineFor(topic: string, groupId: string, dir: string): Record<string, unknown> {
  return {
    kafka: { topic, groupId, deadLetterTopic: `${groupId}.dlq`, maxWaitTimeMs: 100, sessionTimeoutMs: 6_000 },
    model: { backend: 'cpu', hidden: [32, 32], seed: 42 },
    batch: { size: batchSize, lingerMs: 0 },
    checkpoint: { dir, every: checkpointEvery, intervalSeconds: 0, keep: 3 },
    ntkgp: { enabled: true, window: 64 },
    serving: { predictionsTopic: `${groupId}.predictions` },
    metrics: { port: 0 },
    summaryIntervalSeconds: 0,
  };
}

async function runToEnd(pipeline: string, topic: string, groupId: string): Promise<void> {
  const consumer = new ConsumerProcess(pipeline);
  await waitFor(
    async () => {
      if (!consumer.running) throw new Error(`consumer exited early:\n${consumer.stderr}\n${consumer.stdout.slice(-3000)}`);
      return consumer.stderr.includes('tangent: learning on backend') && fullyCommitted(await groupOffsets(topic, groupId));
    },
    400_000,
    `${groupId} to commit every record`,
  );
  consumer.kill('SIGTERM');
  expect(await consumer.exited, consumer.stderr).toEqual({ code: 0, signal: null });
}

/** Prediction messages of a topic as (coordinates → every key+value seen there). */
async function predictionsByRecord(topic: string, atLeast: number): Promise<{ total: number; byRecord: Map<string, string[]> }> {
  const messages = await readTopic(topic, atLeast, 120_000);
  const byRecord = new Map<string, string[]>();
  for (const message of messages) {
    const value = JSON.parse(String(message.value)) as Prediction;
    const where = `${value.source.partition}:${value.source.offset}`;
    const list = byRecord.get(where) ?? [];
    list.push(`${String(message.key)} ${String(message.value)}`);
    byRecord.set(where, list);
  }
  return { total: messages.length, byRecord };
}

describe('kill -9 while publishing predictions', () => {
  it(`at ${kills} random points of a ${recordCount.toLocaleString('en-US')}-record run: no prediction lost, duplicates identical to the uninterrupted run's`, async () => {
    const topic = uniqueName('faults-kill-predictions');
    const records: OutgoingRecord[] = [
      ...syntheticRecords(recordCount, {
        friedman: { ...defaultFriedmanOptions, drift: 'none', seed: 41 },
        malformedFraction: 0.02,
        unlabeledFraction: 0.3,
        maxRecordBytes: 64 * 1024,
      }),
    ];
    const goodCount = records.filter((r) => r.expectedReason === undefined).length;
    const unlabeledCount = records.filter((r) => r.expectedReason === undefined && !('y' in (JSON.parse(String(r.value)) as object))).length;
    await produceAll(topic, records, 1);

    const referenceGroup = `${topic}-reference`;
    const referenceDir = tempDir('predictions-reference');
    await runToEnd(writePipeline(referenceDir, pipelineFor(topic, referenceGroup, referenceDir)), topic, referenceGroup);
    const reference = await predictionsByRecord(`${referenceGroup}.predictions`, goodCount);

    const crashGroup = `${topic}-crashed`;
    const crashDir = tempDir('predictions-crashed');
    const pipeline = writePipeline(crashDir, pipelineFor(topic, crashGroup, crashDir));
    const killLog: string[] = [];
    for (let k = 0; k < kills; k++) {
      const consumer = new ConsumerProcess(pipeline);
      const before = committedSum(await groupOffsets(topic, crashGroup));
      // At least one checkpoint past the last kill, never past the end; then a random extra delay.
      const target = BigInt(
        Math.min(
          Math.max(Math.floor(recordCount * (0.1 + (0.75 * (k + Math.random())) / kills)), Number(before) + batchSize * checkpointEvery),
          recordCount - batchSize * checkpointEvery,
        ),
      );
      await waitFor(
        async () => {
          if (!consumer.running) throw new Error(`consumer exited before the kill:\n${consumer.stderr}`);
          return committedSum(await groupOffsets(topic, crashGroup)) >= target;
        },
        240_000,
        `committed offset ${target}`,
      );
      const extraDelay = Math.floor(Math.random() * 400);
      await sleep(extraDelay);
      consumer.kill('SIGKILL');
      expect((await consumer.exited).signal).toBe('SIGKILL');
      killLog.push(`kill ${k + 1}: ${extraDelay} ms after committed offset ${target}; committed then ${committedSum(await groupOffsets(topic, crashGroup))}`);
    }
    await runToEnd(pipeline, topic, crashGroup);
    const crashed = await predictionsByRecord(`${crashGroup}.predictions`, goodCount);

    const duplicates = crashed.total - crashed.byRecord.size;
    let differingDuplicates = 0;
    let differingFromReference = 0;
    for (const [where, seen] of crashed.byRecord) {
      if (new Set(seen).size !== 1) differingDuplicates += 1;
      if (seen[0] !== reference.byRecord.get(where)?.[0]) differingFromReference += 1;
    }
    const unlabeledPublished = [...crashed.byRecord.values()].filter((seen) => (JSON.parse(seen[0]!.slice(seen[0]!.indexOf(' ') + 1)) as Prediction).labeled === false).length;
    console.log(
      [
        `[faults/kill-predictions] ${recordCount} records (${goodCount} good, ${unlabeledCount} of them unlabeled), 1 partition, batch ${batchSize}, checkpoint every ${checkpointEvery} batches`,
        ...killLog.map((l) => `[faults/kill-predictions] ${l}`),
        `[faults/kill-predictions] uninterrupted run: ${reference.total} prediction messages for ${reference.byRecord.size} records`,
        `[faults/kill-predictions] killed run: ${crashed.total} prediction messages for ${crashed.byRecord.size} records (${unlabeledPublished} unlabeled); ` +
          `${duplicates} duplicates (bound ${kills} kills × ${batchSize * checkpointEvery} = ${kills * batchSize * checkpointEvery}), ` +
          `${differingDuplicates} records with differing duplicates, ${differingFromReference} records whose prediction differs from the uninterrupted run's`,
      ].join('\n'),
    );
    expect(reference.total).toBe(goodCount);
    expect(reference.byRecord.size).toBe(goodCount);
    // No prediction lost: every good record has one.
    expect(crashed.byRecord.size).toBe(goodCount);
    expect(unlabeledPublished).toBe(unlabeledCount);
    // Duplicates are identical (key and value), the same as without a crash, and bounded by one checkpoint interval per kill.
    expect(differingDuplicates).toBe(0);
    expect(differingFromReference).toBe(0);
    expect(duplicates).toBeLessThanOrEqual(kills * batchSize * checkpointEvery);
  });
});
