import type { Example, Query } from '../spec/example.js';
import type { Stepwise } from './stepwise.js';

export type ModelName = 'nn' | 'ntkgp';

/** The field a model's state is stored under, in a checkpoint and in a task's state: the names are the checkpoint format's. */
export type ModelStateField = 'network' | 'ntkgp';

export interface FineTunePhase {
  readonly steps: number;
  /** A rejected step ends the phase: the trunk goes back to where the phase found it and η halves. */
  readonly rejectedSteps: number;
  readonly seconds: number;
  /** Set when a rejected step halved η: the new factor on it. */
  readonly learningRateScale?: number;
}

/**
 * Replay steps that ran in one turn when phases are owed rather than run whole (deferred: see
 * OnlineRegressor.deferredReplay): phases begun, steps taken, and the phases whose last step ran.
 */
export interface ReplayProgress {
  readonly phasesBegun: number;
  readonly steps: number;
  readonly rejectedSteps: number;
  /** The steps' own time, not the yields between them. */
  readonly seconds: number;
  /** Each with its steps and seconds over all the turns it ran in. */
  readonly phasesEnded: readonly FineTunePhase[];
  /** Set when a rejected step halved η: the new factor on it. */
  readonly learningRateScale?: number;
}

/** The η a step used for one task's head, and its stability margin η·(λ'_max + λ'_min)/2 (NaN when not estimated). */
export interface TaskLearningRate {
  readonly task: string;
  readonly learningRate: number;
  readonly margin: number;
}

/** What the divergence protection did after repeated rejected steps. */
export interface LearningRateBackoff {
  readonly rejectedInARow: number;
  /** Rejected steps since the model was created (checkpoints excluded). */
  readonly rejectedSteps: number;
  /** The factor on η from now on. */
  readonly learningRateScale: number;
  /** Tasks whose heads started over. */
  readonly resetTasks: readonly string[];
}

export interface LearnResult {
  /** False when the numerical guard rejected the step: weights unchanged. */
  readonly applied: boolean;
  /** Training loss before the step, in the model's own units. */
  readonly loss: number;
  /** Present when the batch triggered a fine-tuning phase of the trunk, run whole in the batch's turn. */
  readonly fineTune?: FineTunePhase;
  /** Deferred phases instead: the phase the batch began and the owed steps its turn paid. */
  readonly replay?: ReplayProgress;
  /** The network's η per task of the batch. */
  readonly learningRates?: readonly TaskLearningRate[];
  readonly backoff?: LearningRateBackoff;
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
  /** Scoring that is long enough to hand the event loop back: {@link predict} (or with its uncertainty) in steps. */
  scoreInSteps?(queries: readonly Query[], withUncertainty: boolean): Stepwise<PredictiveDistribution>;
  learn(examples: readonly Example[]): LearnResult;
  /** The same learning as {@link learn}, with a yield between two whole updates (see stepwise.ts). */
  learnInSteps(examples: readonly Example[]): Stepwise<LearnResult>;
  /** Where its state sits in a checkpoint (`LearningState`) and in each task's state (`TaskState`). */
  readonly stateField: ModelStateField;
  /** Its whole state, for a checkpoint: the model is built back from it. */
  toJSON(): unknown;
  /** One task's part of its state (what moves with the task's partition); undefined when it holds none. */
  taskState(task: string): unknown;
  /** Replaces what it holds for a task with a saved state of its own kind (from {@link taskState}); null: holds nothing for it. */
  loadTask(task: string, state: unknown): void;
  forgetTask(task: string): void;
  /** Releases what it holds outside the JavaScript heap (tensors). */
  dispose?(): void;
}
