import type { ReplayProgress } from '../model/online-model.js';
import type { LearningTurns } from './learning-turns.js';
import type { BatchObserver } from './observe.js';

/** A model whose fine-tuning phases owe replay steps (OnlineRegressor.deferredReplay). */
export interface OwesReplay {
  readonly replayOwed: number;
  replayStep(): ReplayProgress | undefined;
}

/**
 * Fine-tuning that yields to arriving records: the replay steps that phases
 * owe run one per learning turn, and only when no other turn runs or waits,
 * each after a turn of the event loop (so a record the source was holding
 * back is emitted first, and a batch it closes takes the next turn). A record
 * arriving meanwhile waits for at most one step, not a whole phase (what the
 * time between batches did not pay, the next batch pays before it is scored:
 * pay-owed-replay.ts). Each step is a turn of its own, so a checkpoint is
 * still captured between two of them, never inside one. Told of every learned batch (a batch is where
 * steps become owed); `stop` ends it before a shutdown: owed steps never
 * delay a stop or a handover, which wait for one step at most.
 */
export class IdleReplay implements BatchObserver {
  private scheduled = false;
  private stopped = false;

  constructor(
    private readonly model: OwesReplay,
    private readonly turns: Pick<LearningTurns, 'run' | 'whenFree' | 'busy'>,
    /** Told of each step, inside its turn. */
    private readonly replayed: (progress: ReplayProgress) => void,
    private readonly failed: (error: unknown) => void,
    private readonly later: (work: () => void) => void = (work) => void setImmediate(work),
  ) {}

  observe(): void {
    this.wake();
  }

  /** Runs no more steps from now on. */
  stop(): void {
    this.stopped = true;
  }

  private wake(): void {
    if (this.stopped || this.scheduled || this.model.replayOwed === 0) return;
    this.scheduled = true;
    const busy = this.turns.whenFree();
    if (busy) {
      void busy.then(() => this.later(() => this.step()));
    } else {
      this.later(() => this.step());
    }
  }

  private step(): void {
    this.scheduled = false;
    if (this.stopped || this.model.replayOwed === 0) return;
    // Something asked for a turn since: it goes first, and this waits until it has ended.
    if (this.turns.busy) return this.wake();
    this.scheduled = true;
    this.turns
      .run(() => {
        if (this.stopped) return;
        const progress = this.model.replayStep();
        if (progress) this.replayed(progress);
      })
      .then(
        () => {
          this.scheduled = false;
          this.wake();
        },
        (error: unknown) => {
          this.stopped = true;
          this.failed(error);
        },
      );
  }
}
