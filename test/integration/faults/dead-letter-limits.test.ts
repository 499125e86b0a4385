import { createHash } from 'node:crypto';
import { Partitioners, type Message } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { startConsumer } from '../../../src/consumer-app.js';
import { deadLetterTopicOf } from '../../../src/config/pipeline-config.js';
import { defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { syntheticRecords } from '../../../src/demo/record-sources.js';
import { deadLetterHeaders } from '../../../src/kafka/dead-letter-publisher.js';
import { ensureTopics } from '../../../src/kafka/topics.js';
import { quietLogger, readTopic, sampleValue, scrape, testConfig, testKafka, uniqueName, waitFor } from '../kafka-helpers.js';
import { fullyCommitted, groupOffsets } from './fault-helpers.js';

async function send(topic: string, messages: Message[]): Promise<void> {
  const producer = testKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    // One request each for the big ones: a producer request is itself bounded by the broker's limit.
    for (const message of messages) await producer.send({ topic, acks: -1, messages: [message] });
  } finally {
    await producer.disconnect();
  }
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('dead letters at the broker’s size limit', () => {
  it('large rejects in one batch are split and truncated to fit, keep their headers, and are counted only once published', async () => {
    const topic = uniqueName('faults-dlq-size');
    const config = testConfig(topic, {
      model: { backend: 'cpu', hidden: [16] },
      ntkgp: { enabled: false },
      batch: { size: 64, lingerMs: 200 },
    });
    await ensureTopics(testKafka(), [topic, deadLetterTopicOf(config.kafka)], 1);

    const good = [...syntheticRecords(200, { friedman: { ...defaultFriedmanOptions, seed: 3 }, malformedFraction: 0, maxRecordBytes: 65536 })].map(
      (r): Message => ({ key: r.key, value: r.value }),
    );
    // Two 600 kB non-JSON values (too_large), forty 60 kB invalid-JSON values (each under maxRecordBytes),
    // and one value just under the source topic's limit; the first carries headers of its own.
    const huge = Buffer.alloc(1_048_450 - 200, 0x7a);
    const bad: Message[] = [
      { key: 'big-0', value: Buffer.alloc(600_000, 0x41), headers: { 'trace-id': 'abc-123', origin: 'probe' } },
      { key: 'big-1', value: Buffer.alloc(600_000, 0x42) },
      ...Array.from({ length: 40 }, (_, i): Message => ({ key: `mid-${i}`, value: Buffer.from(`{${'x'.repeat(60_000)}`) })),
      { key: 'huge', value: huge },
    ];
    await send(topic, [...good.slice(0, 50), ...bad, ...good.slice(50)]);
    const total = good.length + bad.length;

    const consumer = await startConsumer(config, quietLogger);
    let failure: unknown;
    consumer.done.catch((error: unknown) => (failure = error ?? 'failed'));
    try {
      await waitFor(
        () => failure !== undefined || consumer.progress.totals.learned + consumer.progress.totals.deadLettered >= total,
        180_000,
        'every record learned or dead-lettered',
      );
      expect(failure, String(failure)).toBeUndefined();
      expect(consumer.progress.totals).toEqual({ learned: good.length, deadLettered: bad.length });
      const metrics = await scrape(consumer.metricsAddress.port);
      expect(sampleValue(metrics, 'tangent_dead_letters_total', { reason: 'too_large' })).toBe(3);
      expect(sampleValue(metrics, 'tangent_dead_letters_total', { reason: 'invalid_json' })).toBe(40);

      const dead = await readTopic(deadLetterTopicOf(config.kafka), bad.length, 60_000);
      expect(dead).toHaveLength(bad.length);
      const byKey = new Map(dead.map((m) => [String(m.key), m]));
      // Small enough ones arrive whole, unmarked.
      expect(byKey.get('mid-7')!.value!.equals(bad[9]!.value as Buffer)).toBe(true);
      expect(byKey.get('mid-7')!.headers?.[deadLetterHeaders.truncated]).toBeUndefined();
      // The record's own headers survive next to tangent's.
      const first = byKey.get('big-0')!;
      expect(String(first.headers?.['trace-id'])).toBe('abc-123');
      expect(String(first.headers?.origin)).toBe('probe');
      expect(String(first.headers?.[deadLetterHeaders.reason])).toBe('too_large');
      // The one that cannot fit with tangent's headers is cut, with its size and hash recorded.
      const cut = byKey.get('huge')!;
      expect(String(cut.headers?.[deadLetterHeaders.truncated])).toBe('true');
      expect(Number(String(cut.headers?.[deadLetterHeaders.originalValueBytes]))).toBe(huge.length);
      expect(String(cut.headers?.[deadLetterHeaders.originalValueSha256])).toBe(sha256(huge));
      expect(cut.value!.length).toBeLessThan(huge.length);
      expect(cut.value!.equals(huge.subarray(0, cut.value!.length))).toBe(true);

      await consumer.stop();
      expect(fullyCommitted(await groupOffsets(topic, config.kafka.groupId))).toBe(true);
      console.log(
        `[faults/dlq-size] ${bad.length} large rejects (2 × 600 kB, 40 × 60 kB, 1 × ${huge.length} B) among ${good.length} good: ` +
          `all published (${dead.length}), the largest cut to ${cut.value!.length} B, no failure`,
      );
    } finally {
      await consumer.stop();
    }
  });
});
