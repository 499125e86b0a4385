import { concatMap, type OperatorFunction } from 'rxjs';
import type { Batch } from './records.js';

export interface OffsetCommitter {
  commit(nextOffsets: Iterable<{ topic: string; partition: number; offset: string }>): Promise<void>;
  /** Records have left the pipeline (releases backpressure). */
  completed(count: number): void;
}

/**
 * Stage: commits each batch's next offsets once it is learned (and its bad
 * records dead-lettered). Batches arrive in order, so commits are monotonic.
 */
export function commit<B extends Batch>(committer: OffsetCommitter): OperatorFunction<B, B> {
  return concatMap(async (batch) => {
    await committer.commit(batch.nextOffsets.values());
    committer.completed(batch.accepted.length + batch.rejected.length);
    return batch;
  });
}
