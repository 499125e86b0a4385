import { concatMap, type MonoTypeOperatorFunction } from 'rxjs';
import type { ReplayProgress } from '../model/online-model.js';
import { runInTurns, type Stepwise } from '../model/stepwise.js';

/** A model whose deferred fine-tuning phases may still owe replay steps when a batch arrives. */
export interface OwedReplay {
  /** What the next batch must see paid before it is scored (OnlineRegressor.overlapNewestPhase). */
  readonly replayOwedBeforeScoring: number;
  payOwedInSteps(): Stepwise<ReplayProgress>;
}

/**
 * Stage, first in a batch's learning turn: pays the replay steps that
 * deferred phases still owe (those the time between batches did not pay,
 * see idle-replay.ts), handing the event loop back at `pause` between two,
 * so the batch is scored by the model that has learned every phase before
 * it, as when phases run whole in their batches (with lingerMs > 0 the newest
 * phase may overlap the batch instead: OnlineRegressor.overlapNewestPhase). On a
 * backlog, where batches leave no time between them, phases are paid here, in the same order.
 */
export function payOwedReplay<T>(model: OwedReplay, pause: () => Promise<void>, replayed: (progress: ReplayProgress) => void): MonoTypeOperatorFunction<T> {
  return concatMap(async (batch) => {
    if (model.replayOwedBeforeScoring > 0) replayed(await runInTurns(model.payOwedInSteps(), pause));
    return batch;
  });
}
