import type { TaskAdmission } from '../pipeline/admit-tasks.js';

/**
 * The set of tasks that have (or will get) a head, capped at `limit`. Policy
 * when full: a record of a new task is rejected to the dead-letter topic with
 * reason `task_limit`; known tasks are never evicted, so a burst of junk task
 * ids cannot wipe what the model learned.
 */
export class TaskRegistry implements TaskAdmission {
  private readonly tasks = new Set<string>();

  constructor(
    readonly limit: number,
    known: Iterable<string> = [],
  ) {
    for (const task of known) this.tasks.add(task);
  }

  admit(task: string): boolean {
    if (this.tasks.has(task)) return true;
    if (this.tasks.size >= this.limit) return false;
    this.tasks.add(task);
    return true;
  }

  get size(): number {
    return this.tasks.size;
  }

  list(): string[] {
    return [...this.tasks];
  }
}
