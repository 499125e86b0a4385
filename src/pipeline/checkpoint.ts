import { concatMap, map, type OperatorFunction } from 'rxjs';
import type { StreamPosition } from '../checkpoint/stream-position.js';
import type { CheckpointedBatch, LearnedBatch } from './records.js';
import type { UnstoredCheckpoints } from './unstored-checkpoints.js';

export interface CheckpointPolicy<S> {
  readonly everyBatches: number;
  readonly intervalMs: number;
  /** A copy of the whole learning state, taken between two batches. */
  capture(): S;
  readonly now?: () => number;
}

/**
 * Stage: advances the stream position and, every `everyBatches` batches or
 * `intervalMs`, captures the learning state right here — synchronously,
 * between two batches, so the state holds exactly the records up to the
 * position's offsets. Writing it happens later, in `persistCheckpoint`.
 */
export function checkpoint<S>(position: StreamPosition, policy: CheckpointPolicy<S>): OperatorFunction<LearnedBatch, CheckpointedBatch<S>> {
  const now = policy.now ?? Date.now;
  let batchesSince = 0;
  let lastAt = now();
  return map((batch) => {
    position.advance(batch);
    batchesSince += 1;
    const due =
      (policy.everyBatches > 0 && batchesSince >= policy.everyBatches) ||
      (policy.intervalMs > 0 && now() - lastAt >= policy.intervalMs);
    if (!due) return batch;
    batchesSince = 0;
    lastAt = now();
    return { ...batch, checkpoint: { state: policy.capture(), offsets: position.toJSON().offsets, capturedAt: lastAt } };
  });
}

/** Stage: stores the captured state (atomically) before anything downstream commits its offsets. */
export function persistCheckpoint<S>(store: (state: S) => Promise<void> | void, unstored: UnstoredCheckpoints): OperatorFunction<CheckpointedBatch<S>, CheckpointedBatch<S>> {
  return concatMap(async (batch) => {
    if (batch.checkpoint) {
      await store(batch.checkpoint.state);
      unstored.stored();
    }
    return batch;
  });
}
