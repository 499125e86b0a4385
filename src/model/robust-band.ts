/**
 * The band outside which a value counts as an outlier, per coordinate,
 * computed from robust statistics of the stream's recent values so that the
 * outliers themselves cannot widen it: the median and the median absolute
 * deviation (MAD) of the last `window` values. Their breakdown point is 50%:
 * however extreme, outliers move the band only once they are most of the
 * window — at which point they are the stream's new level, and the band
 * follows it (within window / 2 values).
 */
export interface RobustBandState {
  /** Values pushed so far (the window holds the last min(count, window)). */
  readonly count: number;
  /** The window, oldest first. */
  readonly values: number[][];
  /** The band in force, as last refreshed (null: unbounded). */
  readonly low: (number | null)[];
  readonly high: (number | null)[];
}

/** Median absolute deviation × this estimates the standard deviation of normal data. */
const madToSd = 1.4826;
/** (q95 − q5) / this estimates the standard deviation of normal data. */
const spread90ToSd = 3.2897;

/** The q-quantile (0 ≤ q ≤ 1) of ascending `sorted`, by linear interpolation. */
export function quantileOfSorted(sorted: Float64Array, q: number): number {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (position - below) * (sorted[above]! - sorted[below]!);
}

/**
 * A robust centre and scale of `values` (reordered in place): the median,
 * and the MAD scaled to a standard deviation. When more than half the values
 * are tied (a binary or count feature that is mostly 0) the MAD is 0, and the
 * larger of the 5–95% spread and `fallbackScale` (the standard deviation of
 * the stream's unclipped values) stands in; when 95% of the window is one
 * value, the largest of `fallbackScale`, |median| and 1 (so a 0/1 feature
 * that is rarely 1 keeps its ones, and 1e30 is still clipped).
 */
export function robustCenterAndScale(values: Float64Array, fallbackScale: number): { center: number; scale: number } {
  values.sort();
  const center = quantileOfSorted(values, 0.5);
  const spread90 = quantileOfSorted(values, 0.95) - quantileOfSorted(values, 0.05);
  for (let i = 0; i < values.length; i++) values[i] = Math.abs(values[i]! - center);
  values.sort();
  const mad = quantileOfSorted(values, 0.5);
  if (mad > 0) return { center, scale: madToSd * mad };
  if (spread90 > 0) return { center, scale: Math.max(spread90 / spread90ToSd, fallbackScale) };
  // 95% of the window is one value: nothing in it tells the scale, so only values far beyond both it and 1 are outliers.
  return { center, scale: Math.max(fallbackScale, Math.abs(center), 1) };
}

export class RobustBand {
  count = 0;
  private readonly ring: Float64Array;
  readonly low: Float64Array;
  readonly high: Float64Array;
  private readonly scratch: Float64Array;

  constructor(
    readonly dim: number,
    readonly window: number,
  ) {
    this.ring = new Float64Array(dim * window);
    this.low = new Float64Array(dim).fill(Number.NEGATIVE_INFINITY);
    this.high = new Float64Array(dim).fill(Number.POSITIVE_INFINITY);
    this.scratch = new Float64Array(window);
  }

  /** How many values the window holds. */
  get filled(): number {
    return Math.min(this.count, this.window);
  }

  /** Adds one observation (all coordinates) to the window, dropping the oldest once it is full. */
  push(values: ArrayLike<number>): void {
    const slot = (this.count % this.window) * this.dim;
    for (let i = 0; i < this.dim; i++) this.ring[slot + i] = values[i]!;
    this.count += 1;
  }

  /**
   * Recomputes the band from the window: centre ± `sigmas` robust standard
   * deviations; unbounded while the window holds fewer than `warmup` values
   * or `sigmas` is 0.
   */
  refresh(sigmas: number, warmup: number, fallbackScale: (i: number) => number): void {
    const n = this.filled;
    if (sigmas <= 0 || n === 0 || n < warmup) {
      this.low.fill(Number.NEGATIVE_INFINITY);
      this.high.fill(Number.POSITIVE_INFINITY);
      return;
    }
    const column = this.scratch.subarray(0, n);
    for (let i = 0; i < this.dim; i++) {
      for (let k = 0; k < n; k++) column[k] = this.ring[k * this.dim + i]!;
      const { center, scale } = robustCenterAndScale(column, fallbackScale(i));
      this.low[i] = center - sigmas * scale;
      this.high[i] = center + sigmas * scale;
    }
  }

  /** Clips `values` in place to the band in force; returns how many coordinates were clipped. */
  clip(values: Float32Array | Float64Array): number {
    let clipped = 0;
    for (let i = 0; i < this.dim; i++) {
      const v = values[i]!;
      if (v < this.low[i]!) {
        values[i] = this.low[i]!;
        clipped += 1;
      } else if (v > this.high[i]!) {
        values[i] = this.high[i]!;
        clipped += 1;
      }
    }
    return clipped;
  }

  toJSON(): RobustBandState {
    const values: number[][] = [];
    for (let k = 0; k < this.filled; k++) {
      const slot = this.slotOf(k) * this.dim;
      values.push(Array.from(this.ring.subarray(slot, slot + this.dim)));
    }
    return { count: this.count, values, low: Array.from(this.low, finiteOrNull), high: Array.from(this.high, finiteOrNull) };
  }

  static fromJSON(state: RobustBandState, window: number): RobustBand {
    const band = new RobustBand(state.low.length, window);
    const kept = state.values.slice(-window);
    // A window saved longer than this one keeps its newest values, as a band that saw only those.
    band.count = kept.length === window ? state.count : kept.length;
    kept.forEach((values, k) => band.ring.set(values, band.slotOf(k) * band.dim));
    state.low.forEach((v, i) => (band.low[i] = v ?? Number.NEGATIVE_INFINITY));
    state.high.forEach((v, i) => (band.high[i] = v ?? Number.POSITIVE_INFINITY));
    return band;
  }

  /** The ring slot of the k-th oldest value in the window (the oldest is overwritten next once it is full). */
  private slotOf(k: number): number {
    const oldest = this.count > this.window ? this.count % this.window : 0;
    return (oldest + k) % this.window;
  }
}

/** JSON has no infinities: an unbounded side is saved as null. */
function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}
