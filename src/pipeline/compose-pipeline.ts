import type { OperatorFunction } from 'rxjs';
import type { OnlineModel } from '../model/online-model.js';
import { admitTasks, type TaskAdmission } from './admit-tasks.js';
import { batch, type BatchOptions } from './batch.js';
import { commit, type OffsetCommitter } from './commit.js';
import { deadLetter } from './dead-letter.js';
import { decode } from './decode.js';
import type { DecodeOptions } from './decode-record.js';
import { learn } from './learn.js';
import { observe, type BatchObserver } from './observe.js';
import type { StreamPosition } from '../checkpoint/stream-position.js';
import { checkpoint, persistCheckpoint, type CheckpointPolicy } from './checkpoint.js';
import type { CheckpointedBatch, Rejected, SourceRecord } from './records.js';
import type { Prediction } from './prediction.js';
import { publish } from './publish.js';
import { scale, type ScaleParts } from './scale.js';
import { score } from './score.js';
import { skipLearned, type LearnedRecords } from './skip-learned.js';

export interface PipelineParts<S> {
  readonly decode: DecodeOptions;
  /** Records already in a restored task state, and where their flow-control slot goes back. */
  readonly skip: { readonly learned: LearnedRecords; readonly released: (count: number) => void };
  readonly admission: TaskAdmission;
  readonly scaling: ScaleParts;
  readonly batch: BatchOptions;
  /** The network first, then baselines; all score before any learns. */
  readonly models: readonly OnlineModel[];
  readonly observers: readonly BatchObserver[];
  readonly publishDeadLetters: (rejected: readonly Rejected[]) => Promise<void>;
  /** Sends a batch's predictions; resolves once the broker has them. */
  readonly publishPredictions: (predictions: readonly Prediction[]) => Promise<void>;
  /** What a prediction reports as its model version (minibatches learned so far). */
  readonly modelVersion: () => number;
  /** Score with the NTK-GP's standard deviation for every record (needed only when predictions are published). */
  readonly scoreUncertainty: boolean;
  readonly position: StreamPosition;
  readonly checkpointPolicy: CheckpointPolicy<S>;
  readonly storeCheckpoint: (state: S) => Promise<void> | void;
  readonly committer: OffsetCommitter;
  /** Told about each batch once it is committed. */
  readonly committedObservers: readonly BatchObserver[];
}

/**
 * The one place the stages are composed, left to right as in DESIGN §1
 * (except that scaling follows batching: see scale.ts).
 */
export function learningPipeline<S>(parts: PipelineParts<S>): OperatorFunction<SourceRecord, CheckpointedBatch<S>> {
  // Two pipes because rxjs types at most nine operators in one; the first is synchronous, the second not.
  return (records) =>
    records
      .pipe(
        decode(parts.decode),
        skipLearned(parts.skip.learned, parts.skip.released),
        admitTasks(parts.admission),
        batch(parts.batch),
        scale(parts.scaling),
        score(parts.models, parts.modelVersion, parts.scoreUncertainty),
        learn(parts.models),
        observe(parts.observers),
        // Captured here, in the synchronous part, so the state sits exactly between two batches.
        checkpoint(parts.position, parts.checkpointPolicy),
      )
      .pipe(
        // Predictions (computed by score, before learning) and rejects are out before the checkpoint that covers them
        // is stored and its offsets committed; sent here, off the synchronous part, so learning never waits on the broker.
        publish(parts.publishPredictions),
        deadLetter(parts.publishDeadLetters),
        persistCheckpoint(parts.storeCheckpoint),
        commit<CheckpointedBatch<S>>(parts.committer),
        observe(parts.committedObservers),
      );
}
