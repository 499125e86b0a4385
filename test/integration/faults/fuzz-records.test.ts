import fc from 'fast-check';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { startConsumer } from '../../../src/consumer-app.js';
import { deadLetterTopicOf } from '../../../src/config/pipeline-config.js';
import { defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { syntheticRecords } from '../../../src/demo/record-sources.js';
import { ensureTopics } from '../../../src/kafka/topics.js';
import type { BatchObserver } from '../../../src/pipeline/observe.js';
import { observedTarget, type LearnedBatch } from '../../../src/pipeline/records.js';
import { quietLogger, readTopic, sampleValue, scrape, testConfig, testKafka, uniqueName, waitFor } from '../kafka-helpers.js';

/**
 * Property-style fuzz of record values through the real broker: a normal
 * stream of 3 tasks with 200–300 fuzzed values mixed in — random bytes,
 * random JSON, and well-formed records with extreme numbers — against a run
 * of the same stream without them. Seeded: TANGENT_FUZZ_SEED reproduces a
 * run (each run logs its seed).
 */
const tasks = ['sensor-0', 'sensor-1', 'sensor-2'];
const goodCount = 2_000;
/** Fuzzed values go after this many good records: an outlier among a task's first `scaling.warmup` targets is learned unclipped (documented). */
const firstFuzzAt = 48;
const seeds = process.env.TANGENT_FUZZ_SEED ? [Number(process.env.TANGENT_FUZZ_SEED)] : [20261130, 7];

/** Network MAE per task over the good records (the fuzzed records' own errors excluded), against the target as sent. */
class GoodMae implements BatchObserver {
  readonly sums = new Map<string, { absolute: number; count: number }>();
  observe(batch: LearnedBatch): void {
    const nn = batch.scores.find((s) => s.model === 'nn');
    if (!nn) return;
    batch.accepted.forEach((record, i) => {
      if (record.source.key?.toString() !== 'good') return;
      const sum = this.sums.get(record.example.task) ?? { absolute: 0, count: 0 };
      sum.absolute += Math.abs(nn.predictions[i]! - observedTarget(record));
      sum.count += 1;
      this.sums.set(record.example.task, sum);
    });
  }
}

const extremeNumber = fc.oneof(
  fc.double(),
  fc.constantFrom(1e30, -1e30, 3.4e38, -3.4e38, 1e308, -1e308, 5e-324, -5e-324, 1e-300, 2.2e-308, 0, -0, Number.MAX_SAFE_INTEGER),
  fc.integer(),
);
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value) ?? 'null');
/** Well-formed records of a real task with extreme numbers: in the target, the features, or both. */
const extremeRecord = fc.oneof(
  fc.record({ task: fc.constantFrom(...tasks), x: fc.array(extremeNumber, { minLength: 9, maxLength: 11 }), y: fc.oneof(extremeNumber, fc.constant(null)) }).map(json),
  fc.record({ task: fc.constantFrom(...tasks), x: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 10, maxLength: 10 }), y: extremeNumber }).map(json),
  fc.record({ task: fc.constantFrom(...tasks), x: fc.array(fc.constantFrom(1e30, -1e30, 3e38), { minLength: 10, maxLength: 10 }), y: fc.double({ min: 0, max: 30, noNaN: true }) }).map(json),
);
/** Shapes a decoder meets in the wild: huge arrays, deep nesting, long and non-ASCII strings, duplicated keys. */
const oddShape = fc.oneof(
  fc.integer({ min: 11, max: 30_000 }).map((n) => json({ task: 'sensor-0', x: new Array<number>(n).fill(0.5), y: 1 })),
  fc.integer({ min: 10, max: 5_000 }).map((depth) => Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`)),
  fc.integer({ min: 10, max: 2_000 }).map((depth) => Buffer.from(`{"task":"sensor-1","x":${'['.repeat(depth)}0${']'.repeat(depth)},"y":1}`)),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }).map((task) => json({ task, x: new Array<number>(10).fill(0.5), y: 1 })),
  fc.string({ unit: 'grapheme', maxLength: 20_000 }).map((s) => Buffer.from(s)),
  fc.constantFrom(...tasks).map((task) => Buffer.from(`{"task":"${task}","x":[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5],"y":1,"y":1e30}`)),
  fc.constantFrom(...tasks).map((task) => Buffer.from(`{"task":"${task}","task":null,"x":[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5],"y":1}`)),
);
const fuzzValue = fc.oneof(fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)), fc.jsonValue().map(json), extremeRecord, extremeRecord, oddShape);
const fuzzSet = fc.array(fc.record({ at: fc.integer({ min: firstFuzzAt, max: goodCount }), value: fuzzValue }), { minLength: 200, maxLength: 300 });

const reasons = ['empty', 'too_large', 'invalid_utf8', 'invalid_json', 'not_an_object', 'missing_field', 'unknown_field_type', 'wrong_dimension', 'non_finite', 'task_limit'];

async function run(label: string, fuzz: readonly { at: number; value: Buffer }[]) {
  const topic = uniqueName(`faults-fuzz-${label}`);
  const config = testConfig(topic, { model: { backend: 'cpu', hidden: [32, 32] }, ntkgp: { enabled: false }, batch: { size: 32, lingerMs: 100 } });
  await ensureTopics(testKafka(), [topic, deadLetterTopicOf(config.kafka)], 1);
  const good = [...syntheticRecords(goodCount, { friedman: { ...defaultFriedmanOptions, seed: 81, tasks, drift: 'none' }, malformedFraction: 0, maxRecordBytes: 65536 })];
  const messages = good.map((r) => ({ key: 'good', value: r.value }));
  for (const { at, value } of [...fuzz].sort((a, b) => b.at - a.at)) messages.splice(at, 0, { key: 'fuzz', value });
  const producer = testKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  // Requests kept well under the broker's message size limit (one fuzzed value can be 120 kB).
  for (let i = 0; i < messages.length; ) {
    const chunk = [];
    for (let bytes = 0; i < messages.length && bytes < 256_000; i++) {
      chunk.push(messages[i]!);
      bytes += messages[i]!.value.length;
    }
    await producer.send({ topic, messages: chunk });
  }
  await producer.disconnect();
  const observer = new GoodMae();
  const consumer = await startConsumer(config, quietLogger, { observers: [observer] });
  let crashes = 0;
  consumer.done.catch(() => (crashes += 1));
  const { totals } = consumer;
  try {
    await waitFor(() => crashes > 0 || totals.learned + totals.deadLettered + totals.unlabeled >= messages.length, 240_000, `${label}: every record`);
    await new Promise((r) => setTimeout(r, 1_000));
    const metrics = await scrape(consumer.metricsAddress.port);
    const dead = await readTopic(deadLetterTopicOf(config.kafka), totals.deadLettered);
    return {
      produced: messages.length,
      learned: totals.learned,
      deadLettered: totals.deadLettered,
      deadLetterMessages: dead.length,
      unlabeled: totals.unlabeled,
      crashes,
      byReason: Object.fromEntries(reasons.map((r) => [r, sampleValue(metrics, 'tangent_dead_letters_total', { reason: r }) ?? 0]).filter(([, n]) => n !== 0)) as Record<string, number>,
      clipped: {
        feature: sampleValue(metrics, 'tangent_clipped_values_total', { kind: 'feature' }) ?? 0,
        target: sampleValue(metrics, 'tangent_clipped_values_total', { kind: 'target' }) ?? 0,
      },
      mae: new Map([...observer.sums].map(([t, s]) => [t, s.absolute / s.count])),
    };
  } finally {
    await consumer.stop();
  }
}

describe('fuzzed record values through the real broker', () => {
  it('learned + dead-lettered + unlabeled = produced, nothing crashes, no task’s MAE is wrecked', async () => {
    const control = await run('control', []);
    expect(control.crashes).toBe(0);
    for (const seed of seeds) {
      const [fuzz] = fc.sample(fuzzSet, { seed, numRuns: 1 });
      const result = await run(`fuzzed-${seed}`, fuzz!);
      const ratios = tasks.map((t) => result.mae.get(t)! / control.mae.get(t)!);
      console.log(
        `[faults/fuzz] seed ${seed}: produced ${result.produced} (${fuzz!.length} fuzzed): learned ${result.learned}, dead-lettered ${result.deadLettered} ` +
          `(${result.deadLetterMessages} on the dead-letter topic) ${JSON.stringify(result.byReason)}, unlabeled ${result.unlabeled}, crashes ${result.crashes}; ` +
          `clipped ${JSON.stringify(result.clipped)}; good-record MAE per task ${tasks.map((t) => result.mae.get(t)!.toFixed(3)).join(' / ')} ` +
          `vs control ${tasks.map((t) => control.mae.get(t)!.toFixed(3)).join(' / ')} (ratios ${ratios.map((r) => r.toFixed(3)).join(' / ')})`,
      );
      expect(result.crashes).toBe(0);
      expect(result.learned + result.deadLettered + result.unlabeled).toBe(result.produced);
      expect(Object.values(result.byReason).reduce((a, b) => a + b, 0)).toBe(result.deadLettered);
      expect(result.deadLetterMessages).toBe(result.deadLettered);
      // The fuzzed records that are valid (finite, in range: y = 0 with x of 0s and 1s, say) are learned as data — a tenth
      // of the stream as label noise costs the good records' MAE 0–25% here; one record that wrecks the scale costs ×10⁷.
      for (const [i, r] of ratios.entries()) expect(r, `${tasks[i]}, seed ${seed}`).toBeLessThan(1.5);
    }
  });
});
