import { concatMap, type OperatorFunction } from 'rxjs';
import type { CheckpointedBatch } from './records.js';

export interface OffsetCommitter {
  commit(nextOffsets: Iterable<{ topic: string; partition: number; offset: string }>): Promise<void>;
  /** Records have left the pipeline (releases backpressure). */
  completed(count: number): void;
}

/**
 * Stage: tells Kafka the offsets of each stored checkpoint, so Kafka's
 * commits follow checkpoints and never lead them (they serve lag monitoring
 * and consumers without a checkpoint). Every batch, checkpointed or not,
 * then leaves the pipeline's flow control.
 */
export function commit<B extends CheckpointedBatch>(committer: OffsetCommitter): OperatorFunction<B, B> {
  return concatMap(async (batch) => {
    if (batch.checkpoint) await committer.commit(batch.checkpoint.offsets);
    committer.completed(batch.accepted.length + batch.unlabeled.length + batch.rejected.length);
    return batch;
  });
}
