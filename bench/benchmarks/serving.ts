/**
 * 8. serving — POST /predict while the consumer learns a backlog.
 *
 * A backlog of Friedman records is produced first; then tangent (default
 * model, NTK-GP on) starts learning it, and a separate load process POSTs to
 * /predict at a steady rate, open loop: one record per request at 200
 * requests/s, then 100 records per request at 20 requests/s. The request
 * latencies are set against the pipeline's own per-batch times in the same
 * window (score stage, and score + learn: the learning thread's work; the
 * requests are answered on the serving thread, from snapshots), and against
 * GET /healthz sent at the same rate right after each phase (one load process
 * at a time), answered on the learning thread: the same-run baseline of a
 * request that waits for the learning.
 */
import { fork } from 'node:child_process';
import { defaultFriedmanOptions, FriedmanStream } from '../../src/demo/friedman.js';
import { startConsumer } from '../../src/consumer-app.js';
import type { BatchObserver } from '../../src/pipeline/observe.js';
import type { LearnedBatch } from '../../src/pipeline/records.js';
import { benchDir, loadAverage, note, progress, quantile, sleep, waitFor, type BenchContext } from '../lib/common.js';
import { benchConfig, brokersOf, freshTopic, quietLogger, startPacedProducer } from '../lib/kafka.js';
import type { PredictLoadOptions, PredictLoadResult } from '../lib/predict-load.js';
import { waitReady } from './latency.js';

interface Millis {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export interface ServingRun {
  readonly name: string;
  readonly recordsPerRequest: number;
  readonly targetRate: number;
  readonly requests: number;
  readonly achievedRate: number;
  readonly statuses: Record<string, number>;
  readonly requestMillis: Millis;
  /**
   * The same-run baseline: GET /healthz on the metrics port at the same rate, answered on the
   * learning thread — what a request waits there for the piece of learning in progress.
   */
  readonly learningThreadMillis: Millis;
  /** Batches the consumer learned while the load ran, and their times. */
  readonly batchesDuring: number;
  readonly recordsLearnedDuring: number;
  readonly scoreMillis: Millis;
  readonly scoreAndLearnMillis: Millis;
  /** Records still behind the end of the topic when the load stopped: > 0 means it was learning a backlog throughout. */
  readonly lagAtEnd: number;
  readonly loadAverage: readonly number[];
}

export interface ServingResult {
  readonly benchmark: 'serving';
  readonly backlog: number;
  readonly settings: Record<string, unknown>;
  readonly runs: readonly ServingRun[];
  readonly backend: string;
}

function millis(values: readonly number[]): Millis {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return {
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

class BatchTimes implements BatchObserver {
  readonly batches: { at: number; records: number; scoreMs: number; scoreAndLearnMs: number }[] = [];
  observe(batch: LearnedBatch): void {
    const learnSeconds = batch.learned.reduce((s, l) => s + l.seconds, 0);
    this.batches.push({
      at: performance.now(),
      records: batch.accepted.length + batch.unlabeled.length,
      scoreMs: batch.scoreSeconds * 1000,
      scoreAndLearnMs: (batch.scoreSeconds + learnSeconds) * 1000,
    });
  }
}

function runLoad(options: PredictLoadOptions): Promise<PredictLoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(`${benchDir}/lib/predict-load.ts`, [JSON.stringify(options)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    let result: PredictLoadResult | undefined;
    child.on('message', (m: { type: string; result?: PredictLoadResult }) => {
      if (m.type === 'done') result = m.result;
    });
    child.on('error', reject);
    child.on('exit', (code) => (result && code === 0 ? resolve(result) : reject(new Error(`predict load exited with ${code}`))));
  });
}

function requestBody(records: number, seed: number): string {
  const stream = new FriedmanStream({ ...defaultFriedmanOptions, seed, drift: 'none' });
  const items = Array.from({ length: records }, () => {
    const { task, x } = stream.next();
    return { task, x };
  });
  return JSON.stringify(records === 1 ? items[0] : items);
}

export async function run(ctx: BenchContext): Promise<ServingResult> {
  const brokers = brokersOf(ctx);
  const seconds = ctx.quick ? 5 : 30;
  // Enough that the learner is still behind when the last load ends (four 30 s loads).
  const backlog = ctx.quick ? 8_000 : 250_000;
  const topic = await freshTopic(brokers, 'serving');
  await startPacedProducer({ brokers, topic, rate: 0, count: backlog, seed: 5 }, (sent) => progress('backlog', sent, backlog));
  const overrides = {};
  const config = benchConfig(brokers, topic, `${topic}-group`, overrides);
  const times = new BatchTimes();
  const consumer = await startConsumer(config, quietLogger, { observers: [times] });
  const runs: ServingRun[] = [];
  try {
    await waitReady(consumer.metricsAddress.port);
    // Learning under way (and the tasks known) before the first request.
    await waitFor(() => times.batches.length >= 20, 120_000, 'the consumer to learn its first batches');
    const url = `http://127.0.0.1:${consumer.servingAddress.port}/predict`;
    const phases = [
      { name: '1 record per request', records: 1, rate: 200 },
      { name: '100 records per request', records: 100, rate: 20 },
    ];
    for (const phase of phases) {
      progress(phase.name, 0, 1);
      const from = performance.now();
      const first = times.batches.length;
      // One load at a time: a second load process would take CPU from the first on two cores.
      const load = await runLoad({ url, body: requestBody(phase.records, 11), rate: phase.rate, seconds });
      const during = times.batches.slice(first).filter((b) => b.at >= from);
      const baseline = await runLoad({ url: `http://127.0.0.1:${consumer.metricsAddress.port}/healthz`, rate: phase.rate, seconds });
      const lagAtEnd = consumer.totalLag();
      if (lagAtEnd === 0) note(`serving: the backlog ran out during "${phase.name}"; the latencies include idle time`);
      runs.push({
        name: phase.name,
        recordsPerRequest: phase.records,
        targetRate: phase.rate,
        requests: load.requests,
        achievedRate: load.requests / load.seconds,
        statuses: load.statuses,
        requestMillis: millis(load.latenciesMs),
        learningThreadMillis: millis(baseline.latenciesMs),
        batchesDuring: during.length,
        recordsLearnedDuring: during.reduce((n, b) => n + b.records, 0),
        scoreMillis: millis(during.map((b) => b.scoreMs)),
        scoreAndLearnMillis: millis(during.map((b) => b.scoreAndLearnMs)),
        lagAtEnd,
        loadAverage: loadAverage(),
      });
      progress(phase.name, 1, 1);
      await sleep(500);
    }
  } finally {
    await consumer.stop();
  }
  return {
    benchmark: 'serving',
    backlog,
    settings: { batchSize: config.batch.size, ntkgpWindow: config.ntkgp.enabled ? config.ntkgp.window : 0, fineTuneEvery: config.fineTune.every, hidden: config.model.hidden },
    runs,
    backend: consumer.backend.name,
  };
}
