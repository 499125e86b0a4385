import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { startConsumer, type RunningConsumer } from '../../../src/consumer-app.js';
import type { PipelineConfig } from '../../../src/config/pipeline-config.js';
import { defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { syntheticRecords } from '../../../src/demo/record-sources.js';
import { testConfig, testKafka, uniqueName, waitFor } from '../kafka-helpers.js';
import { groupOffsets, latestCheckpoint, produceAll, sleep } from './fault-helpers.js';

const good = (count: number, seed: number): ReturnType<typeof syntheticRecords> =>
  syntheticRecords(count, { friedman: { ...defaultFriedmanOptions, seed }, malformedFraction: 0, maxRecordBytes: 65536 });

/** A logger that keeps every line, to check what was warned. */
function recordingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }) as Logger;
  return { logger, lines };
}

async function runUntil(config: PipelineConfig, logger: Logger, processed: number): Promise<RunningConsumer> {
  const consumer = await startConsumer(config, logger);
  let failure: unknown;
  consumer.done.catch((error: unknown) => (failure = error ?? 'failed'));
  await waitFor(() => failure !== undefined || consumer.progress.totals.learned + consumer.progress.totals.deadLettered >= processed, 180_000, `${processed} records`);
  // A little longer: a consumer that started too early would go past the records it should learn.
  await sleep(1_000);
  await consumer.stop();
  expect(failure).toBeUndefined();
  return consumer;
}

function settings(topic: string): Record<string, unknown> {
  return {
    model: { backend: 'cpu', hidden: [16] },
    ntkgp: { enabled: false },
    fineTune: { every: 0 },
    batch: { size: 64, lingerMs: 100 },
    checkpoint: { every: 5, intervalSeconds: 0, keep: 5 },
    kafka: { topic, groupId: `${topic}-group` },
  };
}

describe('restore never skips records', () => {
  it('a corrupt newest checkpoint: falls back to the previous one and learns again from its position, not from the committed offset', async () => {
    const topic = uniqueName('faults-corrupt-newest');
    await produceAll(topic, [...good(2_000, 31)], 1);
    const base = testConfig(topic, settings(topic));
    // Local checkpoints only: with the changelog on, the task states in Kafka are newer than the torn file and
    // the restart needs no fallback; this pins the path where the local files are all there is.
    const config = { ...base, checkpoint: { ...base.checkpoint, every: 5, intervalSeconds: 0, keep: 5 }, state: { ...base.state, changelog: false } };
    await runUntil(config, recordingLogger().logger, 2_000);
    const dir = join(config.checkpoint.dir, config.kafka.groupId);
    const files = readdirSync(dir).filter((f) => /^checkpoint-\d+\.json$/.test(f)).sort();
    expect(files.length).toBeGreaterThanOrEqual(2);
    const newest = join(dir, files.at(-1)!);
    const text = readFileSync(newest, 'utf8');
    writeFileSync(newest, text.slice(0, Math.floor(text.length / 2))); // torn
    const fallback = latestCheckpoint(config.checkpoint.dir, config.kafka.groupId)!;
    const fallbackOffset = Number(fallback.state.position.offsets[0]!.offset);
    const { committed } = await groupOffsets(topic, config.kafka.groupId);
    expect(Number(committed[0])).toBe(2_000);
    expect(fallbackOffset).toBeLessThan(2_000);

    await produceAll(topic, [...good(1_000, 32)], 1);
    const { logger, lines } = recordingLogger();
    const second = await runUntil(config, logger, 3_000 - fallbackOffset);
    const final = latestCheckpoint(config.checkpoint.dir, config.kafka.groupId)!.state.position;
    console.log(
      `[faults/restore] corrupt newest checkpoint: fell back to offset ${fallbackOffset} (committed 2000); the restart learned ${second.progress.totals.learned} ` +
        `records; the final state holds ${final.learned} of 3000`,
    );
    expect(final.offsets[0]!.offset).toBe('3000');
    expect(final.learned + final.deadLettered).toBe(3_000);
    expect(second.progress.totals.learned).toBe(3_000 - fallbackOffset);
    expect(lines.some((l) => l.reason === 'relearning_lost_checkpoint')).toBe(true);
  });

  it("a stored checkpoint whose commit was cut short, at the stream's end: the restart commits its position though no record follows", async () => {
    const topic = uniqueName('faults-commit-behind');
    await produceAll(topic, [...good(1_000, 51)], 1);
    const config = testConfig(topic, settings(topic));
    await runUntil(config, recordingLogger().logger, 1_000);
    // As a crash between the checkpoint's write and its commit leaves it: the group's offset behind the stored position.
    const admin = testKafka().admin();
    await admin.connect();
    try {
      await admin.setOffsets({ groupId: config.kafka.groupId, topic, partitions: [{ partition: 0, offset: '600' }] });
    } finally {
      await admin.disconnect();
    }
    const consumer = await startConsumer(config, recordingLogger().logger);
    try {
      await waitFor(async () => (await groupOffsets(topic, config.kafka.groupId)).committed[0] === 1_000n, 30_000, 'the restored position committed');
      expect(consumer.progress.totals.learned).toBe(0);
    } finally {
      await consumer.stop();
    }
  });

  it('a topic deleted and recreated while stopped: the new records are all learned, with a warning', async () => {
    const topic = uniqueName('faults-recreated');
    await produceAll(topic, [...good(1_500, 41)], 1);
    const config = testConfig(topic, settings(topic));
    await runUntil(config, recordingLogger().logger, 1_500);

    const admin = testKafka().admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: [topic], timeout: 30_000 });
      await waitFor(async () => !(await admin.listTopics()).includes(topic), 30_000, 'topic deleted');
    } finally {
      await admin.disconnect();
    }
    // Recreating right away can race the deletion's cleanup; retry until the new topic takes records.
    for (let attempt = 0; ; attempt++) {
      try {
        await produceAll(topic, [...good(2_500, 42)], 1);
        break;
      } catch (error) {
        if (attempt >= 20) throw error;
        await sleep(500);
      }
    }
    const { end } = await groupOffsets(topic, config.kafka.groupId);
    expect(Number(end[0])).toBe(2_500);

    const { logger, lines } = recordingLogger();
    const second = await runUntil(config, logger, 2_500);
    const final = latestCheckpoint(config.checkpoint.dir, config.kafka.groupId)!.state.position;
    console.log(`[faults/restore] topic recreated with 2500 records: the restart learned ${second.progress.totals.learned}; warnings: ${lines.filter((l) => l.reason).map((l) => String(l.reason)).join(', ')}`);
    expect(second.progress.totals.learned).toBe(2_500);
    expect(final.offsets[0]!.offset).toBe('2500');
    expect(lines.some((l) => l.reason === 'no_committed_offset' || l.reason === 'beyond_log_end')).toBe(true);
  });
});
