import type { FineTunePhase, ReplayProgress } from './online-model.js';

interface OwedPhase {
  readonly steps: number;
  taken: number;
  seconds: number;
}

/** A phase still owing steps, as a checkpoint holds it: what it owes and what it has paid. */
export interface OwedPhaseState {
  readonly steps: number;
  readonly taken: number;
}

/** Steps the phases still owe (a phase that has taken all of its own owes none). */
export function stepsOwed(phases: readonly OwedPhaseState[]): number {
  let owed = 0;
  for (const { steps, taken } of phases) owed += Math.max(0, steps - taken);
  return owed;
}

/**
 * The replay steps that deferred fine-tuning phases still owe, oldest phase
 * first. A phase ends when its last step has run, or early: a rejected step
 * (the divergence protection) or a replay buffer with nothing to draw.
 */
export class ReplayDebt {
  private readonly phases: OwedPhase[] = [];
  private total = 0;

  /** A phase of `steps` replay steps begins (none: nothing owed). */
  owe(steps: number): void {
    if (steps <= 0) return;
    this.phases.push({ steps, taken: 0, seconds: 0 });
    this.total += steps;
  }

  /** The phases still owing steps, oldest first (a checkpoint keeps them: the next batch must be scored after them). */
  toJSON(): OwedPhaseState[] {
    return this.phases.map(({ steps, taken }) => ({ steps, taken }));
  }

  /** Owes what a checkpoint's phases still owed, after anything owed now. */
  load(phases: readonly OwedPhaseState[]): void {
    for (const { steps, taken } of phases) if (taken < steps) this.phases.push({ steps, taken, seconds: 0 });
    this.total += stepsOwed(phases);
  }

  /** Steps owed over every phase. */
  get owed(): number {
    return this.total;
  }

  /** Steps owed by the phases older than the newest (what is owed when only one phase is begun: none). */
  get owedBeforeNewest(): number {
    const newest = this.phases[this.phases.length - 1];
    return newest ? this.total - (newest.steps - newest.taken) : 0;
  }

  /** Whether the next step is the first of its phase (where a rejected step would put the trunk back to). */
  get startsPhase(): boolean {
    return this.phases[0]?.taken === 0;
  }

  /** The oldest phase's step ran (for `seconds`) and was applied; the phase when that was its last step. */
  paid(seconds: number): FineTunePhase | undefined {
    const phase = this.phases[0];
    if (!phase) return undefined;
    phase.taken += 1;
    phase.seconds += seconds;
    this.total -= 1;
    return phase.taken === phase.steps ? this.end(0) : undefined;
  }

  /** The oldest phase's step ran and was rejected: the phase ends here, its other steps are not owed any more. */
  rejected(seconds: number): FineTunePhase {
    const phase = this.phases[0]!;
    phase.taken += 1;
    phase.seconds += seconds;
    this.total -= 1;
    return this.end(1);
  }

  /** No step could run (nothing to replay): the oldest phase ends where it is. */
  cut(seconds: number): FineTunePhase | undefined {
    const phase = this.phases[0];
    if (!phase) return undefined;
    phase.seconds += seconds;
    return this.end(0);
  }

  private end(rejectedSteps: number): FineTunePhase {
    const phase = this.phases.shift()!;
    this.total -= phase.steps - phase.taken;
    return { steps: phase.taken, rejectedSteps, seconds: phase.seconds };
  }
}

/** What two turns of replay did together. */
export function addReplayProgress(a: ReplayProgress, b: ReplayProgress): ReplayProgress {
  const learningRateScale = b.learningRateScale ?? a.learningRateScale;
  return {
    phasesBegun: a.phasesBegun + b.phasesBegun,
    steps: a.steps + b.steps,
    rejectedSteps: a.rejectedSteps + b.rejectedSteps,
    seconds: a.seconds + b.seconds,
    phasesEnded: [...a.phasesEnded, ...b.phasesEnded],
    ...(learningRateScale === undefined ? {} : { learningRateScale }),
  };
}
