import type { Batch } from '../pipeline/records.js';

export interface PartitionOffset {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to learn. */
  readonly offset: string;
}

export interface StreamPositionState {
  readonly offsets: PartitionOffset[];
  readonly learned: number;
  readonly deadLettered: number;
  readonly batches: number;
}

/**
 * How far learning has got: the next offset of every partition seen and the
 * record counts, advanced batch by batch. Saved with the model in every
 * checkpoint, so after a restart the counts tell exactly what was learned.
 */
export class StreamPosition {
  private readonly offsets = new Map<string, PartitionOffset>();
  learned = 0;
  deadLettered = 0;
  batches = 0;

  constructor(saved?: StreamPositionState) {
    for (const o of saved?.offsets ?? []) this.offsets.set(`${o.topic}:${o.partition}`, o);
    this.learned = saved?.learned ?? 0;
    this.deadLettered = saved?.deadLettered ?? 0;
    this.batches = saved?.batches ?? 0;
  }

  advance(batch: Batch): void {
    for (const [key, next] of batch.nextOffsets) this.offsets.set(key, next);
    this.learned += batch.accepted.length;
    this.deadLettered += batch.rejected.length;
    this.batches += 1;
  }

  /** Where a partition resumes after an assignment (undefined: not known until its first batch). */
  resumeAt(topic: string, partition: number, offset: string | undefined): void {
    const key = `${topic}:${partition}`;
    if (offset === undefined) this.offsets.delete(key);
    else this.offsets.set(key, { topic, partition, offset });
  }

  offsetOf(topic: string, partition: number): string | undefined {
    return this.offsets.get(`${topic}:${partition}`)?.offset;
  }

  toJSON(): StreamPositionState {
    return { offsets: [...this.offsets.values()], learned: this.learned, deadLettered: this.deadLettered, batches: this.batches };
  }
}
