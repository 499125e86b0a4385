import { map, type OperatorFunction } from 'rxjs';
import type { Decoded } from './records.js';

/** Decides whether a record's task may have a head; see TaskRegistry for the policy. */
export interface TaskAdmission {
  admit(task: string): boolean;
  readonly limit: number;
}

/**
 * Stage: enforces the task cap before batching, so a record of a task beyond
 * the cap is dead-lettered (reason `task_limit`) instead of growing the model.
 */
export function admitTasks(admission: TaskAdmission): OperatorFunction<Decoded, Decoded> {
  return map((decoded) => {
    if (!decoded.ok || admission.admit(decoded.example.task)) return decoded;
    return {
      ok: false,
      source: decoded.source,
      reason: 'task_limit',
      detail: `task "${decoded.example.task}" would exceed the limit of ${admission.limit} tasks`,
    };
  });
}
