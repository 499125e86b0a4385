import { concatMap, map, pipe, type OperatorFunction } from 'rxjs';
import { predictionColumnsOf, type PredictionColumns } from './prediction.js';
import type { CheckpointedBatch } from './records.js';
import type { UnstoredCheckpoints } from './unstored-checkpoints.js';

/**
 * Stage: publishes every scored record's prediction, and passes a batch on
 * only once the broker has them, so a batch's predictions are always out
 * before its offsets are committed (at-least-once; identical duplicates after
 * a crash, see docs/reliability.md). Each batch's send starts as the batch
 * arrives, while earlier ones may still be out, unless a checkpoint captured
 * before it is not stored yet (unstored-checkpoints.ts); batches pass on in
 * order.
 */
export function publish<B extends CheckpointedBatch>(send: (predictions: PredictionColumns) => Promise<void>, unstored: UnstoredCheckpoints): OperatorFunction<B, B> {
  return pipe(
    map((batch) => {
      const sent = batch.accepted.length + batch.unlabeled.length > 0 ? unstored.allStored().then(() => send(predictionColumnsOf(batch))) : undefined;
      if (batch.checkpoint) unstored.captured();
      // Awaited in turn below; until then a failure must not count as unhandled.
      sent?.catch(() => undefined);
      return { batch, sent };
    }),
    concatMap(async ({ batch, sent }) => {
      await sent;
      return batch;
    }),
  );
}
