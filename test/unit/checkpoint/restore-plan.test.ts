import { describe, expect, it } from 'vitest';
import { planRestore } from '../../../src/checkpoint/restore-plan.js';
import type { TaskState } from '../../../src/checkpoint/task-state.js';

function stored(task: string, partition: number, offset: string): TaskState {
  return { task, source: { topic: 't', partition, offset } } as TaskState;
}

describe('restore plan: the state restored and the offset resumed agree', () => {
  it('takes the changelog state when it is newer than what the member holds, and resumes at its offset', () => {
    const plan = planRestore({
      assigned: [0, 1],
      held: [{ task: 'a', partition: 0, offset: '100' }],
      changelog: [stored('a', 0, '250'), stored('b', 1, '40')],
    });
    expect(plan.restore.map((s) => s.task)).toEqual(['a', 'b']);
    expect(plan.start.get(0)).toBe('250');
    expect(plan.start.get(1)).toBe('40');
  });

  it('keeps its own state when it is at least as new (a local checkpoint written before the changelog)', () => {
    const plan = planRestore({ assigned: [0], held: [{ task: 'a', partition: 0, offset: '300' }], changelog: [stored('a', 0, '300')] });
    expect(plan.restore).toEqual([]);
    expect(plan.start.get(0)).toBe('300');
  });

  it('resumes a partition at its oldest task state and skips, per task, what each newer state holds', () => {
    // A checkpoint cut short: task a's state reached the changelog, b's did not.
    const plan = planRestore({ assigned: [0], held: [], changelog: [stored('a', 0, '500'), stored('b', 0, '420')] });
    expect(plan.start.get(0)).toBe('420');
    expect(plan.floors.get('a')).toEqual({ partition: 0, offset: 500n });
    expect(plan.floors.get('b')).toEqual({ partition: 0, offset: 420n });
  });

  it('forgets tasks of partitions that moved away and leaves a partition without state to the committed offset', () => {
    const plan = planRestore({
      assigned: [2],
      held: [{ task: 'a', partition: 0, offset: '10' }],
      changelog: [stored('a', 0, '90')],
    });
    expect(plan.forget).toEqual(['a']);
    expect(plan.restore).toEqual([]);
    expect(plan.start.get(2)).toBeUndefined();
  });
});
