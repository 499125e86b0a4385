/**
 * Liveness from progress: the consumer is live unless it has had work —
 * records in flight, or records in the log it has not fetched — and has
 * finished no batch for longer than `stallMs`. A consumer cut off from a
 * broker, or wedged, then fails `/healthz` and an orchestrator restarts it;
 * an idle stream with nothing to do stays live.
 */
export class ProgressLiveness {
  private lastProgressAt: number;

  constructor(
    private readonly stallMs: number,
    private readonly pendingRecords: () => number,
    private readonly now: () => number = Date.now,
  ) {
    this.lastProgressAt = now();
  }

  /** A batch went all the way through the pipeline. */
  progressed(): void {
    this.lastProgressAt = this.now();
  }

  /** Milliseconds with pending work and no progress; 0 when there is no pending work. */
  stalledMs(): number {
    if (this.pendingRecords() === 0) {
      this.lastProgressAt = this.now();
      return 0;
    }
    return this.now() - this.lastProgressAt;
  }

  live(): boolean {
    return this.stallMs <= 0 || this.stalledMs() <= this.stallMs;
  }
}
