import { concatMap, type OperatorFunction } from 'rxjs';
import { predictionsOf, type Prediction } from './prediction.js';
import type { LearnedBatch } from './records.js';

/**
 * Stage: publishes every scored record's prediction, and resolves only once
 * the broker has them, so a batch's predictions are always out before its
 * offsets are committed (at-least-once; identical duplicates after a crash,
 * see docs/reliability.md).
 */
export function publish<B extends LearnedBatch>(send: (predictions: readonly Prediction[]) => Promise<void>): OperatorFunction<B, B> {
  return concatMap(async (batch) => {
    if (batch.accepted.length + batch.unlabeled.length > 0) await send(predictionsOf(batch));
    return batch;
  });
}
