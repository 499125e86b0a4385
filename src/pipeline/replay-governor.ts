import type { BatchObserver } from './observe.js';

/** What the governor steers: the most replay steps the next fine-tuning phase may take (see OnlineRegressor). */
export interface ReplayStepsLimited {
  phaseStepsLimit: number | undefined;
}

/** The source's backlog as the governor reads it. */
export interface Backlog {
  /** Records fetched and not yet committed, plus those known to be in the log and not yet fetched. */
  readonly waiting: number;
  /**
   * Whether fetching is paused (too many records in flight): the log's end is then not re-read, so
   * `waiting` only falls as records are learned, whatever arrives meanwhile.
   */
  readonly paused: boolean;
  /**
   * Counts the readings of the log's end (one per fetch). Between two readings `waiting` falls by
   * every record learned whatever arrives meanwhile, so it is compared only across a new one.
   */
  readonly logEndReadings: number;
}

export interface ReplayGovernorOptions {
  /** `fineTune.steps`: the limit never goes above it. */
  readonly steps: number;
  /** `batch.size`: a backlog that grew by less than one batch over a window is not growing. */
  readonly batchSize: number;
  /** Batches between two decisions (default 8). */
  readonly window?: number;
}

/**
 * Fine-tuning that yields to a growing backlog. Every `window` batches it
 * compares the records waiting (fetched and not yet committed, plus those in
 * the log not yet fetched) with the count at its previous decision: when they
 * shrank, or less than two batches wait, one step comes back (up to
 * `fineTune.steps`); when they grew by more than a batch, the stream is
 * arriving faster than the learner learns, and the replay steps a phase may
 * take are halved (down to none). It decides only when a fetch has read the
 * log's end since its previous decision: a fetch holds thousands of records,
 * and until the next one the count falls by every record learned even while
 * the stream outruns the learner, which gave a step back each window and undid
 * every halving. While fetching is paused the count cannot see new arrivals,
 * so no step comes back then. A backlog being caught up (a replay, a restart)
 * shrinks, so it keeps every step. The decision follows the stream's arrival
 * rate, so it is made only when batches already depend on time
 * (`batch.lingerMs` > 0): deterministic replays keep every step.
 */
export class ReplayGovernor implements BatchObserver {
  private readonly window: number;
  private batches = 0;
  private backlogBefore: number | undefined;
  private readingsBefore: number | undefined;

  constructor(
    private readonly target: ReplayStepsLimited,
    private readonly backlog: () => Backlog,
    private readonly options: ReplayGovernorOptions,
  ) {
    this.window = options.window ?? 8;
  }

  /** The replay steps a phase may take now. */
  get limit(): number {
    return this.target.phaseStepsLimit ?? this.options.steps;
  }

  observe(): void {
    this.batches += 1;
    if (this.batches % this.window !== 0) return;
    const { waiting: backlog, paused, logEndReadings } = this.backlog();
    if (logEndReadings === this.readingsBefore) return;
    const before = this.backlogBefore;
    this.backlogBefore = backlog;
    this.readingsBefore = logEndReadings;
    if (before === undefined) return;
    const { steps, batchSize } = this.options;
    const keepingUp = !paused && (backlog < 2 * batchSize || backlog < before);
    if (keepingUp) this.target.phaseStepsLimit = Math.min(steps, this.limit + 1);
    else if (backlog - before > batchSize) this.target.phaseStepsLimit = Math.floor(this.limit / 2);
  }
}
