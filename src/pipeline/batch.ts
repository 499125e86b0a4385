import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { offsetAfter } from './offset-order.js';
import type { Accepted, Batch, Decoded, Rejected, SourceCoordinates, Unlabeled } from './records.js';

export interface BatchOptions {
  /** Records (good and bad) per batch: batches are cut by count, so a replay forms the same ones. */
  readonly size: number;
  /**
   * Flush a partial batch this long after its first record, bounding the
   * latency of a slow stream; 0 = never (deterministic replay).
   */
  readonly lingerMs: number;
  /**
   * Cold start: the stream's k-th batch (counting from 0 over the whole
   * stream, restarts included) holds min(size, 2^k) records, so the models
   * take their first steps after 1, 2, 4, ... records instead of after a
   * whole batch.
   */
  readonly warmup?: boolean;
  /** Batches the stream has formed before this subscription (from the checkpoint), for the warm-up sizes. */
  readonly formedBefore?: number;
  readonly scheduler?: SchedulerLike;
}

/** The size of the stream's `index`-th batch. */
export function batchSizeAt(index: number, options: Pick<BatchOptions, 'size' | 'warmup'>): number {
  if (!options.warmup || index >= 31) return options.size;
  return Math.min(options.size, 2 ** index);
}

/**
 * Stage: cuts the decoded stream into minibatches of `size` records in
 * arrival order, remembering the next offset of every partition it covers.
 */
export function batch(options: BatchOptions): OperatorFunction<Decoded, Batch> {
  const scheduler = options.scheduler ?? asyncScheduler;
  return (source) =>
    new Observable<Batch>((subscriber) => {
      let sequence = 0;
      let accepted: Accepted[] = [];
      let unlabeled: Unlabeled[] = [];
      let rejected: Rejected[] = [];
      // Per "topic:partition", its newest record: the next offsets are worked out once per batch, not per record.
      let newest = new Map<string, SourceCoordinates>();
      let linger: Subscription | undefined;

      const flush = (): void => {
        linger?.unsubscribe();
        linger = undefined;
        if (accepted.length + unlabeled.length + rejected.length === 0) return;
        const nextOffsets = new Map<string, { topic: string; partition: number; offset: string }>();
        for (const [key, { topic, partition, offset }] of newest) nextOffsets.set(key, { topic, partition, offset: offsetAfter(offset) });
        const closed: Batch = { sequence: sequence++, accepted, unlabeled, rejected, nextOffsets, formedAt: scheduler.now() };
        accepted = [];
        unlabeled = [];
        rejected = [];
        newest = new Map();
        subscriber.next(closed);
      };

      const subscription = source.subscribe({
        next: (decoded) => {
          if (!decoded.ok) rejected.push(decoded);
          else if (decoded.labeled) accepted.push(decoded);
          else unlabeled.push(decoded);
          newest.set(`${decoded.source.topic}:${decoded.source.partition}`, decoded.source);
          if (accepted.length + unlabeled.length + rejected.length >= batchSizeAt((options.formedBefore ?? 0) + sequence, options)) flush();
          else if (options.lingerMs > 0 && linger === undefined) linger = scheduler.schedule(flush, options.lingerMs);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          flush();
          subscriber.complete();
        },
      });

      return () => {
        linger?.unsubscribe();
        subscription.unsubscribe();
      };
    });
}
