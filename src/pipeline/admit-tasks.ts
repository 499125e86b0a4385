import { map, type OperatorFunction } from 'rxjs';
import type { TaskAdmission } from '../model/task-registry.js';
import type { Decoded } from './records.js';

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
