/**
 * Welford's running mean and variance per coordinate: numerically stable,
 * O(dim) per observation, and exactly serialisable.
 */
export interface RunningMomentsState {
  readonly count: number;
  readonly mean: number[];
  readonly m2: number[];
}

/** Variance floor so a constant feature standardises to 0 instead of NaN. */
const minimumVariance = 1e-12;

export class RunningMoments {
  count = 0;
  readonly mean: Float64Array;
  readonly m2: Float64Array;

  constructor(readonly dim: number) {
    this.mean = new Float64Array(dim);
    this.m2 = new Float64Array(dim);
  }

  update(values: ArrayLike<number>): void {
    this.count += 1;
    for (let i = 0; i < this.dim; i++) {
      const delta = values[i]! - this.mean[i]!;
      this.mean[i]! += delta / this.count;
      this.m2[i]! += delta * (values[i]! - this.mean[i]!);
    }
  }

  variance(i: number): number {
    return this.count > 1 ? this.m2[i]! / (this.count - 1) : 1;
  }

  standardDeviation(i: number): number {
    return Math.sqrt(Math.max(this.variance(i), minimumVariance));
  }

  /** Writes (values − mean) / std into `out` (may alias `values`). */
  standardize(values: ArrayLike<number>, out: Float32Array | Float64Array): void {
    for (let i = 0; i < this.dim; i++) out[i] = (values[i]! - this.mean[i]!) / this.standardDeviation(i);
  }

  toJSON(): RunningMomentsState {
    return { count: this.count, mean: Array.from(this.mean), m2: Array.from(this.m2) };
  }

  static fromJSON(state: RunningMomentsState): RunningMoments {
    const moments = new RunningMoments(state.mean.length);
    moments.count = state.count;
    moments.mean.set(state.mean);
    moments.m2.set(state.m2);
    return moments;
  }
}
