import { RunningMoments, type RunningMomentsState } from './running-moments.js';

/**
 * Robust scaling: a value far outside what a stream has shown so far is
 * clipped to the edge of its band, mean ± `sigmas`·sd, before it updates
 * the running moments and before anything learns from it. One `x = 1e30`
 * (or `y = 1e30`) then moves a mean by at most `sigmas`·sd/n instead of
 * wrecking the scale every later record is standardised with.
 *
 * Nothing is clipped during the first `warmup` values of a stream (its
 * moments are not yet worth a band), so an outlier among a stream's very
 * first records still gets in — documented in docs/reliability.md.
 */
export interface ClipPolicy {
  /** Half-width of the band in standard deviations; 0 turns clipping off. */
  readonly sigmas: number;
  /** Values a stream's moments must have seen before its band applies. */
  readonly warmup: number;
}

/** Clips `values` in place, coordinate by coordinate, to their bands; returns how many were clipped. */
export function clipToBands(values: Float32Array | Float64Array, moments: RunningMoments, policy: ClipPolicy): number {
  if (policy.sigmas <= 0 || moments.count < policy.warmup) return 0;
  let clipped = 0;
  for (let i = 0; i < moments.dim; i++) {
    const half = policy.sigmas * moments.standardDeviation(i);
    const low = moments.mean[i]! - half;
    const high = moments.mean[i]! + half;
    const v = values[i]!;
    if (v < low) {
      values[i] = low;
      clipped += 1;
    } else if (v > high) {
      values[i] = high;
      clipped += 1;
    }
  }
  return clipped;
}

export type TargetBandsState = Record<string, RunningMomentsState>;

/**
 * Per-task running moments of the targets, used only to clip them (the
 * network keeps its own target moments for standardisation). Part of the
 * learning state.
 */
export class TargetBands {
  private readonly moments = new Map<string, RunningMoments>();

  constructor(
    private readonly policy: ClipPolicy,
    saved: TargetBandsState = {},
  ) {
    for (const [task, state] of Object.entries(saved)) this.moments.set(task, RunningMoments.fromJSON(state));
  }

  /** The target to learn from (clipped to the task's band), after updating the band with it. */
  clip(task: string, y: number): { y: number; clipped: boolean } {
    let moments = this.moments.get(task);
    if (!moments) this.moments.set(task, (moments = new RunningMoments(1)));
    const value = Float64Array.of(y);
    const clipped = clipToBands(value, moments, this.policy) > 0;
    // Only unclipped targets move the band (see scale.ts).
    if (!clipped) moments.update(value);
    return { y: value[0]!, clipped };
  }

  /** Forgets a task's band (its state went with it). */
  forget(task: string): void {
    this.moments.delete(task);
  }

  toJSON(): TargetBandsState {
    return Object.fromEntries([...this.moments].map(([task, m]) => [task, m.toJSON()]));
  }
}
