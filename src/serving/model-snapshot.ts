import type { EffectiveDense } from '../model/effective-dense.js';
import { PosteriorSolver, posteriorAt, type GpPosterior } from '../ntk/gp-posterior.js';

/** A dense layer of a snapshot (model/effective-dense.ts). */
export type DenseSnapshot = EffectiveDense;

/** One task's part of a snapshot: its head and target moments, and its NTK-GP. */
export interface TaskSnapshot {
  readonly task: string;
  /** Hidden layers (ReLU) then the one-unit read-out. */
  readonly head: readonly DenseSnapshot[];
  readonly targetMean: number;
  readonly targetStd: number;
  /** The task's NTK-GP with its own target moments; null with the baseline off or no GP for the task. */
  readonly gp: { readonly posterior: GpPosterior; readonly targetMean: number; readonly targetStd: number } | null;
}

/**
 * The model as it stood between two minibatches, as plain typed arrays: what
 * `POST /predict` answers from (take-snapshot.ts takes it on the learning
 * thread, the serving thread predicts from it). Immutable once taken.
 */
export interface ModelSnapshot {
  /** Minibatches learned when it was taken. */
  readonly modelVersion: number;
  readonly inputDim: number;
  /** The scale stage's band: features are clipped to [low, high] (±∞ before it applies), then standardised. */
  readonly featureLow: Float64Array;
  readonly featureHigh: Float64Array;
  readonly featureMean: Float64Array;
  readonly featureStd: Float64Array;
  /** Hidden layers (ReLU). */
  readonly trunk: readonly DenseSnapshot[];
  readonly tasks: ReadonlyMap<string, TaskSnapshot>;
}

/** What `POST /predict` answers for one record. */
export interface ServedPrediction {
  readonly task: string;
  /** False when the model has never scored a record of this task: no head yet, nothing to predict with. */
  readonly known: boolean;
  /** The network's prediction of y; null for an unknown task. */
  readonly nn: number | null;
  /** The NTK-GP's predictive mean and standard deviation of y; null for an unknown task or with the baseline off. */
  readonly ntkgp: { readonly mean: number; readonly sd: number } | null;
}

export interface ServedPredictions {
  /** Minibatches the model had learned when it answered. */
  readonly modelVersion: number;
  readonly predictions: readonly ServedPrediction[];
}

/** `relu?(a·W + b)` as tfjs rounds it: the product to float32 (summed here in float64), then the bias added in float32. */
function dense(layer: DenseSnapshot, input: Float32Array, relu: boolean): Float32Array {
  const out = new Float32Array(layer.width);
  const { weight, bias, fanIn, width } = layer;
  for (let j = 0; j < width; j++) {
    let sum = 0;
    for (let i = 0; i < fanIn; i++) sum += input[i]! * weight[i * width + j]!;
    const value = Math.fround(Math.fround(sum) + bias[j]!);
    out[j] = relu && value < 0 ? 0 : value;
  }
  return out;
}

/**
 * Both models' predictions from a snapshot, as the pipeline scores an
 * unlabeled record: features clipped to the band and standardised with the
 * moments into float32 (as the scale stage does), the network's output
 * de-standardised with the task's target moments, the NTK-GP's mean and
 * predictive standard deviation (latent variance plus noise) likewise. The
 * GP's numbers are the pipeline's bit for bit; the network's agree to float32
 * rounding (tfjs accumulates its sums in float32, here in float64).
 * `solvers` (per task) keep each task's factor in the triangular kernels'
 * heap between calls: a long-lived caller passes the same map every time.
 */
export function predictFromSnapshot(
  snapshot: ModelSnapshot,
  queries: readonly { readonly task: string; readonly x: ArrayLike<number> }[],
  solvers: Map<string, PosteriorSolver> = new Map(),
): ServedPredictions {
  const dim = snapshot.inputDim;
  const predictions = queries.map((query): ServedPrediction => {
    const task = snapshot.tasks.get(query.task);
    if (!task) return { task: query.task, known: false, nn: null, ntkgp: null };
    const x = Float32Array.from(query.x);
    for (let i = 0; i < dim; i++) {
      if (x[i]! < snapshot.featureLow[i]!) x[i] = snapshot.featureLow[i]!;
      else if (x[i]! > snapshot.featureHigh[i]!) x[i] = snapshot.featureHigh[i]!;
    }
    for (let i = 0; i < dim; i++) x[i] = (x[i]! - snapshot.featureMean[i]!) / snapshot.featureStd[i]!;
    let activations: Float32Array = x;
    for (const layer of snapshot.trunk) activations = dense(layer, activations, true);
    task.head.forEach((layer, i) => (activations = dense(layer, activations, i < task.head.length - 1)));
    const nn = Math.fround(task.targetMean + task.targetStd * activations[0]!);
    let ntkgp: ServedPrediction['ntkgp'] = null;
    if (task.gp) {
      const { posterior, targetMean, targetStd } = task.gp;
      let solver = solvers.get(query.task);
      if (!solver) solvers.set(query.task, (solver = new PosteriorSolver()));
      const { mean, variance } = posteriorAt(posterior, Float64Array.from(x), solver);
      ntkgp = { mean: Math.fround(targetMean + targetStd * mean), sd: Math.fround(targetStd * Math.sqrt(variance + posterior.noise)) };
    }
    return { task: query.task, known: true, nn, ntkgp };
  });
  return { modelVersion: snapshot.modelVersion, predictions };
}
