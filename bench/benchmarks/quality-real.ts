/**
 * 7. quality on real data — whole-stream prequential MAE against River.
 *
 * bench/peers/real_quality.py exports small real regression datasets that
 * ship inside PyPI wheels (River's TrumpApproval and ChickWeights,
 * scikit-learn's diabetes; nothing is downloaded at run time) as JSONL. Each
 * is replayed through Kafka (one task, so one partition and the file's
 * order) into tangent with the DEFAULT pipeline (only model.inputDim set),
 * run until the end offsets it started with, an observer keeping every
 * record's prequential predictions. The script then runs River's
 * LinearRegression, HoeffdingTreeRegressor, KNNRegressor and AMFRegressor,
 * each behind StandardScaler, and a running mean under
 * evaluate.progressive_val_score, and scores tangent's predictions the same
 * way. The full run also replays each dataset at batch.size 1, 8 and 64 to
 * check that the defaults never diverge.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startConsumer } from '../../src/consumer-app.js';
import { produceRecords } from '../../src/demo/produce.js';
import { fileRecords } from '../../src/demo/record-sources.js';
import { runSummary, type RunSummary } from '../../src/metrics/run-summary.js';
import type { BatchObserver } from '../../src/pipeline/observe.js';
import type { LearnedBatch } from '../../src/pipeline/records.js';
import { benchDir, loadAverage, pipelineSettings, progress, pythonEnv, writeJson, type BenchContext } from '../lib/common.js';
import { benchConfig, benchKafka, brokersOf, freshTopic, quietLogger } from '../lib/kafka.js';

interface Dataset {
  readonly name: string;
  readonly source: string;
  readonly records: number;
  readonly features: readonly string[];
}

/** Every record's predictions, and the η `auto` chose step by step. */
class ReplayLog implements BatchObserver {
  readonly y: number[] = [];
  readonly predictions: Record<string, number[]> = {};
  readonly learningRates: number[] = [];
  readonly margins: number[] = [];
  observe(batch: LearnedBatch): void {
    // The record's own target: the scale stage may have clipped example.y to what the models learn from.
    for (const { source } of batch.accepted) this.y.push((JSON.parse(source.value!.toString('utf8')) as { y: number }).y);
    for (const { model, predictions } of batch.scores) {
      const list = (this.predictions[model] ??= []);
      for (let i = 0; i < batch.accepted.length; i++) list.push(predictions[i]!);
    }
    for (const rate of batch.learned.find((l) => l.model === 'nn')?.learningRates ?? []) {
      this.learningRates.push(rate.learningRate);
      if (Number.isFinite(rate.margin)) this.margins.push(rate.margin);
    }
  }
}

export interface RealModelScore {
  readonly mae: number | null;
  readonly rmse: number | null;
  readonly records: number;
  readonly seconds?: number;
  readonly nonFinite?: number;
}

export interface LearningRateStats {
  /** η of the first step (a warm-up batch of one record), the median over steps, and the last step's. */
  readonly first: number;
  readonly median: number;
  readonly last: number;
  readonly min: number;
  readonly max: number;
  /** The stability margin every step kept (max over steps). */
  readonly maxMargin: number;
}

export interface BatchSizeCheck {
  readonly batchSize: number;
  readonly summary: RunSummary;
  readonly learningRate: LearningRateStats;
}

export interface RealDatasetResult {
  readonly dataset: Dataset;
  readonly tangentSettings: Record<string, unknown>;
  readonly learningRate: LearningRateStats;
  readonly summary: RunSummary;
  readonly models: Record<string, RealModelScore>;
  readonly batchSizeChecks: readonly BatchSizeCheck[];
}

export interface QualityRealResult {
  readonly benchmark: 'quality-real';
  readonly river: string;
  readonly datasets: readonly RealDatasetResult[];
  readonly backend: string;
  readonly loadAverage: readonly number[];
}

function python(ctx: BenchContext, args: readonly string[]): string {
  const r = spawnSync(ctx.python ?? 'python3', [join(benchDir, 'peers/real_quality.py'), ...args], { env: pythonEnv(), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`real_quality.py ${args[0]} failed: ${r.stderr}`);
  return r.stdout;
}

function stats(log: ReplayLog): LearningRateStats {
  const sorted = [...log.learningRates].sort((a, b) => a - b);
  return {
    first: log.learningRates[0] ?? Number.NaN,
    median: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    last: log.learningRates[log.learningRates.length - 1] ?? Number.NaN,
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    maxMargin: Math.max(...log.margins),
  };
}

/** Replays a dataset file through Kafka into tangent's default pipeline, until the end offsets. */
async function replay(ctx: BenchContext, file: string, dataset: Dataset, label: string, batchSize?: number) {
  const brokers = brokersOf(ctx);
  const topic = await freshTopic(brokers, `quality-real-${dataset.name.toLowerCase()}`);
  await produceRecords(benchKafka(brokers), fileRecords(file), { topic, rate: 0, onProgress: (sent) => progress(`${label}: replay into Kafka`, sent, dataset.records) });
  const config = benchConfig(brokers, topic, `${topic}-group`, {
    model: { inputDim: dataset.features.length },
    ...(batchSize !== undefined ? { batch: { size: batchSize } } : {}),
  });
  const log = new ReplayLog();
  const consumer = await startConsumer(config, quietLogger, { observers: [log], untilEnd: true });
  progress(`${label}: tangent learns`, 0, dataset.records);
  try {
    await Promise.race([consumer.done, consumer.endReached]);
  } finally {
    await consumer.stop();
  }
  progress(`${label}: tangent learns`, log.y.length, dataset.records);
  return { config, log, summary: runSummary(consumer.totals), backend: consumer.backend.name };
}

export async function run(ctx: BenchContext): Promise<QualityRealResult> {
  const dir = join(ctx.rawDir, 'quality-real');
  mkdirSync(dir, { recursive: true });
  const datasets = JSON.parse(python(ctx, ['list'])) as Dataset[];
  const results: RealDatasetResult[] = [];
  let backend = 'unknown';
  let river = 'unknown';
  for (const dataset of datasets) {
    const file = join(dir, `${dataset.name}.jsonl`);
    python(ctx, ['export', '--dataset', dataset.name, '--out', file]);
    const main = await replay(ctx, file, dataset, dataset.name);
    backend = main.backend;
    const tangentFile = join(dir, `tangent-${dataset.name}.json`);
    writeJson(tangentFile, { y: main.log.y, predictions: main.log.predictions });
    progress(`${dataset.name}: River models`, 0, 1);
    const scored = JSON.parse(python(ctx, ['evaluate', '--dataset', dataset.name, '--tangent', tangentFile])) as {
      river: string;
      models: Record<string, RealModelScore>;
    };
    river = scored.river;
    const batchSizeChecks: BatchSizeCheck[] = [];
    if (!ctx.quick) {
      for (const batchSize of [1, 8, 64]) {
        const check = await replay(ctx, file, dataset, `${dataset.name} batch.size ${batchSize}`, batchSize);
        batchSizeChecks.push({ batchSize, summary: check.summary, learningRate: stats(check.log) });
      }
    }
    results.push({
      dataset,
      tangentSettings: pipelineSettings(main.config),
      learningRate: stats(main.log),
      summary: main.summary,
      models: scored.models,
      batchSizeChecks,
    });
  }
  return { benchmark: 'quality-real', river, datasets: results, backend, loadAverage: loadAverage() };
}
