import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { startConsumer, type RunningConsumer } from '../../../src/consumer-app.js';
import { deadLetterTopicOf } from '../../../src/config/pipeline-config.js';
import { defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { syntheticRecords } from '../../../src/demo/record-sources.js';
import { deadLetterHeaders } from '../../../src/kafka/dead-letter-publisher.js';
import { ensureTopics } from '../../../src/kafka/topics.js';
import type { RejectReason } from '../../../src/pipeline/records.js';
import { quietLogger, readTopic, sampleValue, scrape, testConfig, testKafka, uniqueName, waitFor } from '../kafka-helpers.js';
import { latestCheckpoint, networkWeights } from './fault-helpers.js';

interface RawRecord {
  readonly key: string | null;
  readonly value: Buffer | null;
  /** Undefined for a good record. */
  readonly reason?: RejectReason;
}

async function sendRaw(topic: string, records: readonly RawRecord[]): Promise<void> {
  const producer = testKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += 500) {
      await producer.send({ topic, acks: -1, messages: records.slice(i, i + 500).map(({ key, value }) => ({ key, value })) });
    }
  } finally {
    await producer.disconnect();
  }
}

/** A small seeded generator for the test's own shuffling (the stream itself comes from the demo generator). */
function seeded(seed: number): { next(): number; int(n: number): number } {
  let state = seed >>> 0;
  const next = (): number => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 0x1_0000_0000;
  };
  return { next, int: (n) => Math.floor(next() * n) };
}

const x = (v = 0.5): number[] => Array.from({ length: 10 }, () => v);
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** Bad records beyond the load generator's catalogue, each with the reason the decoder gives. */
const extraPoison: readonly RawRecord[] = [
  { key: null, value: null, reason: 'empty' }, // a tombstone
  { key: null, value: Buffer.from('   '), reason: 'invalid_json' },
  { key: null, value: Buffer.from('\u0000'), reason: 'invalid_json' },
  { key: null, value: Buffer.from('null'), reason: 'not_an_object' },
  { key: null, value: Buffer.from('['.repeat(30_000) + ']'.repeat(30_000)), reason: 'not_an_object' }, // 60 kB of nesting
  { key: null, value: Buffer.from('{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000)), reason: 'missing_field' },
  { key: 'sensor-0', value: json({ task: 'a'.repeat(300), x: x(), y: 1 }), reason: 'unknown_field_type' },
  { key: 'sensor-0', value: json({ task: '', x: x(), y: 1 }), reason: 'unknown_field_type' },
  { key: 'sensor-0', value: json({ task: 7, x: x(), y: 1 }), reason: 'unknown_field_type' },
  { key: 'sensor-0', value: json({ task: 'sensor-0', x: { 0: 1 }, y: 1 }), reason: 'unknown_field_type' },
  { key: 'sensor-0', value: json({ task: 'sensor-0', x: [[0.5], ...x().slice(1)], y: 1 }), reason: 'unknown_field_type' },
  { key: 'sensor-0', value: json({ task: 'sensor-0', x: x(), y: true }), reason: 'unknown_field_type' },
  { key: 'sensor-0', value: json({ task: 'sensor-0', x: x(), y: 1, ts: 'yesterday' }), reason: 'unknown_field_type' },
  { key: 'sensor-0', value: json({ task: 'sensor-0', x: [1e39, ...x().slice(1)], y: 1 }), reason: 'non_finite' },
  { key: 'sensor-0', value: Buffer.from([0xc3, 0x28, 0xa0, 0xa1]), reason: 'invalid_utf8' },
];

function toRaw(records: Iterable<{ key: string | null; value: Buffer; expectedReason?: RejectReason }>): RawRecord[] {
  return [...records].map((r) => ({ key: r.key, value: r.value, reason: r.expectedReason }));
}

function countReasons(records: readonly RawRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) if (r.reason) counts.set(r.reason, (counts.get(r.reason) ?? 0) + 1);
  return counts;
}

describe('bad input', () => {
  it('10% poison of every kind plus tasks beyond the cap: all dead-lettered with their reason, every good record learned, no crash, no stall', async () => {
    const topic = uniqueName('faults-poison');
    const config = testConfig(topic, {
      kafka: { topic, groupId: `${topic}-group`, maxRecordBytes: 64 * 1024 },
      model: { backend: 'cpu', hidden: [32, 32], maxTasks: 3 },
      ntkgp: { window: 64 },
    });
    const kafka = testKafka();
    await ensureTopics(kafka, [topic, deadLetterTopicOf(config.kafka)], 3);
    const random = seeded(77);
    const friedman = { ...defaultFriedmanOptions, drift: 'none' as const, tasks: ['sensor-0', 'sensor-1', 'sensor-2'] };

    // Phase 1 registers the three allowed tasks (maxTasks 3) among 10% poison of the load generator's kinds.
    const phase1 = toRaw(syntheticRecords(4_000, { friedman: { ...friedman, seed: 41 }, malformedFraction: 0.1, maxRecordBytes: 64 * 1024 }));
    // Phase 2: more of the same, every extra kind 20 times, and 400 records of 200 tasks beyond the cap, shuffled in.
    const phase2 = toRaw(syntheticRecords(8_000, { friedman: { ...friedman, seed: 42 }, malformedFraction: 0.1, maxRecordBytes: 64 * 1024 }));
    for (let copy = 0; copy < 20; copy++) for (const extra of extraPoison) phase2.splice(random.int(phase2.length + 1), 0, extra);
    for (let i = 0; i < 400; i++) {
      const task = `rogue-${i % 200}`;
      phase2.splice(random.int(phase2.length + 1), 0, { key: task, value: json({ task, x: x(random.next()), y: 1 }), reason: 'task_limit' });
    }
    const all = [...phase1, ...phase2];
    const expected = countReasons(all);
    // Task admission: from floor(maxTasks / 2) = 1 task on, a new task is admitted on its second
    // record, so the first good record of two of the three real tasks is dead-lettered as task_limit.
    expected.set('task_limit', (expected.get('task_limit') ?? 0) + 2);
    const badCount = [...expected.values()].reduce((a, b) => a + b, 0);
    const goodCount = all.length - badCount;
    expect(badCount / all.length).toBeGreaterThan(0.1);

    await sendRaw(topic, phase1);
    let consumer: RunningConsumer | undefined;
    let failed: unknown;
    try {
      consumer = await startConsumer(config, quietLogger);
      consumer.done.catch((error: unknown) => (failed = error ?? 'failed'));
      const started = performance.now();
      const processed = (): number => consumer!.progress.totals.learned + consumer!.progress.totals.deadLettered;
      await waitFor(() => processed() >= phase1.length || failed !== undefined, 240_000, 'phase 1');
      expect(consumer.session.tasks.list().sort()).toEqual(['sensor-0', 'sensor-1', 'sensor-2']);
      await sendRaw(topic, phase2);
      await waitFor(() => processed() >= all.length || failed !== undefined, 240_000, 'phase 2');
      const seconds = (performance.now() - started) / 1000;
      expect(failed).toBeUndefined();
      expect(consumer.progress.totals).toEqual({ learned: goodCount, deadLettered: badCount });

      const metrics = await scrape(consumer.metricsAddress.port);
      for (const [reason, count] of expected) expect(sampleValue(metrics, 'tangent_dead_letters_total', { reason }), reason).toBe(count);
      expect((await fetch(`http://127.0.0.1:${consumer.metricsAddress.port}/healthz`)).status).toBe(200);
      // Nothing left behind in flow control once the last (linger-flushed) batch is committed.
      await waitFor(async () => sampleValue(await scrape(consumer!.metricsAddress.port), 'tangent_in_flight_records') === 0, 30_000, 'in-flight 0');

      const dead = await readTopic(deadLetterTopicOf(config.kafka), badCount, 120_000);
      const reasons = new Map<string, number>();
      const sources = new Set<string>();
      for (const m of dead) {
        const reason = String(m.headers?.[deadLetterHeaders.reason]);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        sources.add(`${String(m.headers?.[deadLetterHeaders.sourcePartition])}:${String(m.headers?.[deadLetterHeaders.sourceOffset])}`);
      }
      expect(reasons).toEqual(expected);
      expect(sources.size).toBe(badCount);
      expect(dead).toHaveLength(badCount);
      expect(consumer.session.tasks.list().sort()).toEqual(['sensor-0', 'sensor-1', 'sensor-2']);
      console.log(
        `[faults/poison] ${all.length} records, ${badCount} bad (${((100 * badCount) / all.length).toFixed(1)}%) of ${expected.size} reasons ` +
          `${JSON.stringify(Object.fromEntries(expected))}; all ${goodCount} good learned and ${badCount} dead-lettered in ${seconds.toFixed(1)} s, no crash`,
      );
    } finally {
      await consumer?.stop();
    }
  });

  // A finite JSON number beyond float32 range as the target once passed the decoder and its
  // Infinite squared error made prom-client throw inside the observe stage, failing the pipeline
  // on every restart. Now it is rejected as non_finite.
  it('a target of 1e300 goes to the dead-letter topic instead of failing the pipeline', async () => {
    const topic = uniqueName('faults-huge-target');
    const config = testConfig(topic, { model: { backend: 'cpu', hidden: [16] }, ntkgp: { window: 32 } });
    await ensureTopics(testKafka(), [topic, deadLetterTopicOf(config.kafka)], 1);
    const good = toRaw(syntheticRecords(600, { friedman: { ...defaultFriedmanOptions, seed: 5 }, malformedFraction: 0, maxRecordBytes: 65536 }));
    await sendRaw(topic, [...good.slice(0, 300), { key: 'sensor-0', value: json({ task: 'sensor-0', x: x(), y: 1e300 }) }, ...good.slice(300)]);
    const consumer = await startConsumer(config, quietLogger);
    let failed = false;
    consumer.done.catch(() => (failed = true));
    try {
      await waitFor(() => failed || consumer.progress.totals.learned + consumer.progress.totals.deadLettered >= 601, 120_000, 'the stream');
      expect(failed).toBe(false);
      expect(consumer.progress.totals).toEqual({ learned: 600, deadLettered: 1 });
      const metrics = await scrape(consumer.metricsAddress.port);
      expect(sampleValue(metrics, 'tangent_dead_letters_total', { reason: 'non_finite' })).toBe(1);
    } finally {
      await consumer.stop();
    }
  });
});

describe('numerical faults', () => {
  it('a diverging learning rate: non-finite steps are rejected and counted, the consumer keeps going, checkpoints stay finite', async () => {
    const topic = uniqueName('faults-diverge');
    const config = testConfig(topic, {
      model: { backend: 'cpu', hidden: [16], learningRate: 1e30 },
      ntkgp: { enabled: false },
      fineTune: { every: 0 },
    });
    await ensureTopics(testKafka(), [topic, deadLetterTopicOf(config.kafka)], 1);
    await sendRaw(topic, toRaw(syntheticRecords(2_000, { friedman: { ...defaultFriedmanOptions, seed: 6 }, malformedFraction: 0, maxRecordBytes: 65536 })));
    const consumer = await startConsumer(config, quietLogger);
    try {
      await waitFor(() => consumer.progress.totals.learned >= 2_000, 120_000, 'the stream');
      const metrics = await scrape(consumer.metricsAddress.port);
      const rejected = sampleValue(metrics, 'tangent_sgd_steps_total', { model: 'nn', result: 'rejected' }) ?? 0;
      const applied = sampleValue(metrics, 'tangent_sgd_steps_total', { model: 'nn', result: 'applied' }) ?? 0;
      await consumer.stop();
      const weights = networkWeights(latestCheckpoint(config.checkpoint.dir, config.kafka.groupId)!.state);
      console.log(`[faults/numerical] η = 1e30: ${applied} steps applied, ${rejected} rejected by the numerical guard; checkpointed weights all finite: ${weights.every(Number.isFinite)}`);
      expect(rejected).toBeGreaterThan(0);
      // Rejected steps do not unlearn records: every record counts as learned, once, in the metrics and the totals alike.
      expect(sampleValue(metrics, 'tangent_records_total', { result: 'learned' })).toBe(consumer.totals.learned);
      expect(weights.every(Number.isFinite)).toBe(true);
    } finally {
      await consumer.stop();
    }
  });

  it('a singular GP kernel (identical inputs, zero noise): the Cholesky breakdown is recovered by refactorising, counted', async () => {
    const topic = uniqueName('faults-gp-breakdown');
    const config = testConfig(topic, { model: { backend: 'cpu', hidden: [16] }, ntkgp: { window: 64, noise: 0 } });
    await ensureTopics(testKafka(), [topic, deadLetterTopicOf(config.kafka)], 1);
    const random = seeded(9);
    // Constant features standardise to exactly 0 (the scaler's variance floor), so every point in the window is the same point.
    const records: RawRecord[] = Array.from({ length: 1_000 }, () => ({ key: 'sensor-0', value: json({ task: 'sensor-0', x: x(0.5), y: 3 + random.next() }) }));
    await sendRaw(topic, records);
    const consumer = await startConsumer(config, quietLogger);
    try {
      await waitFor(() => consumer.progress.totals.learned >= 1_000, 120_000, 'the stream');
      const metrics = await scrape(consumer.metricsAddress.port);
      const refactorizations = sampleValue(metrics, 'tangent_ntkgp_refactorizations_total', { task: 'sensor-0' }) ?? 0;
      const mae = sampleValue(metrics, 'tangent_prequential_mae', { task: 'sensor-0', model: 'ntkgp' });
      console.log(`[faults/numerical] zero-noise GP on identical inputs: ${refactorizations} refactorisations, prequential MAE ${mae}`);
      expect(refactorizations).toBeGreaterThan(0);
      expect(Number.isFinite(mae)).toBe(true);
    } finally {
      await consumer.stop();
    }
  });
});
