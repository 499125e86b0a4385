/**
 * 2. latency — ingest-to-learned, at half the measured maximum rate.
 *
 * A producer in its own process sends the Friedman stream at a steady rate,
 * stamping each record's `ts` right before its send request. tangent consumes
 * it (fresh topic, fresh group, started and joined before the first record is
 * sent); an observer takes `Date.now() − example.ts` for every record at the
 * end of the batch that learned it. The rate is half the steady learning rate
 * that the throughput benchmark measured for the same configuration.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startConsumer } from '../../src/consumer-app.js';
import type { BatchObserver } from '../../src/pipeline/observe.js';
import type { LearnedBatch } from '../../src/pipeline/records.js';
import { downsample, loadAverage, note, progress, quantile, sleep, waitFor, type BenchContext } from '../lib/common.js';
import { benchConfig, brokersOf, freshTopic, quietLogger, startPacedProducer, type PacedProducerResult } from '../lib/kafka.js';
import type { ThroughputResult } from './throughput.js';

class LatencyLog implements BatchObserver {
  readonly latencies: number[] = [];
  readonly batchSizes: number[] = [];
  /** The largest latency of the records learned in each second, from the first learned batch on. */
  readonly maxBySecond: number[] = [];
  private firstAt: number | undefined;
  observe(batch: LearnedBatch): void {
    const now = Date.now();
    this.firstAt ??= now;
    const second = Math.floor((now - this.firstAt) / 1000);
    for (const { example } of batch.accepted) {
      const latency = now - example.ts;
      this.latencies.push(latency);
      this.maxBySecond[second] = Math.max(this.maxBySecond[second] ?? 0, latency);
    }
    this.batchSizes.push(batch.accepted.length);
  }
}

export interface LatencyRun {
  readonly name: string;
  readonly settings: Record<string, unknown>;
  readonly targetRate: number;
  readonly rateSource: string;
  readonly producer: PacedProducerResult;
  readonly records: number;
  readonly warmupRecords: number;
  readonly millis: { readonly p50: number; readonly p90: number; readonly p99: number; readonly p999: number; readonly max: number; readonly mean: number };
  readonly meanBatchSize: number;
  /**
   * The largest latency of each second's learned records (0 for a second without any), warm-up
   * included: whether the tail is one episode or spread over the run.
   */
  readonly maxBySecond: readonly number[];
  /** Sorted latencies, downsampled, for the CDF plot. */
  readonly cdf: readonly number[];
  readonly loadAverage: readonly number[];
}

export interface LatencyResult {
  readonly benchmark: 'latency';
  readonly runs: readonly LatencyRun[];
  readonly backend: string;
}

const FALLBACK_RATES = { nn: 2000, gp: 300 };

function maxRates(ctx: BenchContext): { nn: number; gp: number; source: string } {
  const file = join(ctx.outDir, 'throughput.json');
  if (existsSync(file)) {
    const throughput = JSON.parse(readFileSync(file, 'utf8')) as ThroughputResult;
    const nn = throughput.runs.find((r) => r.name === 'tangent NN only');
    const gp = throughput.runs.find((r) => r.name.startsWith('tangent NN + NTK-GP'));
    if (nn && gp) return { nn: nn.recordsPerSecond, gp: gp.recordsPerSecond, source: `throughput.json of ${throughput.topic}` };
  }
  note('latency: no throughput.json; using fallback maximum rates');
  return { ...FALLBACK_RATES, source: 'fallback (no throughput result)' };
}

/** /readyz answers 200 once the group has assigned partitions to the consumer. */
export async function waitReady(port: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    if (response?.status === 200) return;
    if (Date.now() > deadline) throw new Error('consumer not ready (no partitions assigned)');
    await sleep(100);
  }
}

export async function run(ctx: BenchContext): Promise<LatencyResult> {
  const brokers = brokersOf(ctx);
  const seconds = ctx.quick ? 6 : 40;
  const rates = maxRates(ctx);
  // Small linger and fetch wait: a partial batch is learned 20 ms after its first record.
  const lowLatency = { batch: { size: 64, lingerMs: 20 }, kafka: { maxWaitTimeMs: 20 } };
  const variants = [
    { name: 'tangent NN only', key: 'nn' as const, overrides: { ...lowLatency, ntkgp: { enabled: false } } },
    // The same window as the throughput run its rate is half of: at a window of 512 (O(W²) a point) half of the
    // window-256 maximum is more than the NTK-GP keeps up with, and the latency measured a growing backlog.
    { name: 'tangent NN + NTK-GP (window 256)', key: 'gp' as const, overrides: { ...lowLatency, ntkgp: { enabled: true, window: 256 } } },
    // Diagnostic: the same NN-only stream with each fine-tuning phase run whole in its batch's turn (as before
    // fineTune.yieldToRecords): a record arriving during a phase waits for all of it.
    { name: 'diagnostic: NN only, phases run whole in their batch (yieldToRecords off)', key: 'nn' as const, overrides: { ...lowLatency, ntkgp: { enabled: false }, fineTune: { yieldToRecords: false } } },
    // Diagnostic: the same NN-only stream without fine-tuning phases (periodic or drift-requested).
    { name: 'diagnostic: NN only, no fine-tuning phases', key: 'nn' as const, overrides: { ...lowLatency, ntkgp: { enabled: false }, fineTune: { every: 0 }, drift: { fineTuneOnDrift: false } } },
    // ... and without periodic checkpoints (serialising the model state blocks the pipeline too).
    {
      name: 'diagnostic: NN only, no fine-tuning phases, no periodic checkpoints',
      key: 'nn' as const,
      overrides: { ...lowLatency, ntkgp: { enabled: false }, fineTune: { every: 0 }, drift: { fineTuneOnDrift: false }, checkpoint: { every: 0, intervalSeconds: 0 } },
    },
  ];
  const runs: LatencyRun[] = [];
  let backend = 'unknown';
  for (const variant of variants) {
    const rate = Math.max(10, Math.floor(rates[variant.key] / 2));
    const count = Math.ceil(rate * seconds);
    const topic = await freshTopic(brokers, `latency-${variant.key}`);
    const config = benchConfig(brokers, topic, `${topic}-group`, variant.overrides);
    const log = new LatencyLog();
    const consumer = await startConsumer(config, quietLogger, { observers: [log] });
    backend = consumer.backend.name;
    let producer: PacedProducerResult;
    try {
      // Joined and fetching before the first record is sent.
      await waitReady(consumer.metricsAddress.port);
      await sleep(ctx.quick ? 1000 : 3000);
      producer = await startPacedProducer({ brokers, topic, rate, count, seed: 3 }, (sent) => progress(`${variant.name} @ ${rate}/s`, sent, count));
      await waitFor(() => log.latencies.length >= count, 120_000, `${variant.name} to learn ${count} records`, 20);
    } finally {
      await consumer.stop();
    }
    const warmupRecords = Math.min(Math.floor(count * 0.1), rate * 2);
    const measured = log.latencies.slice(warmupRecords).sort((a, b) => a - b);
    runs.push({
      name: variant.name,
      settings: { ...variant.overrides, batchSize: config.batch.size, lingerMs: config.batch.lingerMs, maxWaitTimeMs: config.kafka.maxWaitTimeMs },
      targetRate: rate,
      rateSource: `half of ${Math.round(rates[variant.key])}/s (${rates.source})`,
      producer,
      records: measured.length,
      warmupRecords,
      millis: {
        p50: quantile(measured, 0.5),
        p90: quantile(measured, 0.9),
        p99: quantile(measured, 0.99),
        p999: quantile(measured, 0.999),
        max: measured[measured.length - 1] ?? Number.NaN,
        mean: measured.reduce((a, b) => a + b, 0) / measured.length,
      },
      meanBatchSize: log.batchSizes.reduce((a, b) => a + b, 0) / log.batchSizes.length,
      maxBySecond: Array.from(log.maxBySecond, (m) => m ?? 0),
      cdf: downsample(measured, 400),
      loadAverage: loadAverage(),
    });
  }
  return { benchmark: 'latency', runs, backend };
}
