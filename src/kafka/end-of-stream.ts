import type { Admin } from 'kafkajs';
import { retrying } from './retrying.js';

/** Per partition: where learning starts and the end offset it must reach. */
export interface PartitionSpan {
  readonly partition: number;
  /** The first offset this run would learn if nothing was learned since the checkpoint. */
  readonly start: bigint;
  /** The partition's end offset (high-water mark) when the consumer started. */
  readonly end: bigint;
}

/**
 * The end offsets of `topic` that exist now, with where this group starts on
 * each partition (checkpoint, committed offset, or the topic's start or end
 * as `fromBeginning` says): what `run --until-end` has to learn.
 */
export async function spansToEnd(
  admin: Admin,
  topic: string,
  groupId: string,
  fromBeginning: boolean,
  checkpointOffset: (partition: number) => string | undefined,
): Promise<PartitionSpan[]> {
  const [ends, [committed]] = await Promise.all([
    retrying(() => admin.fetchTopicOffsets(topic)),
    retrying(() => admin.fetchOffsets({ groupId, topics: [topic] })),
  ]);
  const committedOf = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  return ends.map(({ partition, low, high }) => {
    const known = [committedOf.get(partition) ?? -1n, BigInt(checkpointOffset(partition) ?? '-1')].reduce((a, b) => (a > b ? a : b));
    const start = known >= 0n ? known : fromBeginning ? BigInt(low) : BigInt(high);
    return { partition, start, end: BigInt(high) };
  });
}

/** True when every partition's next offset to learn has reached its end offset. */
function reachedEnd(spans: readonly PartitionSpan[], learnedUpTo: (partition: number) => string | undefined): boolean {
  return spans.every(({ partition, start, end }) => {
    const learned = learnedUpTo(partition);
    return (learned === undefined ? start : BigInt(learned)) >= end;
  });
}

/**
 * Resolves once `reachedEnd` holds, checking every `everyMs`. A partial
 * batch at the end of a stream waits for its linger (forever with
 * `lingerMs: 0`), so when nothing was learned for `idleMs` the pending
 * partial batch is flushed.
 */
export function whenEndReached(
  spans: readonly PartitionSpan[],
  learnedUpTo: (partition: number) => string | undefined,
  progress: () => number,
  flushPartialBatch: () => void,
  options: { everyMs?: number; idleMs?: number } = {},
): { promise: Promise<void>; cancel: () => void } {
  const everyMs = options.everyMs ?? 100;
  const idleMs = options.idleMs ?? 500;
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    let last = progress();
    let lastChangeAt = Date.now();
    const check = (): void => {
      if (reachedEnd(spans, learnedUpTo)) {
        clearInterval(timer);
        resolve();
        return;
      }
      const now = progress();
      if (now !== last) {
        last = now;
        lastChangeAt = Date.now();
      } else if (Date.now() - lastChangeAt >= idleMs) {
        flushPartialBatch();
        lastChangeAt = Date.now();
      }
    };
    timer = setInterval(check, everyMs);
    check();
  });
  return { promise, cancel: () => clearInterval(timer) };
}
