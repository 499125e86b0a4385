/**
 * 7. drift delays — detection delay and false alarms of each detector on the
 * NN's prequential absolute error, offline (no broker).
 *
 * The demo's Friedman stream with global abrupt drift at known positions,
 * one task, is learned batch by batch (64) by the OnlineRegressor with the
 * pipeline's feature scaling, predict-then-learn. Every record's absolute
 * error feeds one detector of each kind (River's default parameters). The
 * detectors do not feed back into the model (no drift-triggered fine-tune),
 * so all three see the same error stream.
 *
 * A detection at record index t is a true detection of drift i when it is
 * the first in [pᵢ, pᵢ + maxDelay) (maxDelay = the gap to the next drift or
 * the end); its delay is t − pᵢ. Every other detection is a false alarm.
 */
import { parsePipelineConfig } from '../../src/config/load-pipeline-config.js';
import { selectBackend } from '../../src/model/backend.js';
import { FriedmanStream, defaultFriedmanOptions } from '../../src/demo/friedman.js';
import { createDetector, type DetectorKind } from '../../src/drift/index.js';
import { OnlineRegressor } from '../../src/model/online-regressor.js';
import { RunningMoments } from '../../src/model/running-moments.js';
import type { Example } from '../../src/spec/example.js';
import { downsample, loadAverage, progress, type BenchContext } from '../lib/common.js';

const KINDS: readonly DetectorKind[] = ['adwin', 'page-hinkley', 'kswin'];
const WARMUP_FRACTION = 0.2;

export interface DetectorSeedResult {
  readonly seed: number;
  readonly detections: readonly number[];
  /** Per drift: delay in records, or null when missed. */
  readonly delays: readonly (number | null)[];
  readonly falseAlarms: number;
  /** False alarms after the warm-up (the first 20% of the first concept, while the error still falls as the model learns). */
  readonly falseAlarmsAfterWarmup: number;
}

export interface DetectorSummary {
  readonly detector: DetectorKind;
  readonly seeds: readonly DetectorSeedResult[];
  readonly meanDelay: number | null;
  readonly medianDelay: number | null;
  readonly detected: number;
  readonly drifts: number;
  readonly meanFalseAlarms: number;
  /** False alarms per 10,000 records. */
  readonly falseAlarmRate: number;
  readonly meanFalseAlarmsAfterWarmup: number;
  /** False alarms after the warm-up per 10,000 records after it. */
  readonly falseAlarmRateAfterWarmup: number;
}

export interface DriftResult {
  readonly benchmark: 'drift';
  readonly records: number;
  readonly positions: readonly number[];
  readonly seeds: readonly number[];
  readonly batchSize: number;
  /** The default model and fine-tuning schedule used. */
  readonly model: Record<string, unknown>;
  readonly warmupRecords: number;
  readonly detectors: readonly DetectorSummary[];
  /** First seed: rolling MAE of the NN, for the plot. */
  readonly errorCurve: { readonly index: number[]; readonly mae: number[] };
  readonly recordsPerSecond: number;
  readonly backend: string;
  readonly loadAverage: readonly number[];
}

export async function run(ctx: BenchContext): Promise<DriftResult> {
  const backend = await selectBackend('auto');
  const records = ctx.quick ? 6_000 : 150_000;
  const positions = ctx.quick ? [2_000, 4_000] : [50_000, 100_000];
  const seeds = ctx.quick ? [1] : [1, 2, 3];
  const batchSize = 64;
  const perSeed = new Map<DetectorKind, DetectorSeedResult[]>(KINDS.map((k) => [k, []]));
  let errorCurve: DriftResult['errorCurve'] = { index: [], mae: [] };
  let learnSeconds = 0;
  let modelSettings: Record<string, unknown> = {};
  for (const seed of seeds) {
    const stream = new FriedmanStream({ ...defaultFriedmanOptions, seed, drift: 'abrupt', driftPositions: positions, tasks: ['sensor-0'] });
    // The pipeline's default model and fine-tuning schedule, whatever they are at the time of the run.
    const { model: m, fineTune } = parsePipelineConfig({});
    const spec = { inputDim: m.inputDim, hidden: m.hidden, headHidden: m.headHidden, activation: m.activation, sigmaW2: m.sigmaW2, sigmaB2: m.sigmaB2 };
    const model = new OnlineRegressor({ spec, learningRate: m.learningRate, seed: m.seed + seed, fineTune: { ...fineTune, batchSize } });
    modelSettings = { hidden: m.hidden, learningRate: m.learningRate, fineTune };
    const moments = new RunningMoments(10);
    const detectors = KINDS.map((kind) => ({ kind, detector: createDetector({ kind }), detections: [] as number[] }));
    const errors = new Float64Array(records);
    const started = performance.now();
    for (let start = 0; start < records; start += batchSize) {
      const batch: Example[] = [];
      for (let i = start; i < Math.min(records, start + batchSize); i++) {
        const r = stream.next();
        const x = Float32Array.from(r.x);
        moments.update(x);
        moments.standardize(x, x);
        batch.push({ task: r.task, x, y: r.y, ts: i });
      }
      const predictions = model.predict(batch);
      model.learn(batch);
      batch.forEach((e, k) => {
        const error = Math.abs(predictions[k]! - e.y);
        errors[start + k] = error;
        for (const d of detectors) if (d.detector.update(error).drift) d.detections.push(start + k);
      });
      progress(`seed ${seed}: learn + detect`, start + batch.length, records);
    }
    learnSeconds += (performance.now() - started) / 1000;
    model.dispose();
    for (const d of detectors) perSeed.get(d.kind)!.push(score(seed, d.detections, positions, records));
    if (seed === seeds[0]) errorCurve = rollingMae(errors, Math.max(200, records / 100));
  }
  const detectorSummaries = KINDS.map((kind) => summarise(kind, perSeed.get(kind)!, records, WARMUP_FRACTION * positions[0]!));
  return {
    benchmark: 'drift',
    records,
    positions,
    seeds,
    batchSize,
    model: modelSettings,
    warmupRecords: WARMUP_FRACTION * positions[0]!,
    detectors: detectorSummaries,
    errorCurve,
    recordsPerSecond: (records * seeds.length) / learnSeconds,
    backend: backend.name,
    loadAverage: loadAverage(),
  };
}

function score(seed: number, detections: readonly number[], positions: readonly number[], records: number): DetectorSeedResult {
  const delays: (number | null)[] = [];
  const used = new Set<number>();
  positions.forEach((p, i) => {
    const end = positions[i + 1] ?? records;
    const hit = detections.find((t) => t >= p && t < end);
    delays.push(hit === undefined ? null : hit - p);
    if (hit !== undefined) used.add(hit);
  });
  const falseAlarms = detections.filter((t) => !used.has(t));
  const warmup = WARMUP_FRACTION * positions[0]!;
  return { seed, detections: [...detections], delays, falseAlarms: falseAlarms.length, falseAlarmsAfterWarmup: falseAlarms.filter((t) => t >= warmup).length };
}

function summarise(detector: DetectorKind, seeds: readonly DetectorSeedResult[], records: number, warmup: number): DetectorSummary {
  const delays = seeds.flatMap((s) => s.delays).filter((d): d is number => d !== null);
  const sorted = [...delays].sort((a, b) => a - b);
  const falseAlarms = seeds.reduce((a, s) => a + s.falseAlarms, 0);
  const lateFalseAlarms = seeds.reduce((a, s) => a + s.falseAlarmsAfterWarmup, 0);
  return {
    detector,
    seeds,
    meanDelay: delays.length ? delays.reduce((a, b) => a + b, 0) / delays.length : null,
    medianDelay: sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : null,
    detected: delays.length,
    drifts: seeds.reduce((a, s) => a + s.delays.length, 0),
    meanFalseAlarms: falseAlarms / seeds.length,
    falseAlarmRate: (falseAlarms / (records * seeds.length)) * 10_000,
    meanFalseAlarmsAfterWarmup: lateFalseAlarms / seeds.length,
    falseAlarmRateAfterWarmup: (lateFalseAlarms / ((records - warmup) * seeds.length)) * 10_000,
  };
}

function rollingMae(errors: Float64Array, window: number): DriftResult['errorCurve'] {
  const index: number[] = [];
  const mae: number[] = [];
  let sum = 0;
  for (let i = 0; i < errors.length; i++) {
    sum += errors[i]!;
    if (i >= window) sum -= errors[i - window]!;
    if (i >= window - 1) {
      index.push(i + 1);
      mae.push(sum / window);
    }
  }
  const keep = downsample(index.map((_, i) => i), 400);
  return { index: keep.map((i) => index[i]!), mae: keep.map((i) => mae[i]!) };
}
