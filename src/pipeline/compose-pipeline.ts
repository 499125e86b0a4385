import { firstValueFrom, mergeMap, of, pipe, type Observable, type OperatorFunction } from 'rxjs';
import type { OnlineModel, ReplayProgress } from '../model/online-model.js';
import type { TaskAdmission } from '../model/task-registry.js';
import { admitTasks } from './admit-tasks.js';
import { batch, type BatchOptions } from './batch.js';
import { commit, type OffsetCommitter } from './commit.js';
import { deadLetter } from './dead-letter.js';
import { decode } from './decode.js';
import type { DecodeOptions } from './decode-record.js';
import { learn } from './learn.js';
import type { LearningTurns } from './learning-turns.js';
import { observe, type BatchObserver } from './observe.js';
import { payOwedReplay, type OwedReplay } from './pay-owed-replay.js';
import type { StreamPosition } from '../checkpoint/stream-position.js';
import { checkpoint, persistCheckpoint, type CheckpointPolicy } from './checkpoint.js';
import type { Batch, CheckpointedBatch, Rejected, SourceRecord } from './records.js';
import type { PredictionColumns } from './prediction.js';
import { publish } from './publish.js';
import { UnstoredCheckpoints } from './unstored-checkpoints.js';
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
  readonly publishPredictions: (predictions: PredictionColumns) => Promise<void>;
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
  /** A minibatch from scaling to its checkpoint capture is one turn; the source waits while one runs. */
  readonly turns: LearningTurns;
  /** Deferred fine-tuning (idle-replay.ts): the model owing replay steps, paid before a batch is scored, and who is told. */
  readonly owedReplay?: { readonly model: OwedReplay; readonly replayed: (progress: ReplayProgress) => void };
  /** Hands the event loop back between two models and two whole updates of a model. */
  readonly pause: () => Promise<void>;
}

/**
 * The one place the stages are composed, left to right as in DESIGN §1
 * (except that scaling follows batching: see scale.ts).
 */
export function learningPipeline<S>(parts: PipelineParts<S>): OperatorFunction<SourceRecord, CheckpointedBatch<S>> {
  // From scaling to the checkpoint capture, a minibatch is one turn (learning-turns.ts): it hands the event loop back
  // between its steps, and nothing else touches the learning state until its state is captured, exactly between two batches.
  const owed = parts.owedReplay;
  const unstored = new UnstoredCheckpoints();
  const learnOneBatch = pipe(
    owed ? payOwedReplay<Batch>(owed.model, parts.pause, owed.replayed) : (batches: Observable<Batch>) => batches,
    scale(parts.scaling),
    score(parts.models, parts.modelVersion, parts.scoreUncertainty, parts.pause),
    learn(parts.models, parts.pause),
    observe(parts.observers),
    checkpoint(parts.position, parts.checkpointPolicy),
  );
  return (records) =>
    records
      .pipe(
        decode(parts.decode),
        skipLearned(parts.skip.learned, parts.skip.released),
        admitTasks(parts.admission),
        batch(parts.batch),
        // mergeMap asks for the turn the moment the batch closes (the turns run in that order, one at a time).
        mergeMap((closed) => parts.turns.run(() => firstValueFrom(of(closed).pipe(learnOneBatch)))),
      )
      .pipe(
        // Predictions (computed by score, before learning) and rejects are out before the checkpoint that covers them
        // is stored and its offsets committed; sent here, after the turn, so learning never waits on the broker.
        publish(parts.publishPredictions, unstored),
        deadLetter(parts.publishDeadLetters),
        persistCheckpoint(parts.storeCheckpoint, unstored),
        commit<CheckpointedBatch<S>>(parts.committer),
        observe(parts.committedObservers),
      );
}
