import type { OnlineModel } from '../model/online-model.js';
import type { RobustBand } from '../model/robust-band.js';
import type { RunningMoments } from '../model/running-moments.js';
import type { Query } from '../spec/example.js';

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

/** The parts of a learning session the predictor reads, never writes. */
export interface ServingModel {
  readonly featureMoments: RunningMoments;
  /** The scale stage's band for outlying features, applied the same way here. */
  readonly featureBand: RobustBand;
  readonly network: OnlineModel & { hasTask(task: string): boolean };
  readonly baseline: OnlineModel | undefined;
  modelVersion(): number;
}

/**
 * Predictions from the current model for records that arrive outside the
 * stream. It runs synchronously in one turn of the event loop, and learning
 * hands the loop back only between two whole updates (stepwise.ts), so it
 * never reads a tensor half written; during a minibatch it may read the
 * network after its step and the GP before its update, or a trunk part-way
 * through a fine-tuning phase.
 * Features are clipped and standardised with the feature moments as they
 * are, as the scale stage does for unlabeled records, without updating them: a request never changes what the model has learned.
 */
export function predictCurrent(model: ServingModel, queries: readonly Query[]): ServedPredictions {
  const known: Query[] = [];
  const rows: number[] = [];
  queries.forEach((query, i) => {
    if (!model.network.hasTask(query.task)) return;
    const x = Float32Array.from(query.x);
    model.featureBand.clip(x);
    model.featureMoments.standardize(x, x);
    known.push({ task: query.task, x, ts: query.ts });
    rows.push(i);
  });
  const network = model.network.predict(known);
  const baseline = model.baseline?.predictWithUncertainty?.(known);
  const predictions: ServedPrediction[] = queries.map((q) => ({ task: q.task, known: false, nn: null, ntkgp: null }));
  rows.forEach((row, k) => {
    predictions[row] = {
      task: queries[row]!.task,
      known: true,
      nn: network[k]!,
      ntkgp: baseline ? { mean: baseline.mean[k]!, sd: baseline.standardDeviation[k]! } : null,
    };
  });
  return { modelVersion: model.modelVersion(), predictions };
}
