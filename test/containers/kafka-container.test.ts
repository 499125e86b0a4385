import { describe, expect, inject, it } from 'vitest';
import { startConsumer } from '../../src/consumer-app.js';
import { produceRecords } from '../../src/demo/produce.js';
import { syntheticRecords } from '../../src/demo/record-sources.js';
import { defaultFriedmanOptions } from '../../src/demo/friedman.js';
import { deadLetterHeaders } from '../../src/kafka/dead-letter-publisher.js';
import { deadLetterTopicOf } from '../../src/config/pipeline-config.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import { committedAndEndOffsets, quietLogger, readTopic, sampleValue, scrape, testConfig, testKafka, uniqueName, waitFor } from '../integration/kafka-helpers.js';

/**
 * tangent's guarantees through a Kafka started by testcontainers (the suite's
 * global setup): every good record learned exactly once, every bad one
 * dead-lettered once with its reason, offsets committed to the end, and the
 * metrics saying the same. The integration suite proves the same on the local
 * broker; this proves the container path users take with `npm test` on Docker.
 */
const runtime = inject('containerRuntime');

describe('tangent against Kafka in a container (@testcontainers/kafka)', () => {
  it.skipIf(!runtime.available)('learns every good record exactly once, dead-letters every bad one with its reason, and commits to the end', async () => {
    console.log(`[containers] Kafka container at ${inject('kafkaBrokers')}`);
    const topic = uniqueName('tc-e2e');
    const config = testConfig(topic);
    const kafka = testKafka();
    await ensureTopics(kafka, [topic, deadLetterTopicOf(config.kafka)], 3);
    const records = [
      ...syntheticRecords(6_000, {
        friedman: { ...defaultFriedmanOptions, drift: 'none', seed: 23 },
        malformedFraction: 0.05,
        maxRecordBytes: config.kafka.maxRecordBytes,
      }),
    ];
    const bad = records.filter((r) => r.expectedReason !== undefined);
    const goodCount = records.length - bad.length;
    const expectedReasons = new Map<string, number>();
    for (const r of bad) expectedReasons.set(r.expectedReason!, (expectedReasons.get(r.expectedReason!) ?? 0) + 1);
    expect(expectedReasons.size).toBeGreaterThanOrEqual(5);
    await produceRecords(kafka, records, { topic, rate: 0 });

    const consumer = await startConsumer(config, quietLogger);
    try {
      await waitFor(() => {
        const { learned, deadLettered } = consumer.progress.totals;
        return learned + deadLettered >= records.length;
      }, 300_000, 'all records to be learned or dead-lettered');
      expect(consumer.progress.totals).toEqual({ learned: goodCount, deadLettered: bad.length });

      const metrics = await scrape(consumer.metricsAddress.port);
      expect(sampleValue(metrics, 'tangent_records_total', { result: 'learned' })).toBe(goodCount);
      expect(sampleValue(metrics, 'tangent_records_total', { result: 'dead_lettered' })).toBe(bad.length);
      for (const [reason, count] of expectedReasons) expect(sampleValue(metrics, 'tangent_dead_letters_total', { reason }), reason).toBe(count);

      const dead = await readTopic(deadLetterTopicOf(config.kafka), bad.length);
      expect(dead).toHaveLength(bad.length);
      const deadReasons = new Map<string, number>();
      const sourceOffsets = new Set<string>();
      for (const message of dead) {
        const header = (name: string): string => String(message.headers?.[name]);
        deadReasons.set(header(deadLetterHeaders.reason), (deadReasons.get(header(deadLetterHeaders.reason)) ?? 0) + 1);
        expect(header(deadLetterHeaders.sourceTopic)).toBe(topic);
        sourceOffsets.add(`${header(deadLetterHeaders.sourcePartition)}:${header(deadLetterHeaders.sourceOffset)}`);
      }
      expect(deadReasons).toEqual(expectedReasons);
      expect(sourceOffsets.size).toBe(bad.length);

      await consumer.stop();
      const { committed, end } = await committedAndEndOffsets(topic, config.kafka.groupId);
      expect(committed).toEqual(end);
      console.log(
        `[containers] ${records.length} records through the Kafka container: ${goodCount} learned once, ${bad.length} dead-lettered ` +
          `(${expectedReasons.size} reasons), committed offsets ${JSON.stringify(committed)} = end offsets`,
      );
    } finally {
      await consumer.stop();
    }
  });
});
