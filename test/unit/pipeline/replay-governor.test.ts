import { describe, expect, it } from 'vitest';
import { ReplayGovernor } from '../../../src/pipeline/replay-governor.js';

/**
 * Runs the governor over one backlog reading per batch; returns the limit after each window of 4 batches.
 * Unless `fetched` says otherwise, a fetch has read the log's end before every batch.
 */
function limitsOver(backlogs: readonly number[], steps = 8, paused: readonly boolean[] = [], fetched: readonly boolean[] = []): number[] {
  const target = { phaseStepsLimit: undefined as number | undefined };
  let index = 0;
  let logEndReadings = 0;
  const governor = new ReplayGovernor(
    target,
    () => {
      if (fetched[index] ?? true) logEndReadings += 1;
      return { waiting: backlogs[index]!, paused: paused[index] ?? false, logEndReadings };
    },
    { steps, batchSize: 64, window: 4 },
  );
  const limits: number[] = [];
  for (index = 0; index < backlogs.length; index++) {
    governor.observe();
    if ((index + 1) % 4 === 0) limits.push(governor.limit);
  }
  return limits;
}

/** One reading per window (the governor reads the backlog on a window's last batch only). */
const perWindow = (readings: readonly number[]): number[] => readings.flatMap((r) => [-1, -1, -1, r]);

describe('ReplayGovernor', () => {
  it('halves the replay steps while the backlog grows by more than a batch per window, down to none', () => {
    expect(limitsOver(perWindow([1000, 1200, 1400, 1600, 1800, 2000]))).toEqual([8, 4, 2, 1, 0, 0]);
  });

  it('gives one step back per window while the backlog shrinks, up to fineTune.steps', () => {
    expect(limitsOver(perWindow([1000, 2000, 3000, 2900, 2800, 2700, 2600, 2500, 2400, 2300]), 4)).toEqual([4, 2, 1, 2, 3, 4, 4, 4, 4, 4]);
  });

  it('keeps every step while a fixed backlog is caught up, and while less than two batches wait', () => {
    expect(limitsOver(perWindow([50_000, 49_000, 48_000, 47_000]))).toEqual([8, 8, 8, 8]);
    expect(limitsOver(perWindow([0, 100, 60, 120]))).toEqual([8, 8, 8, 8]);
  });

  it('gives no step back while fetching is paused (new arrivals are not seen), and halves on the growth seen after', () => {
    const readings = [1000, 2000, 20_000, 15_000, 10_000, 25_000, 24_000];
    const paused = perWindow([false, false, true, true, true, false, false].map((p) => (p ? 1 : 0))).map((p) => p === 1);
    expect(limitsOver(perWindow(readings), 8, paused)).toEqual([8, 4, 2, 2, 2, 1, 2]);
  });

  it('holds the limit when the backlog neither grows by a batch nor shrinks', () => {
    expect(limitsOver(perWindow([500, 900, 940, 960, 960]))).toEqual([8, 4, 4, 4, 4]);
  });

  it('decides only across a new reading of the log end: between fetches the backlog falls by what is learned, whatever arrives', () => {
    // A stream outrunning the learner, read by one fetch every third window: between fetches the count falls by the
    // 4 batches learned per window, then jumps by what arrived. Taken at face value, the falls would give back a step
    // each, undoing every halving.
    const readings = [1000, 744, 488, 2000, 1744, 1488, 3000, 2744, 2488, 4000];
    const fetched = perWindow([true, false, false, true, false, false, true, false, false, true].map((f) => (f ? 1 : 0))).map((f) => f === 1);
    expect(limitsOver(perWindow(readings), 8, [], fetched)).toEqual([8, 8, 8, 4, 4, 4, 2, 2, 2, 1]);
    expect(limitsOver(perWindow(readings))).toEqual([8, 8, 8, 4, 5, 6, 3, 4, 5, 2]);
  });
});
