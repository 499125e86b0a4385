/**
 * 9. responsiveness — does the event loop stay free while tangent learns a backlog?
 *
 * For each pipeline (the default one, network + NTK-GP; and the network
 * alone) a backlog of Friedman records is produced first; then tangent learns
 * it from the beginning while a separate probe process GETs `/metrics` and
 * `/healthz` every 50 ms, open loop. In the consumer's own process,
 * perf_hooks.monitorEventLoopDelay samples how late the event loop runs: its
 * maximum is the longest stall, which is also the longest a kafkajs heartbeat,
 * a fetch or a `/predict` can wait. Beside it, the pipeline's per-batch learn
 * times and the fine-tuning phases it ran in the same window.
 */
import { fork } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startConsumer } from '../../src/consumer-app.js';
import type { BatchObserver } from '../../src/pipeline/observe.js';
import type { LearnedBatch } from '../../src/pipeline/records.js';
import type { TangentMetrics } from '../../src/metrics/metrics.js';
import { benchDir, loadAverage, note, pipelineSettings, progress, quantile, sleep, waitFor, type BenchContext } from '../lib/common.js';
import { benchConfig, brokersOf, freshTopic, quietLogger, startPacedProducer } from '../lib/kafka.js';
import type { HttpProbeOptions, HttpProbeResult } from '../lib/http-probe.js';
import { waitReady } from './latency.js';

export interface Millis {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface EndpointResponsiveness {
  readonly path: string;
  readonly probes: number;
  readonly answered: number;
  readonly statuses: Record<string, number>;
  readonly responseMillis: Millis;
  /** The longest time between two answers (the probe asks every intervalMs). */
  readonly longestGapMs: number;
}

export interface ResponsivenessRun {
  readonly name: string;
  readonly settings: Record<string, unknown>;
  readonly seconds: number;
  readonly endpoints: readonly EndpointResponsiveness[];
  /** perf_hooks.monitorEventLoopDelay over the window (resolution 10 ms): how late the loop ran. */
  readonly eventLoopDelayMillis: Millis & { readonly mean: number };
  readonly batchesLearned: number;
  readonly recordsLearned: number;
  /** Per batch, score + every model's learn (fine-tuning phases included), ms. */
  readonly batchMillis: Millis;
  readonly fineTunePhases: number;
  readonly fineTuneMillis: Millis;
  /** Records of the backlog not learned yet when the probes stopped: > 0 means it was learning throughout. */
  readonly lagAtEnd: number;
  readonly loadAverage: readonly number[];
}

export interface ResponsivenessResult {
  readonly benchmark: 'responsiveness';
  readonly backlog: number;
  readonly probeIntervalMs: number;
  readonly runs: readonly ResponsivenessRun[];
  readonly backend: string;
}

function millis(values: readonly number[]): Millis {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

class BatchTimes implements BatchObserver {
  readonly batchMs: number[] = [];
  records = 0;
  observe(batch: LearnedBatch): void {
    this.records += batch.accepted.length;
    this.batchMs.push((batch.scoreSeconds + batch.learned.reduce((s, l) => s + l.seconds, 0)) * 1000);
  }
}

/**
 * Every fine-tuning phase's duration as the consumer reports it to its own histogram, wherever its steps ran: a
 * batch's results carry only phases run whole in it, and with `fineTune.yieldToRecords` (the default) phases are
 * paid between batches and reported there.
 */
function recordPhases(metrics: TangentMetrics): number[] {
  const phaseMs: number[] = [];
  const histogram = metrics.fineTuneDuration as unknown as { observe(seconds: number): void };
  const observe = histogram.observe.bind(histogram);
  histogram.observe = (seconds) => {
    phaseMs.push(seconds * 1000);
    observe(seconds);
  };
  return phaseMs;
}

function startProbe(options: HttpProbeOptions): { stop: () => Promise<HttpProbeResult> } {
  const child = fork(`${benchDir}/lib/http-probe.ts`, [JSON.stringify(options)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const done = new Promise<HttpProbeResult>((resolve, reject) => {
    let result: HttpProbeResult | undefined;
    child.on('message', (m: { type: string; result?: HttpProbeResult }) => {
      if (m.type === 'done') result = m.result;
    });
    child.on('error', reject);
    child.on('exit', (code) => (result && code === 0 ? resolve(result) : reject(new Error(`http probe exited with ${code}`))));
  });
  return {
    stop: () => {
      child.send({ type: 'stop' });
      return done;
    },
  };
}

function endpoint(probes: HttpProbeResult['probes'][number], path: string, seconds: number): EndpointResponsiveness {
  const times = [0, ...probes.answeredAtMs, seconds * 1000];
  let longestGapMs = 0;
  for (let i = 1; i < times.length; i++) longestGapMs = Math.max(longestGapMs, times[i]! - times[i - 1]!);
  return {
    path,
    probes: probes.latenciesMs.length,
    answered: probes.answeredAtMs.length,
    statuses: probes.statuses,
    responseMillis: millis(probes.latenciesMs),
    longestGapMs,
  };
}

export async function run(ctx: BenchContext): Promise<ResponsivenessResult> {
  const brokers = brokersOf(ctx);
  const backlog = ctx.quick ? 4_000 : 30_000;
  const seconds = ctx.quick ? 8 : 40;
  const probeIntervalMs = 50;
  const variants = [
    { name: 'default pipeline (network + NTK-GP)', overrides: {} },
    { name: 'network only', overrides: { ntkgp: { enabled: false } } },
  ];
  const runs: ResponsivenessRun[] = [];
  let backend = '';
  for (const variant of variants) {
    const topic = await freshTopic(brokers, 'responsiveness');
    await startPacedProducer({ brokers, topic, rate: 0, count: backlog, seed: 9 }, (sent) => progress(`${variant.name}: backlog`, sent, backlog));
    const config = benchConfig(brokers, topic, `${topic}-group`, variant.overrides);
    const times = new BatchTimes();
    const consumer = await startConsumer(config, quietLogger, { observers: [times] });
    backend = consumer.backend.name;
    const phaseMs = recordPhases(consumer.metrics);
    try {
      await waitReady(consumer.metricsAddress.port);
      await waitFor(() => times.batchMs.length >= 1, 120_000, 'the consumer to learn its first batch');
      const base = `http://127.0.0.1:${consumer.metricsAddress.port}`;
      const firstBatch = times.batchMs.length;
      const firstPhase = phaseMs.length;
      const recordsBefore = times.records;
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const probe = startProbe({ urls: [`${base}/metrics`, `${base}/healthz`], intervalMs: probeIntervalMs });
      const from = performance.now();
      while (performance.now() - from < seconds * 1000 && times.records < backlog) {
        progress(variant.name, Math.round((performance.now() - from) / 1000), seconds);
        await sleep(250);
      }
      const result = await probe.stop();
      delay.disable();
      const lagAtEnd = backlog - times.records;
      if (lagAtEnd === 0) note(`responsiveness: ${variant.name} learned the whole backlog within the window`);
      const ns = (q: number): number => delay.percentile(q) / 1e6;
      runs.push({
        name: variant.name,
        settings: pipelineSettings(config),
        seconds: result.seconds,
        endpoints: [endpoint(result.probes[0]!, '/metrics', result.seconds), endpoint(result.probes[1]!, '/healthz', result.seconds)],
        eventLoopDelayMillis: { p50: ns(50), p99: ns(99), max: delay.max / 1e6, mean: delay.mean / 1e6 },
        batchesLearned: times.batchMs.length - firstBatch,
        recordsLearned: times.records - recordsBefore,
        batchMillis: millis(times.batchMs.slice(firstBatch)),
        fineTunePhases: phaseMs.length - firstPhase,
        fineTuneMillis: millis(phaseMs.slice(firstPhase)),
        lagAtEnd,
        loadAverage: loadAverage(),
      });
    } finally {
      await consumer.stop();
    }
  }
  return { benchmark: 'responsiveness', backlog, probeIntervalMs, runs, backend };
}
