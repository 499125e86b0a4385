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

/** The q-quantile (0 ≤ q ≤ 1) of ascending `sorted[start, start + n)`, by linear interpolation. */
function quantileOfSorted(sorted: Float64Array, start: number, n: number, q: number): number {
  const position = q * (n - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, n - 1);
  return sorted[start + below]! + (position - below) * (sorted[start + above]! - sorted[start + below]!);
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
  const out = new Float64Array(2);
  robustCenterAndScaleOfSorted(values, 0, values.length, fallbackScale, out);
  return { center: out[0]!, scale: out[1]! };
}

/**
 * {@link robustCenterAndScale} of `sorted[start, start + n)`, already in
 * ascending order, written to `out` as [centre, scale]. The deviations from
 * the median are two sorted runs (below it, read downwards; above it, read
 * upwards), so their median is found by bisection over the two runs, in
 * O(log n) and without a copy: the very numbers a merge of the runs would
 * hold at those ranks, since |v − c| and c − v round alike. It runs before
 * every labeled record's target.
 */
function robustCenterAndScaleOfSorted(sorted: Float64Array, start: number, n: number, fallbackScale: number, out: Float64Array): void {
  const center = quantileOfSorted(sorted, start, n, 0.5);
  const spread90 = quantileOfSorted(sorted, start, n, 0.95) - quantileOfSorted(sorted, start, n, 0.05);
  const split = lowerBound(sorted, start + n, center, start);
  const belowCount = split - start;
  const aboveCount = start + n - split;
  const position = 0.5 * (n - 1);
  const below = Math.floor(position);
  const low = deviationOfRank(sorted, split, belowCount, aboveCount, center, below);
  const high = deviationOfRank(sorted, split, belowCount, aboveCount, center, Math.min(below + 1, n - 1));
  const mad = low + (position - below) * (high - low);
  out[0] = center;
  if (mad > 0) out[1] = madToSd * mad;
  else if (spread90 > 0) out[1] = Math.max(spread90 / spread90ToSd, fallbackScale);
  // 95% of the window is one value: nothing in it tells the scale, so only values far beyond both it and 1 are outliers.
  else out[1] = Math.max(fallbackScale, Math.abs(center), 1);
}

/**
 * The `rank`-th smallest (from 0) of the deviations from `center` of the
 * values around `split` in an ascending array: `belowCount` values below it
 * (deviation `center − sorted[split − 1 − i]`, ascending in i) and
 * `aboveCount` from it on (`sorted[split + j] − center`, ascending in j).
 * Bisects on how many of the smallest `rank + 1` come from below.
 */
function deviationOfRank(sorted: Float64Array, split: number, belowCount: number, aboveCount: number, center: number, rank: number): number {
  const taken = rank + 1;
  let low = Math.max(0, taken - aboveCount);
  let high = Math.min(taken, belowCount);
  // The fewest taken from below such that the last one taken from above is no larger than the next one below.
  while (low < high) {
    const i = (low + high) >>> 1;
    const j = taken - i;
    if (j > 0 && sorted[split + j - 1]! - center > center - sorted[split - 1 - i]!) low = i + 1;
    else high = i;
  }
  const j = taken - low;
  const lastBelow = low === 0 ? Number.NEGATIVE_INFINITY : center - sorted[split - low]!;
  const lastAbove = j === 0 ? Number.NEGATIVE_INFINITY : sorted[split + j - 1]! - center;
  return lastBelow > lastAbove ? lastBelow : lastAbove;
}

/** The first index in ascending `sorted[from..end)` whose value is not below `value` (`end` if none). */
function lowerBound(sorted: Float64Array, end: number, value: number, from = 0): number {
  let low = from;
  let high = end;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

export class RobustBand {
  count = 0;
  private readonly ring: Float64Array;
  /**
   * Per coordinate, the window's values in ascending order (coordinate i's
   * first `filled` entries from i·window), kept as values come and go so that
   * a refresh — before every target, per record — needs no sort.
   */
  private readonly sorted: Float64Array;
  readonly low: Float64Array;
  readonly high: Float64Array;
  /** [centre, scale] of the coordinate being refreshed. */
  private readonly centerAndScale = new Float64Array(2);

  constructor(
    readonly dim: number,
    readonly window: number,
  ) {
    this.ring = new Float64Array(dim * window);
    this.sorted = new Float64Array(dim * window);
    this.low = new Float64Array(dim).fill(Number.NEGATIVE_INFINITY);
    this.high = new Float64Array(dim).fill(Number.POSITIVE_INFINITY);
  }

  /** How many values the window holds. */
  get filled(): number {
    return Math.min(this.count, this.window);
  }

  /** Adds one observation (all coordinates) to the window, dropping the oldest once it is full. */
  push(values: ArrayLike<number>): void {
    const slot = (this.count % this.window) * this.dim;
    const full = this.count >= this.window;
    const filled = this.filled;
    const sorted = this.sorted;
    for (let i = 0; i < this.dim; i++) {
      const start = i * this.window;
      const end = start + filled;
      // +0 for −0: the order of the two zeros would otherwise matter for which one leaves; no quantile can tell them apart.
      const value = values[i]! + 0;
      const at = lowerBound(sorted, end, value, start);
      if (!full) {
        sorted.copyWithin(at + 1, at, end);
        sorted[at] = value;
      } else {
        // The value leaving the window (any equal entry is the same number) and the one arriving trade places:
        // only the entries between the two move, one step, instead of the tail twice.
        const leaving = lowerBound(sorted, end, this.ring[slot + i]! + 0, start);
        if (at <= leaving) {
          sorted.copyWithin(at + 1, at, leaving);
          sorted[at] = value;
        } else {
          sorted.copyWithin(leaving, leaving + 1, at);
          sorted[at - 1] = value;
        }
      }
      this.ring[slot + i] = values[i]!;
    }
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
    const { centerAndScale } = this;
    for (let i = 0; i < this.dim; i++) {
      robustCenterAndScaleOfSorted(this.sorted, i * this.window, n, fallbackScale(i), centerAndScale);
      this.low[i] = centerAndScale[0]! - sigmas * centerAndScale[1]!;
      this.high[i] = centerAndScale[0]! + sigmas * centerAndScale[1]!;
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
    for (const values of kept) band.push(values);
    // A window saved longer than this one keeps its newest values, as a band that saw only those; the ring is
    // rotated so that its oldest value sits where the saved count puts it.
    if (kept.length === window && state.count !== window) {
      const rotated = new Float64Array(band.ring.length);
      band.count = state.count;
      kept.forEach((values, k) => rotated.set(values, band.slotOf(k) * band.dim));
      band.ring.set(rotated);
    }
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
