/**
 * 6. quality vs River — prequential error on River's FriedmanDrift.
 *
 * bench/peers/river_quality.py writes River's FriedmanDrift stream (abrupt
 * 'gra' and gradual 'gsg') as JSONL; it is replayed through Kafka (one task,
 * so one partition and the file's order) into tangent with its default
 * pipeline (NN + NTK-GP), an observer keeping every record's prequential
 * predictions. The same script then runs River's regressors prequentially on
 * the same records and scores everything the same way.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startConsumer } from '../../src/consumer-app.js';
import { produceRecords } from '../../src/demo/produce.js';
import { fileRecords } from '../../src/demo/record-sources.js';
import type { BatchObserver } from '../../src/pipeline/observe.js';
import type { LearnedBatch } from '../../src/pipeline/records.js';
import { benchDir, loadAverage, progress, pythonEnv, waitFor, writeJson, type BenchContext, pipelineSettings } from '../lib/common.js';
import { BatchClock, benchConfig, benchKafka, brokersOf, freshTopic, quietLogger } from '../lib/kafka.js';

class PredictionLog implements BatchObserver {
  readonly y: number[] = [];
  readonly predictions: Record<string, number[]> = {};
  observe(batch: LearnedBatch): void {
    for (const { example } of batch.accepted) this.y.push(example.y);
    for (const { model, predictions } of batch.scores) {
      const list = (this.predictions[model] ??= []);
      for (let i = 0; i < batch.accepted.length; i++) list.push(predictions[i]!);
    }
  }
}

interface ModelScore {
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly learnSeconds?: number;
  readonly metrics: Record<string, { mae: number; rmse: number; n: number; from?: number; to?: number }>;
  readonly rolling: { index: number[]; mae: number[] };
}

export interface QualityStream {
  readonly drift: 'abrupt' | 'gradual';
  readonly riverDriftType: string;
  readonly records: number;
  readonly positions: readonly number[];
  readonly transitionWindow?: number;
  readonly rollingWindow: number;
  readonly tangentSettings: Record<string, unknown>;
  readonly models: Record<string, ModelScore>;
}

export interface QualityResult {
  readonly benchmark: 'quality';
  readonly river: string;
  readonly streams: readonly QualityStream[];
  readonly backend: string;
  readonly loadAverage: readonly number[];
}

function python(ctx: BenchContext, args: readonly string[]): string {
  const r = spawnSync(ctx.python ?? 'python3', [join(benchDir, 'peers/river_quality.py'), ...args], {
    env: pythonEnv(),
    encoding: 'utf8',
    maxBuffer: 1 << 27,
  });
  if (r.status !== 0) throw new Error(`river_quality.py ${args[0]} failed: ${r.stderr}`);
  return r.stdout;
}

export async function run(ctx: BenchContext): Promise<QualityResult> {
  const brokers = brokersOf(ctx);
  const n = ctx.quick ? 3_000 : 30_000;
  const positions = ctx.quick ? [1_000, 2_000] : [10_000, 20_000];
  const transitionWindow = ctx.quick ? 200 : 2_000;
  const dir = join(ctx.rawDir, 'quality');
  mkdirSync(dir, { recursive: true });
  const streams: QualityStream[] = [];
  let backend = 'unknown';
  let river = 'unknown';
  for (const drift of ['abrupt', 'gradual'] as const) {
    const label = `FriedmanDrift ${drift}`;
    const file = join(dir, `friedman-${drift}.jsonl`);
    python(ctx, ['generate', '--drift', drift, '--n', String(n), '--positions', positions.join(','), '--window', String(transitionWindow), '--seed', '42', '--out', file]);
    const topic = await freshTopic(brokers, `quality-${drift}`);
    await produceRecords(benchKafka(brokers), fileRecords(file), { topic, rate: 0, onProgress: (sent) => progress(`${label}: replay into Kafka`, sent, n) });

    const config = benchConfig(brokers, topic, `${topic}-group`);
    const log = new PredictionLog();
    const clock = new BatchClock();
    const consumer = await startConsumer(config, quietLogger, { observers: [log, clock] });
    backend = consumer.backend.name;
    try {
      await waitFor(
        () => {
          progress(`${label}: tangent learns`, log.y.length, n);
          return log.y.length >= n;
        },
        30 * 60_000,
        `${n} records learned`,
        100,
      );
    } finally {
      await consumer.stop();
    }
    const tangentFile = join(dir, `tangent-${drift}.json`);
    writeJson(tangentFile, {
      y: log.y,
      predictions: log.predictions,
      seconds: (clock.last - clock.first) / 1000,
      learnSeconds: clock.learnSeconds,
    });
    progress(`${label}: River models`, n, n);
    const scored = JSON.parse(python(ctx, ['evaluate', '--stream', file, '--positions', positions.join(','), '--tangent', tangentFile])) as {
      rollingWindow: number;
      river: string;
      models: Record<string, ModelScore>;
    };
    river = scored.river;
    streams.push({
      drift,
      riverDriftType: drift === 'abrupt' ? 'gra (global recurring abrupt)' : 'gsg (global slow gradual)',
      records: n,
      positions,
      transitionWindow: drift === 'gradual' ? transitionWindow : undefined,
      rollingWindow: scored.rollingWindow,
      tangentSettings: pipelineSettings(config),
      models: scored.models,
    });
  }
  return { benchmark: 'quality', river, streams, backend, loadAverage: loadAverage() };
}
