import { describe, expect, it } from 'vitest';
import { startConsumer } from '../../src/consumer-app.js';
import { produceRecords } from '../../src/demo/produce.js';
import { syntheticRecords, type OutgoingRecord } from '../../src/demo/record-sources.js';
import { defaultFriedmanOptions } from '../../src/demo/friedman.js';
import { deadLetterHeaders } from '../../src/kafka/dead-letter-publisher.js';
import { deadLetterTopicOf, eventsTopicOf } from '../../src/config/pipeline-config.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import type { LearnedBatch } from '../../src/pipeline/records.js';
import {
  committedAndEndOffsets,
  quietLogger,
  readTopic,
  sampleValue,
  scrape,
  testConfig,
  testKafka,
  uniqueName,
  waitFor,
} from './kafka-helpers.js';

/** Prequential errors in processing order, with the running-mean predictor beside the network. */
class ErrorLog {
  readonly network: number[] = [];
  readonly gp: number[] = [];
  readonly runningMean: number[] = [];
  private mean = 0;
  private seen = 0;

  observe(batch: LearnedBatch): void {
    const nn = batch.scores.find((s) => s.model === 'nn')!;
    const gp = batch.scores.find((s) => s.model === 'ntkgp')!;
    batch.accepted.forEach(({ example }, i) => {
      this.network.push(Math.abs(nn.predictions[i]! - example.y));
      this.gp.push(Math.abs(gp.predictions[i]! - example.y));
      this.runningMean.push(Math.abs(this.mean - example.y));
      this.seen += 1;
      this.mean += (example.y - this.mean) / this.seen;
    });
  }
}

const meanOfLast = (values: number[], n: number): number => values.slice(-n).reduce((a, b) => a + b, 0) / n;

describe('end to end through a real broker', () => {
  it('learns every good record exactly once, dead-letters every bad one with its reason, and commits to the end', async () => {
    const topic = uniqueName('e2e');
    const config = testConfig(topic);
    const kafka = testKafka();
    await ensureTopics(kafka, [topic, deadLetterTopicOf(config.kafka)], 3);

    const records: OutgoingRecord[] = [
      ...syntheticRecords(20_000, {
        friedman: { ...defaultFriedmanOptions, drift: 'none', seed: 11 },
        malformedFraction: 0.05,
        maxRecordBytes: config.kafka.maxRecordBytes,
      }),
    ];
    const bad = records.filter((r) => r.expectedReason !== undefined);
    const goodCount = records.length - bad.length;
    const expectedReasons = new Map<string, number>();
    for (const r of bad) expectedReasons.set(r.expectedReason!, (expectedReasons.get(r.expectedReason!) ?? 0) + 1);
    expect(bad.length).toBeGreaterThan(800);
    expect(expectedReasons.size).toBeGreaterThanOrEqual(8);

    await produceRecords(kafka, records, { topic, rate: 0 });

    const errors = new ErrorLog();
    const consumer = await startConsumer(config, quietLogger, { observers: [errors] });
    try {
      await waitFor(() => {
        const { learned, deadLettered } = consumer.progress.totals;
        return learned + deadLettered >= records.length;
      }, 300_000, 'all records to be learned or dead-lettered');
      expect(consumer.progress.totals).toEqual({ learned: goodCount, deadLettered: bad.length });
      expect(errors.network).toHaveLength(goodCount);

      const metrics = await scrape(consumer.metricsAddress.port);
      expect(sampleValue(metrics, 'tangent_records_total', { result: 'learned' })).toBe(goodCount);
      expect(sampleValue(metrics, 'tangent_records_total', { result: 'dead_lettered' })).toBe(bad.length);
      for (const [reason, count] of expectedReasons) {
        expect(sampleValue(metrics, 'tangent_dead_letters_total', { reason }), reason).toBe(count);
      }
      expect(sampleValue(metrics, 'tangent_backend_info', { backend: consumer.backend.name })).toBe(1);
      for (const model of ['nn', 'ntkgp']) {
        const tasks = ['sensor-0', 'sensor-1', 'sensor-2'];
        const predicted = tasks.map((task) => sampleValue(metrics, 'tangent_prequential_predictions_total', { task, model }) ?? 0);
        expect(predicted.reduce((a, b) => a + b, 0), model).toBe(goodCount);
        for (const task of tasks) {
          expect(sampleValue(metrics, 'tangent_prequential_mae', { task, model }), `${model} ${task}`).toBeGreaterThan(0);
          expect(sampleValue(metrics, 'tangent_prequential_absolute_error_total', { task, model })).toBeGreaterThan(0);
        }
      }
      expect(sampleValue(metrics, 'tangent_ntkgp_window_points', { task: 'sensor-0' })).toBe(config.ntkgp.window);

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

      const networkMae = meanOfLast(errors.network, 2000);
      const runningMeanMae = meanOfLast(errors.runningMean, 2000);
      const gpMae = meanOfLast(errors.gp, 2000);
      console.log(
        `[end-to-end] backend ${consumer.backend.name}: prequential MAE over the last 2,000 records: network ${networkMae.toFixed(3)}, ` +
          `NTK-GP ${gpMae.toFixed(3)}, running-mean predictor ${runningMeanMae.toFixed(3)} (network/mean ratio ${(networkMae / runningMeanMae).toFixed(3)})`,
      );
      expect(networkMae).toBeLessThan(0.5 * runningMeanMae);

      // Kafka commits follow checkpoints; the final one, at shutdown, covers every record.
      await consumer.stop();
      const { committed, end } = await committedAndEndOffsets(topic, config.kafka.groupId);
      expect(committed).toEqual(end);
      expect(consumer.session.position.learned).toBe(goodCount);
    } finally {
      await consumer.stop();
    }
  });

  it('detects an abrupt concept drift, publishes it to the events topic and fine-tunes the trunk', async () => {
    const topic = uniqueName('drift');
    const config = testConfig(topic, { fineTune: { every: 0 } });
    const kafka = testKafka();
    await ensureTopics(kafka, [topic, deadLetterTopicOf(config.kafka), eventsTopicOf(config)], 3);
    const records = [
      ...syntheticRecords(16_000, {
        friedman: { ...defaultFriedmanOptions, drift: 'abrupt', driftPositions: [8_000, 1_000_000], tasks: ['sensor-0'], seed: 5 },
        malformedFraction: 0,
        maxRecordBytes: config.kafka.maxRecordBytes,
      }),
    ];
    await produceRecords(kafka, records, { topic, rate: 0 });
    const consumer = await startConsumer(config, quietLogger);
    try {
      await waitFor(() => consumer.progress.totals.learned >= records.length, 300_000, 'all records to be learned');
      const metrics = await scrape(consumer.metricsAddress.port);
      const detections = (detector: string): number =>
        sampleValue(metrics, 'tangent_drift_detections_total', { task: 'sensor-0', model: 'nn', detector }) ?? 0;
      expect(detections('adwin') + detections('page-hinkley')).toBeGreaterThan(0);
      // fineTune.every is 0: every phase was asked for by a drift detection.
      expect(sampleValue(metrics, 'tangent_fine_tune_phases_total')).toBeGreaterThan(0);

      const events = (await readTopic(eventsTopicOf(config), 1)).map((m) => JSON.parse(String(m.value)) as Record<string, unknown>);
      const networkEvents = events.filter((e) => e.model === 'nn');
      expect(networkEvents.length).toBeGreaterThan(0);
      // One task, one key, one partition: records are seen in the order they were produced.
      const afterDrift = networkEvents.map((e) => Number(e.recordsSeen)).filter((n) => n > 8_000);
      const delay = Math.min(...afterDrift) - 8_000;
      console.log(
        `[drift] ${events.length} drift events (adwin ${detections('adwin')}, page-hinkley ${detections('page-hinkley')}); ` +
          `the network's first detection after the drift at record 8,000 came ${delay} records later`,
      );
      expect(delay).toBeLessThan(1_000);
      expect(networkEvents[0]).toMatchObject({ type: 'drift', task: 'sensor-0', topic });
    } finally {
      await consumer.stop();
    }
  });
});
