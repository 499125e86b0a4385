import { concatMap, type OperatorFunction } from 'rxjs';
import type { Batch, Rejected } from './records.js';

/**
 * Stage: publishes the batch's rejected records before the batch is
 * committed, so a bad record is never committed without being kept.
 */
export function deadLetter<B extends Batch>(publish: (rejected: readonly Rejected[]) => Promise<void>): OperatorFunction<B, B> {
  return concatMap(async (batch) => {
    if (batch.rejected.length > 0) await publish(batch.rejected);
    return batch;
  });
}
