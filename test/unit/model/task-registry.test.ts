import { describe, expect, it } from 'vitest';
import { TaskRegistry, type TaskEviction } from '../../../src/model/task-registry.js';

/** Eviction hooks that park in a set, as the learning session does with the task's state. */
function parking(idleRecords: number): TaskEviction & { parked: Set<string>; events: string[] } {
  const parked = new Set<string>();
  const events: string[] = [];
  return {
    idleRecords,
    parked,
    events,
    isParked: (task) => parked.has(task),
    evict: (task) => {
      parked.add(task);
      events.push(`evicted ${task}`);
    },
    admitted: (task) => {
      if (parked.delete(task)) events.push(`restored ${task}`);
    },
  };
}

describe('task registry: idle-task eviction', () => {
  it('evicts the least recently seen task once it has been idle long enough, never one in the minibatch being formed', () => {
    const hooks = parking(10);
    const registry = new TaskRegistry(2, undefined, hooks);
    expect(registry.admit('a')).toBe('admitted');
    expect(registry.admit('b')).toBe('seen_once');
    expect(registry.admit('b')).toBe('admitted');
    registry.batched(['a', 'b']);
    // Full, and a was seen 2 records ago: c waits.
    expect(registry.admit('c')).toBe('full');
    for (let i = 0; i < 10; i++) expect(registry.admit('b')).toBe('admitted');
    // a is idle now but b's last ten records are not batched yet; a is evicted, c must still recur.
    expect(registry.admit('c')).toBe('seen_once');
    expect(registry.admit('c')).toBe('admitted');
    expect(hooks.events).toEqual(['evicted a']);
    expect(registry.list().sort()).toEqual(['b', 'c']);
    // a returns: parked, so no recurrence needed; but b and c are in the minibatch being formed, so none is evictable.
    for (let i = 0; i < 12; i++) registry.admit('c');
    expect(registry.admit('a')).toBe('full');
    registry.batched([...Array<string>(11).fill('b'), ...Array<string>(13).fill('c')]);
    expect(registry.admit('a')).toBe('admitted');
    expect(hooks.events).toEqual(['evicted a', 'evicted b', 'restored a']);
    expect(registry.size).toBe(2);
  });

  it('never evicts with idleRecords 0, and keeps its clock across a checkpoint', () => {
    // With one slot, every new task must recur (half of 1 slot is 0).
    const never = new TaskRegistry(1, undefined, parking(0));
    never.admit('a');
    never.admit('a');
    for (let i = 0; i < 100; i++) expect(never.admit(`junk-${i}`)).toBe('full');
    const hooks = parking(5);
    const registry = new TaskRegistry(1, undefined, hooks);
    registry.admit('a');
    registry.admit('a');
    registry.batched(['a', 'a']);
    for (let i = 0; i < 4; i++) registry.admit('x');
    const restored = new TaskRegistry(1, JSON.parse(JSON.stringify(registry.toJSON())), hooks);
    // a was last seen 5 records ago (the restored clock): not yet idle for 5, then idle.
    expect(restored.admit('y')).toBe('full');
    expect(restored.admit('y')).toBe('seen_once');
    expect(restored.admit('y')).toBe('admitted');
    expect(hooks.events).toEqual(['evicted a']);
  });
});
