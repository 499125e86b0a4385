/** `seen_once`: a new task that must recur before it gets a head; `full`: no slot left. */
export type Admission = 'admitted' | 'seen_once' | 'full';

/** Decides whether a record's task may have a head; TaskRegistry is the policy. */
export interface TaskAdmission {
  admit(task: string): Admission;
  readonly limit: number;
}

/** Saved with the learning state. */
export interface TaskRegistryState {
  /** Least recently seen first. */
  readonly tasks: readonly string[];
  /** Tasks seen once while admission needed a second sighting, oldest first. */
  readonly candidates: readonly string[];
  /** Per task of `tasks`, the record count at its last record; absent in older checkpoints. */
  readonly lastSeen?: readonly number[];
  /** Records of known or new tasks seen so far (the clock idleness is measured in). */
  readonly admitted?: number;
}

/** What the registry asks of the state behind the tasks when it evicts one or a parked one returns. */
export interface TaskEviction {
  /** A task with no record among the last this many records may be evicted when a slot is needed; 0 = never. */
  readonly idleRecords: number;
  /** Whether a task's state is parked (an evicted task): it is admitted on its first record, as a known task. */
  isParked(task: string): boolean;
  /** Parks a task's state and drops it from the model. */
  evict(task: string): void;
  /** Called when a task is admitted: a parked one gets its state back. */
  admitted(task: string): void;
}

const neverEvict: TaskEviction = { idleRecords: 0, isParked: () => false, evict: () => undefined, admitted: () => undefined };

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
 * - When full, the least recently seen task is **evicted** for the new one
 *   if it has had no record among the last `idleRecords` admitted records:
 *   its state is parked, not wiped, and a parked task that returns is
 *   admitted on its first record with its state restored. Otherwise the new
 *   task's records are dead-lettered (`task_limit`).
 */
export class TaskRegistry implements TaskAdmission {
  /** Task → admitted-record count at its last record; insertion order = least recently seen first. */
  private readonly tasks = new Map<string, number>();
  /** Insertion order = least recently seen first (a re-seen candidate moves to the end). */
  private readonly candidates = new Map<string, true>();
  /** Records that asked for admission so far: the clock idleness is measured in. */
  private admittedRecords: number;
  /** Per task, admitted records still in the minibatch being formed: such a task is never evicted. */
  private readonly unbatched = new Map<string, number>();
  readonly candidateLimit: number;

  constructor(
    readonly limit: number,
    saved: TaskRegistryState = { tasks: [], candidates: [] },
    private readonly eviction: TaskEviction = neverEvict,
  ) {
    this.admittedRecords = saved.admitted ?? 0;
    saved.tasks.forEach((task, i) => this.tasks.set(task, saved.lastSeen?.[i] ?? this.admittedRecords));
    for (const task of saved.candidates) this.candidates.set(task, true);
    this.candidateLimit = Math.max(1024, 64 * limit);
  }

  /** From this many tasks on, a new task must recur to be admitted. */
  get probationFrom(): number {
    return Math.floor(this.limit / 2);
  }

  admit(task: string): Admission {
    this.admittedRecords += 1;
    if (this.tasks.has(task)) {
      this.seen(task);
      return 'admitted';
    }
    const idle = this.tasks.size >= this.limit ? this.idlest() : undefined;
    if (this.tasks.size >= this.limit && idle === undefined) return 'full';
    const parked = this.eviction.isParked(task);
    if (!parked && this.tasks.size >= this.probationFrom && !this.candidates.delete(task)) {
      this.candidates.set(task, true);
      if (this.candidates.size > this.candidateLimit) this.candidates.delete(this.candidates.keys().next().value!);
      return 'seen_once';
    }
    if (idle !== undefined) {
      this.tasks.delete(idle);
      this.eviction.evict(idle);
    }
    this.seen(task);
    this.eviction.admitted(task);
    return 'admitted';
  }

  /** The least recently seen task, if it has been idle long enough to be evicted. */
  private idlest(): string | undefined {
    if (this.eviction.idleRecords <= 0) return undefined;
    const [task, lastSeen] = this.tasks.entries().next().value!;
    const idle = this.admittedRecords - lastSeen > this.eviction.idleRecords && !this.unbatched.has(task);
    return idle ? task : undefined;
  }

  private seen(task: string): void {
    this.tasks.delete(task);
    this.tasks.set(task, this.admittedRecords);
    this.unbatched.set(task, (this.unbatched.get(task) ?? 0) + 1);
  }

  /** Told of each minibatch once formed: its records are out of the one being formed. */
  batched(tasks: readonly string[]): void {
    for (const task of tasks) {
      const left = (this.unbatched.get(task) ?? 0) - 1;
      if (left > 0) this.unbatched.set(task, left);
      else this.unbatched.delete(task);
    }
  }

  /** Takes in a task whose state moved here from another member (it had a head there, so it keeps one). */
  adopt(task: string): void {
    if (!this.tasks.has(task)) this.tasks.set(task, this.admittedRecords);
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

  /** Least recently seen first. */
  list(): string[] {
    return [...this.tasks.keys()];
  }

  toJSON(): TaskRegistryState {
    return { tasks: this.list(), candidates: [...this.candidates.keys()], lastSeen: [...this.tasks.values()], admitted: this.admittedRecords };
  }
}
