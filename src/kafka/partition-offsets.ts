import { compareOffsets } from '../pipeline/offset-order.js';

/**
 * Per-partition bookkeeping of the source: the next offset expected (to drop
 * records a rebalance makes kafkajs fetch twice), the broker's high-water mark
 * and the committed offset (for lag).
 */
interface PartitionState {
  /** The newest offset emitted (a record at or below it is a refetch); compared as a string, per record. */
  lastAccepted: string | undefined;
  highWatermark: bigint;
  committed: bigint | undefined;
  firstSeen: bigint;
}

export class PartitionOffsets {
  private readonly partitions = new Map<string, PartitionState & { topic: string; partition: number }>();
  private endReadings = 0;

  /**
   * How many times a fetch has told a partition's log end. Between two readings {@link unfetched}
   * sees no new arrivals, only the records emitted since: a backlog compared across a reading is
   * one that is current.
   */
  get logEndReadings(): number {
    return this.endReadings;
  }

  private state(topic: string, partition: number, offset: bigint): PartitionState {
    const key = `${topic}:${partition}`;
    let state = this.partitions.get(key);
    if (!state) {
      state = { topic, partition, lastAccepted: undefined, highWatermark: offset, committed: undefined, firstSeen: offset };
      this.partitions.set(key, state);
    }
    return state;
  }

  /** True when this record is new; false when it was already emitted. */
  accept(topic: string, partition: number, offset: string): boolean {
    const state = this.partitions.get(`${topic}:${partition}`) ?? this.state(topic, partition, BigInt(offset));
    if (state.lastAccepted !== undefined && compareOffsets(offset, state.lastAccepted) <= 0) return false;
    state.lastAccepted = offset;
    return true;
  }

  seenHighWatermark(topic: string, partition: number, highWatermark: string): void {
    const value = BigInt(highWatermark);
    const state = this.state(topic, partition, value);
    if (value > state.highWatermark) state.highWatermark = value;
    this.endReadings += 1;
  }

  committed(topic: string, partition: number, nextOffset: string): void {
    const value = BigInt(nextOffset);
    this.state(topic, partition, value).committed = value;
  }

  /** Whether the group's offsets (as this member last committed them) are behind any of these next offsets. */
  commitsBehind(nextOffsets: Iterable<{ topic: string; partition: number; offset: string }>): boolean {
    for (const { topic, partition, offset } of nextOffsets) {
      const committed = this.partitions.get(`${topic}:${partition}`)?.committed;
      if (committed === undefined || committed < BigInt(offset)) return true;
    }
    return false;
  }

  /** Records known to be in the log (below its high-water mark) but not fetched yet, summed. */
  unfetched(): number {
    let total = 0n;
    for (const s of this.partitions.values()) {
      const next = s.lastAccepted === undefined ? s.firstSeen : BigInt(s.lastAccepted) + 1n;
      if (s.highWatermark > next) total += s.highWatermark - next;
    }
    return Number(total);
  }

  /** Accepts records from anywhere again after a seek (which may go back to records emitted before). */
  rewind(topic: string, partition: number): void {
    const state = this.partitions.get(`${topic}:${partition}`);
    if (state) state.lastAccepted = undefined;
  }

  /** Forgets partitions this member no longer owns (after a rebalance). */
  retain(assigned: ReadonlySet<string>): void {
    for (const key of [...this.partitions.keys()]) if (!assigned.has(key)) this.partitions.delete(key);
  }

  *lag(): Iterable<{ topic: string; partition: number; lag: number }> {
    for (const s of this.partitions.values()) {
      const base = s.committed ?? s.firstSeen;
      yield { topic: s.topic, partition: s.partition, lag: Number(s.highWatermark > base ? s.highWatermark - base : 0n) };
    }
  }
}
