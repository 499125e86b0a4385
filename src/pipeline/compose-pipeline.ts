import type { OperatorFunction } from 'rxjs';
import type { RunningMoments } from '../model/running-moments.js';
import type { OnlineModel } from '../model/online-model.js';
import { admitTasks, type TaskAdmission } from './admit-tasks.js';
import { batch, type BatchOptions } from './batch.js';
import { commit, type OffsetCommitter } from './commit.js';
import { deadLetter } from './dead-letter.js';
import { decode } from './decode.js';
import type { DecodeOptions } from './decode-record.js';
import { learn } from './learn.js';
import { observe, type BatchObserver } from './observe.js';
import type { LearnedBatch, Rejected, SourceRecord } from './records.js';
import { scale } from './scale.js';
import { score } from './score.js';

export interface PipelineParts {
  readonly decode: DecodeOptions;
  readonly admission: TaskAdmission;
  readonly featureMoments: RunningMoments;
  readonly batch: BatchOptions;
  /** The network first, then baselines; all score before any learns. */
  readonly models: readonly OnlineModel[];
  readonly observers: readonly BatchObserver[];
  readonly publishDeadLetters: (rejected: readonly Rejected[]) => Promise<void>;
  readonly committer: OffsetCommitter;
  /** Told about each batch once it is committed. */
  readonly committedObservers: readonly BatchObserver[];
}

/** The one place the stages are composed, left to right as in DESIGN §1. */
export function learningPipeline(parts: PipelineParts): OperatorFunction<SourceRecord, LearnedBatch> {
  // Two pipes because rxjs types at most nine operators in one.
  return (records) =>
    records
      .pipe(
        decode(parts.decode),
        admitTasks(parts.admission),
        scale(parts.featureMoments),
        batch(parts.batch),
        score(parts.models),
        learn(parts.models),
        observe(parts.observers),
      )
      .pipe(
        deadLetter<LearnedBatch>(parts.publishDeadLetters),
        commit<LearnedBatch>(parts.committer),
        observe(parts.committedObservers),
      );
}
