import { RobustBand, type RobustBandState } from './robust-band.js';
import { RunningMoments, type RunningMomentsState } from './running-moments.js';

/**
 * Robust scaling: a value far outside what a stream has shown recently is
 * clipped to the edge of its band — median ± `sigmas` robust standard
 * deviations (MAD) of the stream's last {@link bandWindow} values, see
 * robust-band.ts — before it updates the running moments and before
 * anything learns from it. Outliers cannot widen the band (the median and
 * the MAD ignore them until they are half the window), so neither one
 * `x = 1e30` nor hundreds of extreme records among normal ones move the
 * scale every later record is standardised with.
 *
 * Nothing is clipped before a stream's window holds `warmup` values, so an
 * outlier among its very first records still gets in — documented in
 * docs/reliability.md.
 */
export interface ClipPolicy {
  /** Half-width of the band in robust standard deviations; 0 turns clipping off. */
  readonly sigmas: number;
  /** Values a stream's window must hold before its band applies. */
  readonly warmup: number;
}

/** Recent values per stream the band is computed from. */
export const bandWindow = 64;

/** One task's target band and the moments of its unclipped targets (the scale when the window's spread is 0). */
export interface TargetBandState {
  readonly band: RobustBandState;
  readonly moments: RunningMomentsState;
}

/** Per task; a task saved as bare moments (checkpoints from before the robust band) starts with an empty window. */
export type TargetBandsState = Record<string, TargetBandState | RunningMomentsState>;

interface TaskBand {
  readonly band: RobustBand;
  readonly moments: RunningMoments;
}

/**
 * Per-task bands of the targets, used only to clip them (the network keeps
 * its own target moments for standardisation). Part of the learning state.
 */
export class TargetBands {
  private readonly tasks = new Map<string, TaskBand>();
  /** One target at a time, reused: clip runs for every labeled record. */
  private readonly scratch = new Float64Array(1);

  constructor(
    private readonly policy: ClipPolicy,
    saved: TargetBandsState = {},
  ) {
    for (const [task, state] of Object.entries(saved)) {
      this.tasks.set(
        task,
        'band' in state
          ? { band: RobustBand.fromJSON(state.band, bandWindow), moments: RunningMoments.fromJSON(state.moments) }
          : { band: new RobustBand(1, bandWindow), moments: RunningMoments.fromJSON(state) },
      );
    }
  }

  /** The target to learn from (clipped to the task's band); the raw target joins the window. */
  clip(task: string, y: number): { y: number; clipped: boolean } {
    let entry = this.tasks.get(task);
    if (!entry) this.tasks.set(task, (entry = { band: new RobustBand(1, bandWindow), moments: new RunningMoments(1) }));
    const { band, moments } = entry;
    band.refresh(this.policy.sigmas, this.policy.warmup, () => moments.standardDeviation(0));
    const value = this.scratch;
    value[0] = y;
    const clipped = band.clip(value) > 0;
    const learned = value[0]!;
    value[0] = y;
    band.push(value);
    // Only unclipped targets move the fallback moments: a run of band-edge values would inflate them.
    if (!clipped) moments.update(value);
    return { y: learned, clipped };
  }

  /** One task's band, e.g. to park it with the task's state. */
  stateOf(task: string): TargetBandState | undefined {
    const entry = this.tasks.get(task);
    return entry && { band: entry.band.toJSON(), moments: entry.moments.toJSON() };
  }

  /** Puts back a task's band saved with {@link stateOf}. */
  load(task: string, state: TargetBandState): void {
    this.tasks.set(task, { band: RobustBand.fromJSON(state.band, bandWindow), moments: RunningMoments.fromJSON(state.moments) });
  }

  /** Forgets a task's band (its state went with it). */
  forget(task: string): void {
    this.tasks.delete(task);
  }

  toJSON(): Record<string, TargetBandState> {
    return Object.fromEntries([...this.tasks].map(([task, { band, moments }]) => [task, { band: band.toJSON(), moments: moments.toJSON() }]));
  }
}
