import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { deadLetterTopicOf, predictionsTopicOf } from '../../src/config/pipeline-config.js';
import { startConsumer } from '../../src/consumer-app.js';
import { defaultFriedmanOptions } from '../../src/demo/friedman.js';
import { produceRecords } from '../../src/demo/produce.js';
import { syntheticRecords, type OutgoingRecord } from '../../src/demo/record-sources.js';
import { deadLetterHeaders } from '../../src/kafka/dead-letter-publisher.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import type { Prediction } from '../../src/pipeline/prediction.js';
import { predictFromSnapshot, type ServedPredictions } from '../../src/serving/model-snapshot.js';
import { applySnapshotUpdate } from '../../src/serving/snapshot-update.js';
import { SnapshotTaker } from '../../src/serving/take-snapshot.js';
import type { LearnedBatch } from '../../src/pipeline/records.js';
import { quietLogger, readTopic, sampleValue, scrape, testConfig, testKafka, uniqueName, waitFor } from './kafka-helpers.js';

const coordinates = (topic: string, partition: number, offset: string): string => `${topic}:${partition}:${offset}`;

/** What the metrics observer saw: each labeled record's two scores, by source coordinates. */
class ScoresSeen {
  readonly labeled = new Map<string, { nn: number; ntkgp: number; y: number }>();

  observe(batch: LearnedBatch): void {
    const nn = batch.scores.find((s) => s.model === 'nn')!;
    const gp = batch.scores.find((s) => s.model === 'ntkgp')!;
    batch.accepted.forEach(({ source, example }, i) => {
      this.labeled.set(coordinates(source.topic, source.partition, source.offset), { nn: nn.predictions[i]!, ntkgp: gp.predictions[i]!, y: example.y });
    });
  }
}

describe('predictions topic through a real broker', () => {
  it('publishes exactly one prediction per good record, learns only the labeled ones, and publishes the scores the metrics used', async () => {
    const topic = uniqueName('predictions');
    const config = testConfig(topic);
    const kafka = testKafka();
    await ensureTopics(kafka, [topic], 3);

    const records: OutgoingRecord[] = [
      ...syntheticRecords(10_000, {
        friedman: { ...defaultFriedmanOptions, drift: 'none', seed: 31 },
        malformedFraction: 0.02,
        unlabeledFraction: 0.3,
        maxRecordBytes: config.kafka.maxRecordBytes,
      }),
    ];
    await produceRecords(kafka, records, { topic, rate: 0 });
    // The source as the consumer reads it: coordinates → the record's value.
    const source = new Map<string, Record<string, unknown> | undefined>();
    for (const message of await readTopicWithCoordinates(topic, records.length)) {
      let value: Record<string, unknown> | undefined;
      try {
        value = JSON.parse(message.value) as Record<string, unknown>;
      } catch {
        value = undefined;
      }
      source.set(coordinates(topic, message.partition, message.offset), value);
    }
    const badCount = records.filter((r) => r.expectedReason !== undefined).length;
    const goodCount = records.length - badCount;
    const unlabeledCount = records.filter((r) => r.expectedReason === undefined && !('y' in (JSON.parse(String(r.value)) as object))).length;
    const labeledCount = goodCount - unlabeledCount;
    expect(unlabeledCount).toBeGreaterThan(2_700);

    const seen = new ScoresSeen();
    const consumer = await startConsumer(config, quietLogger, { observers: [seen] });
    try {
      await waitFor(
        async () => (await consumer.metrics.predictionsPublished.get()).values.reduce((n, v) => n + v.value, 0) >= goodCount,
        300_000,
        `${goodCount} predictions published`,
      );
      // Dead letters are counted once the broker has them, which can trail the last prediction.
      await waitFor(
        async () => sampleValue(await scrape(consumer.metricsAddress.port), 'tangent_records_total', { result: 'dead_lettered' }) === badCount,
        60_000,
        `${badCount} dead letters published`,
      );
      const metrics = await scrape(consumer.metricsAddress.port);
      const messages = await readTopic(predictionsTopicOf(config), goodCount);
      const predictions = messages.map((m) => ({ key: String(m.key), value: JSON.parse(String(m.value)) as Prediction }));

      // After dedupe by source coordinates every good record has exactly one prediction (one consumer, no crash: no duplicates at all).
      const byCoordinates = new Map<string, Prediction>();
      for (const { key, value } of predictions) {
        expect(key).toBe(value.task);
        byCoordinates.set(coordinates(value.source.topic, value.source.partition, value.source.offset), value);
      }
      expect(predictions).toHaveLength(goodCount);
      expect(byCoordinates.size).toBe(goodCount);

      let unlabeledSeen = 0;
      let absoluteErrorNetwork = 0;
      for (const [where, prediction] of byCoordinates) {
        const record = source.get(where);
        expect(record, where).toBeDefined();
        expect(prediction.task).toBe(record!.task);
        expect(prediction.ts).toBe(record!.ts);
        expect(Number.isFinite(prediction.nn)).toBe(true);
        expect(prediction.ntkgp!.sd).toBeGreaterThan(0);
        if ('y' in record!) {
          // The published prediction is the score the metrics used, bit for bit (float32 → JSON number).
          const scored = seen.labeled.get(where)!;
          expect([prediction.nn, prediction.ntkgp!.mean], where).toEqual([scored.nn, scored.ntkgp]);
          expect(prediction).toMatchObject({ labeled: true, learned: true });
          absoluteErrorNetwork += Math.abs(prediction.nn - Number(record!.y));
        } else {
          unlabeledSeen += 1;
          expect(prediction).toMatchObject({ labeled: false, learned: false });
        }
      }
      expect(unlabeledSeen).toBe(unlabeledCount);
      expect(seen.labeled.size).toBe(labeledCount);
      // The metrics' error sums are over exactly the published labeled predictions.
      const metricAbsoluteError = ['sensor-0', 'sensor-1', 'sensor-2']
        .map((task) => sampleValue(metrics, 'tangent_prequential_absolute_error_total', { task, model: 'nn' }) ?? 0)
        .reduce((a, b) => a + b, 0);
      expect(Math.abs(metricAbsoluteError - absoluteErrorNetwork) / absoluteErrorNetwork).toBeLessThan(1e-9);

      // Ordered like the source: per task (one key, one partition), source offsets increase.
      const lastOffset = new Map<string, bigint>();
      for (const { value } of predictions) {
        const offset = BigInt(value.source.offset);
        const key = `${value.task}:${value.source.partition}`;
        expect(offset > (lastOffset.get(key) ?? -1n), `order of ${key}`).toBe(true);
        lastOffset.set(key, offset);
      }

      // Unlabeled records are neither learned nor dead-lettered.
      expect(sampleValue(metrics, 'tangent_records_total', { result: 'learned' })).toBe(labeledCount);
      expect(sampleValue(metrics, 'tangent_records_total', { result: 'unlabeled' })).toBe(unlabeledCount);
      expect(sampleValue(metrics, 'tangent_records_total', { result: 'dead_lettered' })).toBe(badCount);
      expect(sampleValue(metrics, 'tangent_predictions_published_total', { labeled: 'false' })).toBe(unlabeledCount);
      expect(consumer.session.position.learned).toBe(labeledCount);
      const targetCounts = [...consumer.session.network.targetMoments.values()].reduce((n, m) => n + m.count, 0);
      expect(targetCounts).toBe(labeledCount);
      const dead = await readTopic(deadLetterTopicOf(config.kafka), badCount);
      expect(dead).toHaveLength(badCount);
      for (const message of dead) {
        const where = coordinates(topic, Number(String(message.headers?.[deadLetterHeaders.sourcePartition])), String(message.headers?.[deadLetterHeaders.sourceOffset]));
        expect(byCoordinates.has(where), `${where} dead-lettered and predicted`).toBe(false);
      }
      // POST /predict, on its own thread, answers from the model the consumer ended with: after hundreds of snapshots
      // (GP windows sent only when changed), what a fresh snapshot of the final model predicts, the GP bit for bit.
      const queries = ['sensor-0', 'sensor-1', 'sensor-2', 'never-seen'].map((task, i) => ({ task, x: Array.from({ length: 10 }, (_, d) => ((d + i) % 10) / 10) }));
      const predictUrl = `http://127.0.0.1:${consumer.servingAddress.port}/predict`;
      const ask = async (url = predictUrl): Promise<ServedPredictions> =>
        (await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(queries) })).json()) as ServedPredictions;
      await waitFor(async () => (await ask()).modelVersion === consumer.session.position.batches, 30_000, 'the final snapshot on the serving thread');
      const served = await ask();
      const session = consumer.session;
      const fresh = predictFromSnapshot(
        applySnapshotUpdate(undefined, new SnapshotTaker({ ...session, network: session.network, baseline: session.baseline, modelVersion: () => session.position.batches }).take()),
        queries,
      );
      expect(served).toEqual(fresh);
      expect(served.predictions.map((p) => p.known)).toEqual([true, true, true, false]);
      // The metrics port points there (307, followed by fetch with the same POST); requests are counted by status.
      expect((await ask(`http://127.0.0.1:${consumer.metricsAddress.port}/predict`)).modelVersion).toBe(served.modelVersion);
      await waitFor(async () => (sampleValue(await scrape(consumer.metricsAddress.port), 'tangent_predict_requests_total', { status: '200' }) ?? 0) >= 3, 10_000, 'predict requests counted');
      console.log(
        `[predictions] ${records.length} records: ${labeledCount} labeled, ${unlabeledCount} unlabeled, ${badCount} malformed → ` +
          `${predictions.length} prediction messages, ${byCoordinates.size} distinct records, ${dead.length} dead letters; ` +
          `labeled predictions equal to the metrics' scores: ${seen.labeled.size}/${labeledCount}`,
      );
    } finally {
      await consumer.stop();
    }
  });
});

/** Every message of a topic with its partition and offset (readTopic drops them). */
async function readTopicWithCoordinates(topic: string, expected: number): Promise<{ partition: number; offset: string; value: string }[]> {
  const consumer = testKafka().consumer({ groupId: uniqueName('source-reader'), maxWaitTimeInMs: 100 });
  const messages: { partition: number; offset: string; value: string }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }: { partition: number; message: KafkaMessage }) =>
        void messages.push({ partition, offset: message.offset, value: String(message.value ?? '') }),
    });
    await waitFor(() => messages.length >= expected, 60_000, `${expected} messages on ${topic}`);
  } finally {
    await consumer.disconnect();
  }
  return messages;
}
