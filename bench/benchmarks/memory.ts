/**
 * 5. memory soak — RSS of the consumer over a long stream with bounded GP windows.
 *
 * A producer process writes the Friedman stream as fast as the broker takes
 * it while tangent (default model, NTK-GP on with a bounded window) learns
 * it, so the source's water-mark backpressure is exercised too. This process
 * (the consumer's) samples RSS, V8 heap, external/array buffers and tfjs'
 * tensor count every second.
 *
 * Warm-up: the first 20% of the records. After it, RSS must stay within ±5%
 * of its post-warm-up mean; the least-squares slope is reported as well.
 */
import * as tf from '@tensorflow/tfjs';
import { startConsumer } from '../../src/consumer-app.js';
import { loadAverage, progress, waitFor, type BenchContext, pipelineSettings } from '../lib/common.js';
import { BatchClock, benchConfig, brokersOf, freshTopic, quietLogger, startPacedProducer, type PacedProducerResult } from '../lib/kafka.js';

export interface MemorySample {
  readonly t: number;
  readonly learned: number;
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  readonly externalMiB: number;
  readonly arrayBuffersMiB: number;
  readonly tensors: number;
  readonly lag: number;
}

export interface MemoryResult {
  readonly benchmark: 'memory';
  readonly records: number;
  readonly settings: Record<string, unknown>;
  readonly warmupFraction: number;
  readonly samples: readonly MemorySample[];
  readonly afterWarmup: {
    readonly samples: number;
    readonly meanRssMiB: number;
    readonly minRssMiB: number;
    readonly maxRssMiB: number;
    /** max(|rss − mean|) / mean after warm-up. */
    readonly maxDeviation: number;
    /** Least-squares slope of RSS against records learned, MiB per 100k records. */
    readonly slopeMiBPer100k: number;
    readonly tensorsMin: number;
    readonly tensorsMax: number;
  };
  readonly flat: boolean;
  readonly recordsPerSecond: number;
  readonly producer: PacedProducerResult;
  readonly maxLag: number;
  readonly backend: string;
  readonly loadAverage: readonly number[];
}

const MiB = 2 ** 20;

export async function run(ctx: BenchContext): Promise<MemoryResult> {
  const brokers = brokersOf(ctx);
  const records = ctx.quick ? 20_000 : 1_000_000;
  const warmupFraction = 0.2;
  const topic = await freshTopic(brokers, 'memory');
  const overrides = { ntkgp: { enabled: true, window: 64 } };
  const config = benchConfig(brokers, topic, `${topic}-group`, overrides);
  const clock = new BatchClock();
  const consumer = await startConsumer(config, quietLogger, { observers: [clock] });
  const samples: MemorySample[] = [];
  const started = performance.now();
  const sample = (): void => {
    const m = process.memoryUsage();
    samples.push({
      t: +((performance.now() - started) / 1000).toFixed(2),
      learned: clock.learned,
      rssMiB: m.rss / MiB,
      heapUsedMiB: m.heapUsed / MiB,
      externalMiB: m.external / MiB,
      arrayBuffersMiB: m.arrayBuffers / MiB,
      tensors: tf.memory().numTensors,
      lag: consumer.totalLag(),
    });
  };
  sample();
  const timer = setInterval(sample, 1000);
  let producer: PacedProducerResult;
  try {
    const producing = startPacedProducer({ brokers, topic, rate: 0, count: records, seed: 5 });
    await waitFor(
      () => {
        progress('soak (learned)', clock.learned, records);
        return clock.learned >= records;
      },
      60 * 60_000,
      `${records} records learned`,
      200,
    );
    producer = await producing;
  } finally {
    clearInterval(timer);
    sample();
    await consumer.stop();
  }
  const after = samples.filter((s) => s.learned >= warmupFraction * records);
  const rss = after.map((s) => s.rssMiB);
  const meanRss = rss.reduce((a, b) => a + b, 0) / rss.length;
  const maxDeviation = Math.max(...rss.map((r) => Math.abs(r - meanRss))) / meanRss;
  const xs = after.map((s) => s.learned);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  let sxy = 0;
  let sxx = 0;
  after.forEach((s, i) => {
    sxy += (xs[i]! - mx) * (s.rssMiB - meanRss);
    sxx += (xs[i]! - mx) ** 2;
  });
  return {
    benchmark: 'memory',
    records: clock.learned,
    settings: {
      ...overrides,
      ...pipelineSettings(config),
      waterMarks: [config.kafka.highWaterMark, config.kafka.lowWaterMark],
    },
    warmupFraction,
    samples,
    afterWarmup: {
      samples: after.length,
      meanRssMiB: meanRss,
      minRssMiB: Math.min(...rss),
      maxRssMiB: Math.max(...rss),
      maxDeviation,
      slopeMiBPer100k: sxx > 0 ? (sxy / sxx) * 100_000 : 0,
      tensorsMin: Math.min(...after.map((s) => s.tensors)),
      tensorsMax: Math.max(...after.map((s) => s.tensors)),
    },
    flat: maxDeviation <= 0.05,
    recordsPerSecond: clock.steadyRate(),
    producer,
    maxLag: Math.max(...samples.map((s) => s.lag)),
    backend: consumer.backend.name,
    loadAverage: loadAverage(),
  };
}
