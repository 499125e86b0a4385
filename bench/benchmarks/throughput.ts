/**
 * 1. throughput — the ceiling and tangent against it, on one topic in one run.
 *
 * N Friedman records are produced to a fresh 3-partition topic. Then, each in
 * a fresh consumer group from the beginning of that topic:
 *   - ceiling: a plain kafkajs consumer (tangent's client and fetch settings),
 *     eachBatch counting messages, nothing else;
 *   - tangent, NN only (ntkgp.enabled: false), the default model;
 *   - tangent, NN + NTK-GP (window 512);
 *   - diagnostics of the NN-only pipeline: without fine-tuning phases
 *     (neither periodic nor drift-requested); with minibatches of 1024; and
 *     with both and no periodic checkpoints (the current code's upper bound).
 * Rates are steady-state: records from the first fetch/learned batch to the
 * last, over that time (start-up and group join excluded; reported apart).
 */
import { defaultFriedmanOptions } from '../../src/demo/friedman.js';
import { produceRecords } from '../../src/demo/produce.js';
import { syntheticRecords } from '../../src/demo/record-sources.js';
import { startConsumer } from '../../src/consumer-app.js';
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
  /** Seconds spent per stage over the run: scoring (all models), learning per model, of which fine-tuning. */
  readonly seconds: { readonly score: number; readonly learn: Record<string, number>; readonly fineTune: number };
  readonly backend: string;
  readonly loadAverage: readonly number[];
}

export interface ThroughputResult {
  readonly benchmark: 'throughput';
  readonly topic: string;
  readonly records: number;
  readonly recordBytes: number;
  readonly produce: { readonly seconds: number; readonly recordsPerSecond: number };
  readonly ceiling: CeilingResult & { readonly loadAverage: readonly number[] };
  readonly runs: readonly TangentRun[];
  readonly backend: string;
}

export async function run(ctx: BenchContext): Promise<ThroughputResult> {
  const brokers = brokersOf(ctx);
  const records = ctx.quick ? 5_000 : 200_000;
  // The GP run costs O(W²) per record; a prefix of the same topic keeps it within minutes.
  const gpRecords = ctx.quick ? 2_000 : 60_000;
  const topic = await freshTopic(brokers, 'throughput');
  const friedman = { ...defaultFriedmanOptions, seed: 1 };
  const sample = syntheticRecords(1, { friedman, malformedFraction: 0, maxRecordBytes: 65536 }).next().value!;

  const producedStart = performance.now();
  await produceRecords(benchKafka(brokers), syntheticRecords(records, { friedman, malformedFraction: 0, maxRecordBytes: 65536 }), {
    topic,
    rate: 0,
    onProgress: (sent) => progress('produce', sent, records),
  });
  const produceSeconds = (performance.now() - producedStart) / 1000;

  const ceilingConfig = benchConfig(brokers, topic, `${topic}-ceiling`);
  const ceiling = await rawConsumeRate(ceilingConfig, records, (seen) => progress('ceiling (raw kafkajs)', seen, records));
  const ceilingWithLoad = { ...ceiling, loadAverage: loadAverage() };

  const variants: { name: string; count: number; overrides: Record<string, unknown> }[] = [
    { name: 'tangent NN only', count: records, overrides: { ntkgp: { enabled: false } } },
    { name: 'tangent NN + NTK-GP (window 512)', count: gpRecords, overrides: { ntkgp: { enabled: true, window: 512 } } },
    // Diagnostics (not the default pipeline): what the periodic fine-tuning and the minibatch size cost.
    { name: 'diagnostic: NN only, no fine-tuning phases', count: records, overrides: { ntkgp: { enabled: false }, fineTune: { every: 0 }, drift: { fineTuneOnDrift: false } } },
    { name: 'diagnostic: NN only, batch.size 1024', count: records, overrides: { ntkgp: { enabled: false }, batch: { size: 1024 } } },
    {
      name: 'diagnostic: NN only, batch.size 1024, no fine-tuning phases, no periodic checkpoints',
      count: records,
      overrides: { ntkgp: { enabled: false }, batch: { size: 1024 }, fineTune: { every: 0 }, drift: { fineTuneOnDrift: false }, checkpoint: { every: 0, intervalSeconds: 0 } },
    },
  ];
  const runs: TangentRun[] = [];
  let backend = 'unknown';
  for (const variant of variants) {
    const config = benchConfig(brokers, topic, `${topic}-${runs.length}`, variant.overrides);
    const clock = new BatchClock();
    const started = performance.now();
    const consumer = await startConsumer(config, quietLogger, { observers: [clock] });
    backend = consumer.backend.name;
    try {
      await waitFor(
        () => {
          progress(variant.name, clock.learned, variant.count);
          return clock.learned >= variant.count;
        },
        30 * 60_000,
        `${variant.name} to learn ${variant.count} records`,
        100,
      );
    } finally {
      await consumer.stop();
    }
    const rate = clock.steadyRate();
    runs.push({
      name: variant.name,
      settings: { ...variant.overrides, ...pipelineSettings(config) },
      records: clock.learned,
      recordsPerSecond: rate,
      ratioToCeiling: rate / ceiling.recordsPerSecond,
      secondsFirstToLast: (clock.last - clock.first) / 1000,
      secondsIncludingStartup: (clock.last - started) / 1000,
      batches: clock.batches,
      seconds: { score: clock.scoreSeconds, learn: clock.learnSeconds, fineTune: clock.fineTuneSeconds },
      backend: consumer.backend.name,
      loadAverage: loadAverage(),
    });
  }
  return {
    benchmark: 'throughput',
    topic,
    records,
    recordBytes: sample.value.length,
    produce: { seconds: produceSeconds, recordsPerSecond: records / produceSeconds },
    ceiling: ceilingWithLoad,
    runs,
    backend,
  };
}
