import type { Admission, TaskAdmission } from '../pipeline/admit-tasks.js';

/** Saved with the learning state. */
export interface TaskRegistryState {
  readonly tasks: readonly string[];
  /** Tasks seen once while admission needed a second sighting, oldest first. */
  readonly candidates: readonly string[];
}

/**
 * The set of tasks that have (or will get) a head, capped at `limit`.
 *
 * Policy, so that a flood of junk task ids cannot lock real tasks out:
 * - While fewer than half the slots are taken, a new task is admitted on its
 *   first record.
 * - From half full on, a new task is admitted only when it **recurs**: its
 *   first record is dead-lettered (`task_limit`, "seen once"), and it is
 *   admitted with its second. Junk ids that never repeat can therefore take
 *   at most half the slots, whatever their number or order; the other half
 *   stays for tasks that come back. Ids seen once are remembered in a
 *   bounded, least-recently-seen-first list (`candidateLimit`), so a flood
 *   only pushes out other once-seen ids.
 * - When full, a new task's records are dead-lettered (`task_limit`). Known
 *   tasks are never evicted: what the model learned is never wiped by junk.
 */
export class TaskRegistry implements TaskAdmission {
  private readonly tasks = new Set<string>();
  /** Insertion order = least recently seen first (a re-seen candidate moves to the end). */
  private readonly candidates = new Map<string, true>();
  readonly candidateLimit: number;

  constructor(
    readonly limit: number,
    saved: TaskRegistryState = { tasks: [], candidates: [] },
  ) {
    for (const task of saved.tasks) this.tasks.add(task);
    for (const task of saved.candidates) this.candidates.set(task, true);
    this.candidateLimit = Math.max(1024, 64 * limit);
  }

  /** From this many tasks on, a new task must recur to be admitted. */
  get probationFrom(): number {
    return Math.floor(this.limit / 2);
  }

  admit(task: string): Admission {
    if (this.tasks.has(task)) return 'admitted';
    if (this.tasks.size >= this.limit) return 'full';
    if (this.tasks.size >= this.probationFrom && !this.candidates.delete(task)) {
      this.candidates.set(task, true);
      if (this.candidates.size > this.candidateLimit) this.candidates.delete(this.candidates.keys().next().value!);
      return 'seen_once';
    }
    this.tasks.add(task);
    return 'admitted';
  }

  /** Takes in a task whose state moved here from another member (it had a head there, so it keeps one). */
  adopt(task: string): void {
    this.tasks.add(task);
  }

  remove(task: string): void {
    this.tasks.delete(task);
  }

  has(task: string): boolean {
    return this.tasks.has(task);
  }

  get size(): number {
    return this.tasks.size;
  }

  list(): string[] {
    return [...this.tasks];
  }

  toJSON(): TaskRegistryState {
    return { tasks: this.list(), candidates: [...this.candidates.keys()] };
  }
}
