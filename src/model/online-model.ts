import type { Example } from '../pipeline/records.js';

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

/**
 * The uniform interface of every online model (River's learn/predict, per
 * minibatch): predict a batch first, then learn from it.
 */
export interface OnlineModel {
  readonly model: ModelName;
  predict(examples: readonly Example[]): Float32Array;
  learn(examples: readonly Example[]): LearnResult;
}
