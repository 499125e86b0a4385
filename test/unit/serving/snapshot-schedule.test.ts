import { afterEach, describe, expect, it, vi } from 'vitest';
import { SnapshotSchedule } from '../../../src/serving/snapshot-schedule.js';

describe('SnapshotSchedule', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('publishes after every batch while snapshots are cheap, spaces them by cost / share when not, and publishes a waiting batch between batches', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let now = 0;
    let cost = 1;
    const published: number[] = [];
    const queued: (() => void)[] = [];
    const schedule = new SnapshotSchedule(
      () => {
        now += cost;
        published.push(now);
      },
      (work) => queued.push(work),
      0.05,
      () => now,
    );
    schedule.now();
    expect(published).toEqual([1]);
    // A snapshot costing 1 ms allows the next 20 ms later: batches every 30 ms each get one.
    for (let b = 0; b < 3; b++) {
      now += 30;
      schedule.afterBatch();
    }
    expect(published).toEqual([1, 32, 63, 94]);
    // At 10 ms a snapshot, batches every 30 ms wait for 200 ms after it.
    cost = 10;
    now += 30;
    schedule.afterBatch();
    expect(published).toEqual([1, 32, 63, 94, 134]);
    now += 30;
    schedule.afterBatch();
    now += 30;
    schedule.afterBatch();
    expect(published).toHaveLength(5);
    // The timer does not publish by itself: it asks for a turn between batches, and that turn publishes once.
    now = 334;
    vi.advanceTimersByTime(170);
    expect(published).toHaveLength(5);
    expect(queued).toHaveLength(1);
    queued.shift()!();
    expect(published).toEqual([1, 32, 63, 94, 134, 344]);
    // Nothing learned since: no timer, no turn.
    vi.advanceTimersByTime(1000);
    expect(queued).toHaveLength(0);
    // A restore publishes at once, whatever the spacing.
    now += 1;
    schedule.now();
    expect(published).toHaveLength(7);
    schedule.stop();
    schedule.afterBatch();
    schedule.now();
    expect(published).toHaveLength(7);
  });

  it('drops a turn that was queued when a batch published meanwhile', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let now = 0;
    const queued: (() => void)[] = [];
    let count = 0;
    const schedule = new SnapshotSchedule(() => ((now += 10), (count += 1)), (work) => queued.push(work), 0.05, () => now);
    schedule.now();
    now += 30;
    schedule.afterBatch();
    vi.advanceTimersByTime(200);
    schedule.now();
    queued.shift()!();
    expect(count).toBe(2);
  });
});
