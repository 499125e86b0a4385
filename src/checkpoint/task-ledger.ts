import type { BatchObserver } from '../pipeline/observe.js';
import type { LearnedBatch } from '../pipeline/records.js';

/** Where a task's records come from, and how many of them its state has learned (over every member and run). */
export interface TaskSource {
  readonly topic: string;
  readonly partition: number;
  readonly learned: number;
}

/**
 * Which partition each task's records arrive on. Records are keyed by task,
 * so a task lives in one partition and its state moves with that partition
 * between members; the count of learned records travels with it, so the
 * group can tell that every record was learned exactly once.
 */
export class TaskLedger implements BatchObserver {
  private readonly sources = new Map<string, TaskSource>();

  constructor(saved: Record<string, TaskSource> = {}) {
    for (const [task, source] of Object.entries(saved)) this.sources.set(task, source);
  }

  observe(batch: LearnedBatch): void {
    for (const { example, source } of batch.accepted) this.note(example.task, source.topic, source.partition, 1);
    for (const { example, source } of batch.unlabeled) this.note(example.task, source.topic, source.partition, 0);
  }

  private note(task: string, topic: string, partition: number, learned: number): void {
    const known = this.sources.get(task);
    this.sources.set(task, { topic, partition, learned: (known?.learned ?? 0) + learned });
  }

  sourceOf(task: string): TaskSource | undefined {
    return this.sources.get(task);
  }

  set(task: string, source: TaskSource): void {
    this.sources.set(task, source);
  }

  delete(task: string): void {
    this.sources.delete(task);
  }

  tasks(): string[] {
    return [...this.sources.keys()];
  }

  toJSON(): Record<string, TaskSource> {
    return Object.fromEntries(this.sources);
  }
}
