import type { ModelName, ReplayProgress } from '../model/online-model.js';
import type { BatchObserver } from '../pipeline/observe.js';
import { observedTarget, type LearnedBatch, type RejectReason } from '../pipeline/records.js';

/** Whole-stream prequential error of one (task, model), in target units. */
export interface PrequentialTotals {
  readonly task: string;
  readonly model: ModelName;
  /** Records scored: every one counts, finite or not. */
  readonly records: number;
  /** Records whose prediction was not a finite number. */
  readonly nonFinite: number;
  /** Mean |prediction − target| over all records: +Infinity as soon as one prediction was not finite. */
  readonly mae: number;
  readonly rmse: number;
}

interface ErrorSums {
  readonly task: string;
  readonly model: ModelName;
  records: number;
  nonFinite: number;
  absolute: number;
  squared: number;
}

/**
 * The one count of what the consumer did since it started: records learned
 * and dead-lettered, rejected steps, and each (task, model)'s whole-stream
 * prequential error. The metrics, the progress line, the stop log and the
 * `--until-end` summary all read these numbers, so they cannot disagree.
 */
export class StreamTotals implements BatchObserver {
  learned = 0;
  /** Records without a label: scored and their predictions published, never learned. */
  unlabeled = 0;
  deadLettered = 0;
  readonly deadLetters = new Map<RejectReason, number>();
  readonly rejectedSteps = new Map<ModelName, number>();
  private readonly errors = new Map<string, ErrorSums>();

  /** Replay steps of deferred phases, in a batch's turn or one of their own (pipeline/idle-replay.ts). */
  replayed(model: ModelName, progress: ReplayProgress): void {
    this.rejectedSteps.set(model, (this.rejectedSteps.get(model) ?? 0) + progress.rejectedSteps);
  }

  observe(batch: LearnedBatch): void {
    this.learned += batch.accepted.length;
    this.unlabeled += batch.unlabeled.length;
    for (const learned of batch.learned) {
      const rejected = (learned.applied ? 0 : 1) + (learned.fineTune?.rejectedSteps ?? 0);
      this.rejectedSteps.set(learned.model, (this.rejectedSteps.get(learned.model) ?? 0) + rejected);
      if (learned.replay) this.replayed(learned.model, learned.replay);
    }
    for (const { model, predictions } of batch.scores) {
      batch.accepted.forEach((record, i) => {
        const sums = this.sums(record.example.task, model);
        sums.records += 1;
        const error = predictions[i]! - observedTarget(record);
        if (!Number.isFinite(error * error)) {
          sums.nonFinite += 1;
          return;
        }
        sums.absolute += Math.abs(error);
        sums.squared += error * error;
      });
    }
  }

  /** After the batch's dead letters are published: only then do they count as dead-lettered. */
  published(batch: LearnedBatch): void {
    this.deadLettered += batch.rejected.length;
    for (const { reason } of batch.rejected) this.deadLetters.set(reason, (this.deadLetters.get(reason) ?? 0) + 1);
  }

  private sums(task: string, model: ModelName): ErrorSums {
    const key = `${model}\u0000${task}`;
    let sums = this.errors.get(key);
    if (!sums) this.errors.set(key, (sums = { task, model, records: 0, nonFinite: 0, absolute: 0, squared: 0 }));
    return sums;
  }

  /** Per (task, model), in first-seen order. */
  prequential(): PrequentialTotals[] {
    return [...this.errors.values()].map(summarise);
  }

  /** Per model, over all its tasks' records. */
  prequentialByModel(): Omit<PrequentialTotals, 'task'>[] {
    const byModel = new Map<ModelName, ErrorSums>();
    for (const s of this.errors.values()) {
      const total = byModel.get(s.model) ?? { task: '', model: s.model, records: 0, nonFinite: 0, absolute: 0, squared: 0 };
      total.records += s.records;
      total.nonFinite += s.nonFinite;
      total.absolute += s.absolute;
      total.squared += s.squared;
      byModel.set(s.model, total);
    }
    return [...byModel.values()].map(({ task: _task, ...rest }) => {
      const { task: _ignored, ...summary } = summarise({ ...rest, task: '' });
      return summary;
    });
  }
}

function summarise(s: ErrorSums): PrequentialTotals {
  const finite = s.records - s.nonFinite;
  const mean = (sum: number): number => (s.nonFinite > 0 ? Number.POSITIVE_INFINITY : finite > 0 ? sum / finite : Number.NaN);
  return { task: s.task, model: s.model, records: s.records, nonFinite: s.nonFinite, mae: mean(s.absolute), rmse: Math.sqrt(mean(s.squared)) };
}
