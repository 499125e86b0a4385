/**
 * 1. throughput — the ceiling and tangent against it, on one topic in one run.
 *
 * N Friedman records of 3 tasks are produced to a fresh 3-partition topic,
 * and N of 64 tasks to another. Then, each in a fresh consumer group from the
 * beginning of its topic:
 *   - ceiling: a plain kafkajs consumer (tangent's client and fetch settings),
 *     eachBatch counting messages, nothing else (on the 3-task topic; the
 *     records of both topics have the same size);
 *   - tangent, NN only (ntkgp.enabled: false), the default model, 3 and 64
 *     tasks; the same with minibatches of 1024;
 *   - the default pipeline (network + NTK-GP, window 256), 3 and 64 tasks;
 *   - diagnostics of the NN-only pipeline: without fine-tuning phases
 *     (neither periodic nor drift-requested); and with minibatches of 1024,
 *     no fine-tuning phases and no periodic checkpoints.
 * Each variant that has a goal carries it (a ratio to the ceiling).
 * The ceiling is measured before every variant and once after the last, each
 * time by a fresh group reading the whole 3-task topic: on this machine one
 * measurement moves by ±25% within minutes, so every ratio is taken against
 * the median of them all, and their range is reported beside it.
 * Rates are steady-state: records from the first fetch/learned batch to the
 * last, over that time (start-up and group join excluded; reported apart).
 */
import { defaultFriedmanOptions } from '../../src/demo/friedman.js';
import { produceRecords } from '../../src/demo/produce.js';
import { syntheticRecords } from '../../src/demo/record-sources.js';
import { startConsumer } from '../../src/consumer-app.js';
import type { TangentMetrics } from '../../src/metrics/metrics.js';
import { loadAverage, progress, waitFor, type BenchContext, pipelineSettings } from '../lib/common.js';
import { BatchClock, benchConfig, benchKafka, brokersOf, freshTopic, quietLogger, rawConsumeRate, type CeilingResult } from '../lib/kafka.js';

export interface TangentRun {
  readonly name: string;
  readonly settings: Record<string, unknown>;
  readonly records: number;
  readonly recordsPerSecond: number;
  readonly ratioToCeiling: number;
  readonly secondsFirstToLast: number;
  readonly secondsIncludingStartup: number;
  readonly batches: number;
  /** Seconds spent per stage over the run: scoring (all models), learning per model, and fine-tuning steps (in a batch's learn time, or between batches when phases yield to records). */
  readonly seconds: {
    readonly score: number;
    readonly learn: Record<string, number>;
    readonly fineTune: number;
    /** Whether fineTune counts every ended phase's steps; absent in runs that counted only the steps inside a batch's turn. */
    readonly fineTuneEverywhere?: boolean;
  };
  readonly backend: string;
  readonly loadAverage: readonly number[];
  /** The ratio to the ceiling this variant should reach, if it has a goal. */
  readonly goal?: number;
}

/** One measurement of the ceiling, and which variant ran right after it ('after the last run' for the final one). */
export interface CeilingSample extends CeilingResult {
  readonly before: string;
  readonly loadAverage: readonly number[];
}

export interface ThroughputResult {
  readonly benchmark: 'throughput';
  readonly topic: string;
  readonly records: number;
  readonly recordBytes: number;
  readonly produce: { readonly seconds: number; readonly recordsPerSecond: number };
  /** The median measurement (the rate every ratio is taken against), with all of them. */
  readonly ceiling: CeilingSample & { readonly samples?: readonly CeilingSample[] };
  readonly runs: readonly TangentRun[];
  readonly backend: string;
}

/**
 * Seconds in fine-tuning phases, wherever their steps ran (whole in a batch, or owed and paid between batches):
 * the sum of the consumer's own phase-duration histogram, which counts a phase once it has ended.
 */
async function fineTuneSeconds(metrics: TangentMetrics): Promise<number> {
  const { values } = await metrics.fineTuneDuration.get();
  return values.find((v) => v.metricName === 'tangent_fine_tune_duration_seconds_sum')?.value ?? 0;
}

export async function run(ctx: BenchContext): Promise<ThroughputResult> {
  const brokers = brokersOf(ctx);
  const records = ctx.quick ? 5_000 : 200_000;
  // The GP run costs O(W²) per record; a prefix of the same topic keeps it within minutes.
  const gpRecords = ctx.quick ? 2_000 : 60_000;
  const topic = await freshTopic(brokers, 'throughput');
  const manyTasksTopic = await freshTopic(brokers, 'throughput-64-tasks');
  const friedman = { ...defaultFriedmanOptions, seed: 1 };
  const manyTasks = { ...friedman, tasks: Array.from({ length: 64 }, (_, i) => `sensor-${i}`) };
  const sample = syntheticRecords(1, { friedman, malformedFraction: 0, maxRecordBytes: 65536 }).next().value!;

  const producedStart = performance.now();
  await produceRecords(benchKafka(brokers), syntheticRecords(records, { friedman, malformedFraction: 0, maxRecordBytes: 65536 }), {
    topic,
    rate: 0,
    onProgress: (sent) => progress('produce', sent, records),
  });
  const produceSeconds = (performance.now() - producedStart) / 1000;
  await produceRecords(benchKafka(brokers), syntheticRecords(records, { friedman: manyTasks, malformedFraction: 0, maxRecordBytes: 65536 }), {
    topic: manyTasksTopic,
    rate: 0,
    onProgress: (sent) => progress('produce (64 tasks)', sent, records),
  });

  const ceilings: CeilingSample[] = [];
  const measureCeiling = async (before: string): Promise<void> => {
    const config = benchConfig(brokers, topic, `${topic}-ceiling-${ceilings.length}`);
    const measured = await rawConsumeRate(config, records, (seen) => progress(`ceiling (raw kafkajs), measurement ${ceilings.length + 1}`, seen, records));
    ceilings.push({ ...measured, before, loadAverage: loadAverage() });
  };

  const nnOnly = { ntkgp: { enabled: false } };
  const variants: { name: string; topic: string; count: number; overrides: Record<string, unknown>; learn?: false; goal?: number }[] = [
    { name: 'ingest only (decode, batch, metrics, checkpoint, commit; no model)', topic, count: records, overrides: nnOnly, learn: false, goal: 0.5 },
    { name: 'tangent NN only', topic, count: records, overrides: nnOnly, goal: 0.1 },
    { name: 'tangent NN only, 64 tasks', topic: manyTasksTopic, count: records, overrides: nnOnly, goal: 0.07 },
    { name: 'tangent NN only, batch.size 1024', topic, count: records, overrides: { ...nnOnly, batch: { size: 1024 } }, goal: 0.3 },
    { name: 'tangent NN + NTK-GP (window 256)', topic, count: gpRecords, overrides: { ntkgp: { enabled: true, window: 256 } }, goal: 0.05 },
    { name: 'tangent NN + NTK-GP (window 256), 64 tasks', topic: manyTasksTopic, count: gpRecords, overrides: { ntkgp: { enabled: true, window: 256 } } },
    // Diagnostics (not the default pipeline): what the periodic fine-tuning and the minibatch size cost.
    { name: 'diagnostic: NN only, no fine-tuning phases', topic, count: records, overrides: { ...nnOnly, fineTune: { every: 0 }, drift: { fineTuneOnDrift: false } } },
    {
      name: 'diagnostic: NN only, batch.size 1024, no fine-tuning phases, no periodic checkpoints',
      topic,
      count: records,
      overrides: { ...nnOnly, batch: { size: 1024 }, fineTune: { every: 0 }, drift: { fineTuneOnDrift: false }, checkpoint: { every: 0, intervalSeconds: 0 } },
    },
  ];
  let backend = 'unknown';
  const measuredRuns: Omit<TangentRun, 'ratioToCeiling'>[] = [];
  for (const variant of variants) {
    await measureCeiling(variant.name);
    const config = benchConfig(brokers, variant.topic, `${variant.topic}-${measuredRuns.length}`, variant.overrides);
    const clock = new BatchClock();
    const started = performance.now();
    const consumer = await startConsumer(config, quietLogger, { observers: [clock], ...(variant.learn === false ? { learn: false } : {}) });
    backend = consumer.backend.name;
    let fineTune = 0;
    try {
      await waitFor(
        () => {
          progress(variant.name, clock.learned + clock.rejected, variant.count);
          return clock.learned + clock.rejected >= variant.count;
        },
        30 * 60_000,
        `${variant.name} to learn ${variant.count} records`,
        100,
      );
      fineTune = await fineTuneSeconds(consumer.metrics);
    } finally {
      await consumer.stop();
    }
    const rate = clock.steadyRate();
    measuredRuns.push({
      name: variant.name,
      settings: { ...variant.overrides, ...pipelineSettings(config) },
      records: clock.learned,
      recordsPerSecond: rate,
      secondsFirstToLast: (clock.last - clock.first) / 1000,
      secondsIncludingStartup: (clock.last - started) / 1000,
      batches: clock.batches,
      seconds: { score: clock.scoreSeconds, learn: clock.learnSeconds, fineTune, fineTuneEverywhere: true },
      backend: consumer.backend.name,
      loadAverage: loadAverage(),
      ...(variant.goal === undefined ? {} : { goal: variant.goal }),
    });
  }
  await measureCeiling('after the last run');
  const ceiling = [...ceilings].sort((a, b) => a.recordsPerSecond - b.recordsPerSecond)[Math.floor(ceilings.length / 2)]!;
  const runs = measuredRuns.map((r): TangentRun => ({ ...r, ratioToCeiling: r.recordsPerSecond / ceiling.recordsPerSecond }));
  return {
    benchmark: 'throughput',
    topic,
    records,
    recordBytes: sample.value.length,
    produce: { seconds: produceSeconds, recordsPerSecond: records / produceSeconds },
    ceiling: { ...ceiling, samples: ceilings },
    runs,
    backend,
  };
}
