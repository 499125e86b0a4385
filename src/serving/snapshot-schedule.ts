/**
 * When the learning thread takes a snapshot for the serving thread. After
 * every minibatch, unless taking them would cost more than `share` of the
 * learning thread's time: a snapshot that took c ms is followed by the next
 * one no sooner than c/share ms later (with many tasks every batch changes
 * many GP windows, 8·W² bytes each). A batch that had to wait is published
 * by a timer, through `betweenBatches`, which runs the work only between two
 * minibatches — never on a model part-way through one.
 */
export class SnapshotSchedule {
  private lastAt = Number.NEGATIVE_INFINITY;
  private lastCost = 0;
  private pending = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly publish: () => void,
    private readonly betweenBatches: (work: () => void) => void,
    private readonly share = 0.05,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Publishes now: after a restore, at start. */
  now(): void {
    if (this.stopped) return;
    const started = this.clock();
    this.publish();
    this.lastAt = this.clock();
    this.lastCost = this.lastAt - started;
    this.pending = false;
  }

  /** At the end of a minibatch's learning. */
  afterBatch(): void {
    if (this.stopped) return;
    const wait = this.lastAt + this.lastCost / this.share - this.clock();
    if (wait <= 0) return this.now();
    this.pending = true;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.betweenBatches(() => {
        if (this.pending) this.now();
      });
    }, wait);
    this.timer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
