import { map, type OperatorFunction } from 'rxjs';
import type { Decoded } from './records.js';

/** `seen_once`: a new task that must recur before it gets a head; `full`: no slot left. */
export type Admission = 'admitted' | 'seen_once' | 'full';

/** Decides whether a record's task may have a head; see TaskRegistry for the policy. */
export interface TaskAdmission {
  admit(task: string): Admission;
  readonly limit: number;
}

/**
 * Stage: enforces the task policy before batching, so a record of a task
 * that is not admitted is dead-lettered (reason `task_limit`) instead of
 * growing the model.
 */
export function admitTasks(admission: TaskAdmission): OperatorFunction<Decoded, Decoded> {
  return map((decoded) => {
    if (!decoded.ok) return decoded;
    const verdict = admission.admit(decoded.example.task);
    if (verdict === 'admitted') return decoded;
    return {
      ok: false,
      source: decoded.source,
      reason: 'task_limit',
      detail:
        verdict === 'full'
          ? `task "${decoded.example.task}" would exceed the limit of ${admission.limit} tasks`
          : `task "${decoded.example.task}" is new and over half of the ${admission.limit} task slots are taken: it is admitted when it recurs`,
    };
  });
}
