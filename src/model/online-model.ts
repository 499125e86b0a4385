import type { Example, Query } from '../pipeline/records.js';

export type ModelName = 'nn' | 'ntkgp';

export interface FineTunePhase {
  readonly steps: number;
  readonly rejectedSteps: number;
  readonly seconds: number;
}

export interface LearnResult {
  /** False when the numerical guard rejected the step: weights unchanged. */
  readonly applied: boolean;
  /** Training loss before the step, in the model's own units. */
  readonly loss: number;
  /** Present when the batch triggered a fine-tuning phase of the trunk. */
  readonly fineTune?: FineTunePhase;
}

/** Predictions in target units with the predictive standard deviation of y. */
export interface PredictiveDistribution {
  readonly mean: Float32Array;
  readonly standardDeviation: Float32Array;
}

/**
 * The uniform interface of every online model (River's learn/predict, per
 * minibatch): predict a batch first, then learn from it. Predicting never
 * changes what the model has learned.
 */
export interface OnlineModel {
  readonly model: ModelName;
  predict(queries: readonly Query[]): Float32Array;
  /** Models with a predictive distribution (the NTK-GP) give its mean and standard deviation. */
  predictWithUncertainty?(queries: readonly Query[]): PredictiveDistribution;
  learn(examples: readonly Example[]): LearnResult;
}
