import type { TaskState } from './task-state.js';

/** A task the member already holds: the partition its records come from and the offset its state covers. */
export interface HeldTask {
  readonly task: string;
  readonly partition: number;
  /** Next offset of the partition this member's state has learned up to; undefined when unknown. */
  readonly offset: string | undefined;
}

export interface RestorePlan {
  /** Held tasks whose partition another member owns now. */
  readonly forget: string[];
  /** Changelog states newer than what this member holds: they replace its own. */
  readonly restore: TaskState[];
  /** Per task of an assigned partition: records below this offset are already in its state. */
  readonly floors: Map<string, { partition: number; offset: bigint }>;
  /** Where each assigned partition resumes; undefined = the group's committed offset (or the reset policy). */
  readonly start: Map<number, string | undefined>;
}

/**
 * What a member does with a new assignment of `topic`'s partitions, so the
 * state it learns into and the offset it reads from agree: for each task of
 * an assigned partition the newest state wins — the member's own (local
 * checkpoint or learned here) or the changelog's, by the offset each covers —
 * and the partition resumes at the lowest offset any of its tasks' states
 * covers. Records between that and a task's own offset are skipped for that
 * task (they are in its state), so nothing is skipped that a state lacks and
 * nothing is learned into a state twice. A partition without any state
 * resumes at the group's committed offset.
 */
export function planRestore(input: {
  readonly assigned: readonly number[];
  readonly held: readonly HeldTask[];
  readonly changelog: readonly TaskState[];
}): RestorePlan {
  const assigned = new Set(input.assigned);
  const held = new Map(input.held.map((h) => [h.task, h]));
  const forget = input.held.filter((h) => !assigned.has(h.partition)).map((h) => h.task);
  const restore: TaskState[] = [];
  const floors = new Map<string, { partition: number; offset: bigint }>();
  for (const state of input.changelog) {
    const partition = state.source.partition;
    if (!assigned.has(partition)) continue;
    const own = held.get(state.task);
    const ownOffset = own && own.partition === partition && own.offset !== undefined ? BigInt(own.offset) : undefined;
    if (ownOffset !== undefined && ownOffset >= BigInt(state.source.offset)) continue;
    restore.push(state);
    floors.set(state.task, { partition, offset: BigInt(state.source.offset) });
  }
  for (const own of input.held) {
    if (!assigned.has(own.partition) || floors.has(own.task) || own.offset === undefined) continue;
    floors.set(own.task, { partition: own.partition, offset: BigInt(own.offset) });
  }
  const start = new Map<number, string | undefined>();
  for (const partition of assigned) {
    let lowest: bigint | undefined;
    for (const floor of floors.values()) {
      if (floor.partition === partition && (lowest === undefined || floor.offset < lowest)) lowest = floor.offset;
    }
    start.set(partition, lowest?.toString());
  }
  return { forget, restore, floors, start };
}
