/**
 * Water-mark backpressure: pause the source when more than `high` records are
 * in flight (fetched, not yet committed), resume once fewer than `low` are.
 * The gap between the marks stops the source from flapping.
 */
export type FlowSignal = 'pause' | 'resume' | undefined;

export class FlowControl {
  private inFlightRecords = 0;
  private isPaused = false;

  constructor(
    readonly high: number,
    readonly low: number,
  ) {}

  get inFlight(): number {
    return this.inFlightRecords;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /** Records entered the pipeline. */
  emitted(count: number): FlowSignal {
    this.inFlightRecords += count;
    if (!this.isPaused && this.inFlightRecords >= this.high) {
      this.isPaused = true;
      return 'pause';
    }
    return undefined;
  }

  /** Records left the pipeline (committed). */
  completed(count: number): FlowSignal {
    this.inFlightRecords = Math.max(0, this.inFlightRecords - count);
    if (this.isPaused && this.inFlightRecords <= this.low) {
      this.isPaused = false;
      return 'resume';
    }
    return undefined;
  }
}
