import { DetectorInputError } from './detector-errors.js';
import { DRIFT, NO_DRIFT, type DriftDetector, type DriftSignal } from './drift-detector.js';
import { checkedNumber } from './parameter-checks.js';
import { StateReader } from './state-checks.js';

/** ADWIN's parameters; the defaults are River's (`river.drift.ADWIN`). */
export interface AdwinParams {
  /** Significance of the cut test. */
  readonly delta: number;
  /** Test for a cut every `clock` updates. */
  readonly clock: number;
  /** Summaries kept per bucket row before the two oldest are merged (River's `max_buckets`, "M"). */
  readonly maxBuckets: number;
  /** Neither sub-window of a cut may hold fewer points than this. */
  readonly minWindowLength: number;
  /** No test until the window holds more than this many points. */
  readonly gracePeriod: number;
}

export const ADWIN_DEFAULTS: AdwinParams = Object.freeze({
  delta: 0.002,
  clock: 32,
  maxBuckets: 5,
  minWindowLength: 5,
  gracePeriod: 10,
});

export type AdwinConfig = { readonly kind: 'adwin' } & Partial<AdwinParams>;

/** One row of the exponential histogram: summaries of 2^row points each, oldest first. */
export interface AdwinBucketRowState {
  readonly totals: number[];
  readonly variances: number[];
}

export interface AdwinState {
  readonly kind: 'adwin';
  readonly version: 1;
  readonly params: AdwinParams;
  readonly driftDetected: boolean;
  readonly tick: number;
  readonly width: number;
  readonly total: number;
  /** Sum of squared deviations of the window (River's `variance`, not divided by the width). */
  readonly variance: number;
  readonly rows: AdwinBucketRowState[];
}

/**
 * A fixed-capacity row of summaries. Capacity is M + 1 because a row is
 * allowed to overflow by one before `compressBuckets` merges its two oldest.
 */
class BucketRow {
  readonly totals: Float64Array;
  readonly variances: Float64Array;
  count = 0;

  constructor(maxBuckets: number) {
    this.totals = new Float64Array(maxBuckets + 1);
    this.variances = new Float64Array(maxBuckets + 1);
  }

  insert(total: number, variance: number): void {
    this.totals[this.count] = total;
    this.variances[this.count] = variance;
    this.count += 1;
  }

  /** Drops the `n` oldest summaries. */
  dropOldest(n: number): void {
    const remaining = this.count - n;
    this.totals.copyWithin(0, n, this.count);
    this.variances.copyWithin(0, n, this.count);
    this.totals.fill(0, remaining, this.count);
    this.variances.fill(0, remaining, this.count);
    this.count = remaining;
  }
}

/**
 * ADWIN (Bifet & Gavaldà 2007), ported line for line from River 0.26.1's
 * `rust_src/adwin.rs` (which replaced the former `adwin_c.pyx`) plus the
 * reset-after-drift of `river/drift/adwin.py`. Every floating-point
 * expression keeps River's operand order so that detections land at River's
 * exact indices; do not "simplify" the arithmetic. Not ported: River's
 * `total_width`, `n_detections` and bucket counters, which no output reads.
 */
export class Adwin implements DriftDetector<AdwinState> {
  readonly name = 'adwin' as const;
  readonly params: AdwinParams;

  private drifted = false;
  private tick = 0;
  private width = 0;
  private total = 0;
  private variance = 0;
  private rows: BucketRow[] = [];

  constructor(config: Partial<AdwinParams> = {}) {
    const d = ADWIN_DEFAULTS;
    this.params = Object.freeze({
      delta: checkedNumber('adwin.delta', config.delta ?? d.delta, { above: 0, below: 1 }),
      clock: checkedNumber('adwin.clock', config.clock ?? d.clock, { integer: true, min: 1 }),
      maxBuckets: checkedNumber('adwin.maxBuckets', config.maxBuckets ?? d.maxBuckets, { integer: true, min: 1 }),
      minWindowLength: checkedNumber('adwin.minWindowLength', config.minWindowLength ?? d.minWindowLength, {
        integer: true,
        min: 1,
      }),
      gracePeriod: checkedNumber('adwin.gracePeriod', config.gracePeriod ?? d.gracePeriod, { integer: true, min: 0 }),
    });
    this.clearWindow();
  }

  get driftDetected(): boolean {
    return this.drifted;
  }

  /** Mean of the current window (0 when empty), River's `estimation`. */
  get estimation(): number {
    return this.width === 0 ? 0 : this.total / this.width;
  }

  update(value: number): DriftSignal {
    if (!Number.isFinite(value)) throw new DetectorInputError(this.name, value);
    // River's ADWIN.update: a detection is followed by a full restart.
    if (this.drifted) this.reset();
    this.insertElement(value, 0);
    this.drifted = this.detectChange();
    return this.drifted ? DRIFT : NO_DRIFT;
  }

  reset(): void {
    this.drifted = false;
    this.clearWindow();
  }

  toJSON(): AdwinState {
    return {
      kind: 'adwin',
      version: 1,
      params: { ...this.params },
      driftDetected: this.drifted,
      tick: this.tick,
      width: this.width,
      total: this.total,
      variance: this.variance,
      rows: this.rows.map((row) => ({
        totals: Array.from(row.totals.subarray(0, row.count)),
        variances: Array.from(row.variances.subarray(0, row.count)),
      })),
    };
  }

  static fromJSON(state: unknown): Adwin {
    const reader = new StateReader('adwin', state, 1);
    const detector = new Adwin(reader.object('params') as Partial<AdwinParams>);
    const capacity = detector.params.maxBuckets + 1;
    detector.rows = reader.array('rows').map((raw, index) => {
      const fields = asObject(raw);
      const totals = reader.finiteArray(`rows[${index}].totals`, fields['totals']);
      const variances = reader.finiteArray(`rows[${index}].variances`, fields['variances']);
      if (totals.length !== variances.length || totals.length > capacity) {
        throw reader.fail(`rows[${index}]`, `equal-length totals/variances of at most ${capacity} entries`);
      }
      const row = new BucketRow(detector.params.maxBuckets);
      totals.forEach((total, i) => row.insert(total, variances[i]));
      return row;
    });
    if (detector.rows.length === 0) throw reader.fail('rows', 'a non-empty array');
    detector.drifted = reader.boolean('driftDetected');
    detector.tick = reader.nonNegativeInteger('tick');
    detector.width = reader.nonNegativeInteger('width');
    detector.total = reader.finite('total');
    detector.variance = reader.finite('variance');
    return detector;
  }

  private clearWindow(): void {
    this.tick = 0;
    this.width = 0;
    this.total = 0;
    this.variance = 0;
    this.rows = [new BucketRow(this.params.maxBuckets)];
  }

  private insertElement(value: number, variance: number): void {
    this.rows[0].insert(value, variance);
    this.width += 1;
    let incrementalVariance = 0;
    if (this.width > 1) {
      const deltaV = value - this.total / (this.width - 1);
      incrementalVariance = ((this.width - 1) * deltaV * deltaV) / this.width;
    }
    this.variance += incrementalVariance;
    this.total += value;

    this.compressBuckets();
  }

  /** Drops the oldest summary of the oldest row; returns how many points it held. */
  private deleteElement(): number {
    const last = this.rows.length - 1;
    const row = this.rows[last];
    const n = 2 ** last;
    const u = row.totals[0];
    const v = row.variances[0];
    const mu = u / n;

    this.width -= n;
    this.total -= u;
    const muWindow = this.total / this.width;
    const increment = v + (n * this.width * (mu - muWindow) * (mu - muWindow)) / (n + this.width);
    this.variance -= increment;

    row.dropOldest(1);
    if (row.count === 0) this.rows.pop();
    return n;
  }

  private compressBuckets(): void {
    const full = this.params.maxBuckets + 1;
    for (let idx = 0; this.rows[idx].count === full; idx += 1) {
      const row = this.rows[idx];
      const n1 = 2 ** idx;
      const t0 = row.totals[0];
      const t1 = row.totals[1];
      const v0 = row.variances[0];
      const v1 = row.variances[1];
      const mu1 = t0 / n1;
      const mu2 = t1 / n1;
      const total12 = t0 + t1;
      const temp = n1 * 0.5 * (mu1 - mu2) * (mu1 - mu2);
      const v12 = v0 + v1 + temp;

      if (idx + 1 >= this.rows.length) this.rows.push(new BucketRow(this.params.maxBuckets));
      this.rows[idx + 1].insert(total12, v12);
      row.dropOldest(2);

      if (this.rows[idx + 1].count <= this.params.maxBuckets) break;
    }
  }

  private detectChange(): boolean {
    let changeDetected = false;
    this.tick += 1;
    if (this.tick % this.params.clock !== 0 || !(this.width > this.params.gracePeriod)) {
      return false;
    }
    const minLength = this.params.minWindowLength;
    let reduceWidth = true;
    while (reduceWidth) {
      reduceWidth = false;
      let exit = false;
      // W0 grows from the oldest summary forward; W1 is the rest of the window.
      let n0 = 0;
      let n1 = this.width;
      let u0 = 0;
      let u1 = this.total;
      outer: for (let idx = this.rows.length - 1; idx >= 0; idx -= 1) {
        if (exit) break;
        const bucketSize = 2 ** idx;
        const row = this.rows[idx];
        const count = row.count;
        for (let k = 0; k < count; k += 1) {
          n0 += bucketSize;
          n1 -= bucketSize;
          const totalAt = row.totals[k];
          u0 += totalAt;
          u1 -= totalAt;

          // W1 would be empty past the newest summary.
          if (idx === 0 && k === count - 1) {
            exit = true;
            break;
          }

          const deltaMean = u0 / n0 - u1 / n1;
          if (n1 >= minLength && n0 >= minLength && this.cutIsSignificant(n0, n1, deltaMean)) {
            reduceWidth = true;
            changeDetected = true;
            if (this.width > 0) {
              this.deleteElement();
              break outer;
            }
          }
        }
      }
    }
    return changeDetected;
  }

  /** River's `evaluate_cut`: Hoeffding/Bernstein bound with δ' = ln(2·ln(width)/δ). */
  private cutIsSignificant(n0: number, n1: number, deltaMean: number): boolean {
    const minLength = this.params.minWindowLength;
    const deltaPrime = Math.log((2 * Math.log(this.width)) / this.params.delta);
    const mRecip = 1 / (n0 - minLength + 1) + 1 / (n1 - minLength + 1);
    const epsilon =
      Math.sqrt(2 * mRecip * (this.variance / this.width) * deltaPrime) + (2 / 3) * deltaPrime * mRecip;
    return Math.abs(deltaMean) > epsilon;
  }
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
