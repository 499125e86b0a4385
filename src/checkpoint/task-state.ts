import { sameTrunk, type ArchitectureSpec } from '../spec/architecture-spec.js';
import type { NtkGpTaskState } from '../model/ntk-gp-baseline.js';
import type { RegressorTaskState } from '../model/online-regressor.js';
import type { DriftWatchState } from '../pipeline/drift-watch.js';
import type { PartitionOffset } from './stream-position.js';

export const taskStateFormat = 'tangent.task-state/1';

/**
 * Everything the model holds for one task alone — what moves with the task's
 * partition from member to member: its head, target moments and replay, its
 * NTK-GP window (points, not the factor), its drift detectors, and the stream
 * position it belongs to (the next offset of its partition, which every record
 * of the task below it has been learned into this state).
 */
export interface TaskState {
  readonly format: typeof taskStateFormat;
  readonly spec: ArchitectureSpec;
  readonly task: string;
  readonly source: PartitionOffset;
  /** Records of the task learned into this state, over every member and run. */
  readonly learned: number;
  readonly network: RegressorTaskState;
  readonly ntkgp: NtkGpTaskState | null;
  readonly drift: DriftWatchState;
  /** The task was evicted for an idle one (task-registry.ts): its state waits, parked, until the task returns. */
  readonly parked?: boolean;
}

/** Reads a task state back, refusing one of another format or architecture. */
export function parseTaskState(value: unknown, spec: ArchitectureSpec): TaskState {
  const candidate = value as Partial<TaskState> | null;
  if (!candidate || candidate.format !== taskStateFormat || typeof candidate.task !== 'string' || !candidate.source || !candidate.network) {
    throw new Error('not a tangent task state');
  }
  const saved = candidate.spec;
  if (!saved || !sameTrunk(saved, spec) || saved.headHidden.join() !== spec.headHidden.join()) {
    throw new Error(`task state of "${candidate.task}" was made for model ${JSON.stringify(candidate.spec)}, not ${JSON.stringify(spec)}`);
  }
  return candidate as TaskState;
}
