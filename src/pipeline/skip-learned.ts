import { filter, type OperatorFunction } from 'rxjs';
import type { Decoded } from './records.js';

/** Knows which records are already in the model's state (see TaskFloors). */
export interface LearnedRecords {
  covers(task: string, topic: string, partition: number, offset: string): boolean;
}

/**
 * Stage: drops records of a task that its restored state already holds —
 * a partition resumes at the oldest offset any of its tasks' states covers,
 * and the tasks whose states reach further must not learn those records again.
 * Each dropped record is released from flow control at once.
 */
export function skipLearned(learned: LearnedRecords, released: (count: number) => void): OperatorFunction<Decoded, Decoded> {
  return filter((decoded) => {
    if (!decoded.ok) return true;
    const { topic, partition, offset } = decoded.source;
    if (!learned.covers(decoded.example.task, topic, partition, offset)) return true;
    released(1);
    return false;
  });
}
