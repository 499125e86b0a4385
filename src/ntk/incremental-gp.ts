import { ConfigError, ModelError } from '../errors.js';
import type { Activation, ArchitectureSpec } from '../spec/architecture-spec.js';
import { DEFAULT_BREAKDOWN_TOLERANCE, IncrementalCholesky } from './incremental-cholesky.js';
import type { GpPosterior } from './gp-posterior.js';
import {
  type KernelKind,
  type PreparedPoints,
  allocatePreparedPoints,
  preparePointInto,
  preparePoints,
  preparedKernel,
  rowCount,
} from './kernel.js';
import { type SymmetricEigen, symmetricEigen } from './symmetric-eigen.js';

/** Construction options of {@link IncrementalGP}. */
export interface IncrementalGPOptions {
  /** The architecture whose infinite-width kernel the GP uses. */
  readonly spec: ArchitectureSpec;
  /** Window W: the GP keeps the W most recent points. */
  readonly window: number;
  /** Noise / jitter variance s on the training diagonal (≥ 0). Breakdown recovery may raise it. */
  readonly noise: number;
  /** Kernel to use; default `'ntk'`. */
  readonly kind?: KernelKind;
  /** Relative d² threshold for a Cholesky breakdown; default {@link DEFAULT_BREAKDOWN_TOLERANCE}. */
  readonly breakdownTolerance?: number;
}

/** Posterior at M test points. */
export interface GPPrediction {
  /** `Θ*N (Θ_NN + sI)⁻¹ y`. */
  readonly mean: Float64Array;
  /** Latent variance `Θ** − Θ*N (Θ_NN + sI)⁻¹ ΘN*` (noise not added), clamped at 0 against rounding. */
  readonly variance: Float64Array;
}

/** Stopping rule of the eigenvalue iterations ({@link IncrementalGP.lambdaMax}, {@link IncrementalGP.lambdaMin}). */
export interface EigenIterationOptions {
  /** Stop when the estimate changes by at most this fraction between iterations; default 1e-10. */
  readonly tolerance?: number;
  /** Hard cap on iterations (each O(N²)); default 500. */
  readonly maxIterations?: number;
}

/** Checkpoint form of an {@link IncrementalGP}: plain JSON, compact (the window, not the O(W²) factor). */
export interface IncrementalGPState {
  readonly format: typeof STATE_FORMAT;
  readonly spec: ArchitectureSpec;
  readonly kind: KernelKind;
  readonly window: number;
  /** The current jitter, including any raises by breakdown recovery. */
  readonly noise: number;
  readonly breakdownTolerance: number;
  readonly refactorCount: number;
  /** Window points, oldest first. */
  readonly points: number[][];
  /** Targets, aligned with `points`. */
  readonly targets: number[];
}

const STATE_FORMAT = 'tangent.ntk-gp/1';

// First non-zero jitter when recovery starts from s = 0, relative to the mean
// prior variance; 100× the default breakdown tolerance, so that one raise
// normally suffices.
const FIRST_RELATIVE_JITTER = 1e-8;
// Each attempt multiplies the jitter by ten; a finite PSD kernel never needs
// anywhere near this many.
const MAX_JITTER_RAISES = 40;

/**
 * Exact GP regression with the network's infinite-width kernel over a sliding
 * window of the W most recent points — the NTK-GP baseline of DESIGN §4.
 *
 * Keeps the Cholesky factor of `Θ_NN + sI` current in O(N²) per added or
 * evicted point. Mean predictions cost O(N) per test point (α is refreshed
 * lazily, by two triangular solves, on the first prediction after a change),
 * variances O(N²). Targets are used raw; centre them before adding if wanted.
 *
 * Memory is preallocated at construction: 8·W² bytes for the factor (128 MiB
 * at W = 4096) plus O(W·(D + depth)) for the window.
 */
export class IncrementalGP {
  /** The architecture whose kernel this GP uses. */
  readonly spec: ArchitectureSpec;
  /** NTK (trained network) or NNGP (network at initialisation). */
  readonly kind: KernelKind;
  /** Window W. */
  readonly window: number;

  private readonly cholesky: IncrementalCholesky;
  private readonly points: PreparedPoints;
  private readonly targets: Float64Array;
  private readonly priorVariances: Float64Array;
  private readonly kernelRow: Float64Array;
  private readonly alpha: Float64Array;
  private readonly topVector: Float64Array;
  private readonly bottomVector: Float64Array;
  private count = 0;
  // Sequence number of window slot 0: every point ever added gets the next one, so
  // a kernel row computed against an earlier window can be matched column by column.
  private firstSequence = 0;
  private readonly scored: ScoredPoints;
  private refactorings = 0;
  private reusedRows = 0;
  // Bumped on every change of the window or the jitter; derived caches remember the version they were built for.
  private version = 0;
  private alphaVersion = -1;
  private eigenVersion = -1;
  private eigen: SymmetricEigen = { values: new Float64Array(0), vectors: new Float64Array(0) };
  private eigenProjections = new Float64Array(0);

  constructor(options: IncrementalGPOptions) {
    const { spec, window, noise } = options;
    if (!Number.isInteger(window) || window < 1) throw new ConfigError('window', `must be a positive integer, got ${window}`);
    if (!Number.isFinite(noise) || noise < 0) throw new ConfigError('noise', `must be finite and ≥ 0, got ${noise}`);
    const kind = options.kind ?? 'ntk';
    if (kind !== 'ntk' && kind !== 'nngp') throw new ConfigError('kind', `must be 'ntk' or 'nngp', got ${String(kind)}`);
    const breakdownTolerance = options.breakdownTolerance ?? DEFAULT_BREAKDOWN_TOLERANCE;
    if (!(breakdownTolerance >= 0 && breakdownTolerance < 1)) {
      throw new ConfigError('breakdownTolerance', `must be in [0, 1), got ${breakdownTolerance}`);
    }
    this.spec = spec;
    this.kind = kind;
    this.window = window;
    this.cholesky = new IncrementalCholesky(window, { jitter: noise, breakdownTolerance });
    this.points = allocatePreparedPoints(spec, window);
    this.targets = new Float64Array(window);
    this.priorVariances = new Float64Array(window);
    this.kernelRow = new Float64Array(window);
    this.alpha = new Float64Array(window);
    this.topVector = new Float64Array(window);
    this.bottomVector = new Float64Array(window);
    this.scored = { count: 0, cursor: 0, firstSequence: 0, windowSize: 0, x: new Float64Array(0), rows: new Float64Array(0), priors: new Float64Array(0) };
  }

  /** Number of points in the window, N ≤ W. */
  get size(): number {
    return this.count;
  }

  /** The jitter s now on the diagonal: the configured noise, or more after a breakdown recovery. */
  get noise(): number {
    return this.cholesky.jitter;
  }

  /** Points added so far whose kernel row came (at least in part) from predict(): how often scoring's work was reused. */
  get reusedKernelRows(): number {
    return this.reusedRows;
  }

  /** Changes with every change of the window or the jitter: two equal revisions of one GP predict the same. */
  get revision(): number {
    return this.version;
  }

  /** What predictions need, copied out of the GP (see gp-posterior.ts): {@link predict} on it gives the same numbers. */
  posterior(): GpPosterior {
    this.refreshAlpha();
    const n = this.count;
    const { inputDim, depth } = this.points;
    return {
      spec: copySpec(this.spec),
      kind: this.kind,
      count: n,
      noise: this.cholesky.jitter,
      points: { inputDim, depth, rows: this.points.rows.slice(0, n * inputDim), layerVariances: this.points.layerVariances.slice(0, n * depth) },
      alpha: this.alpha.slice(0, n),
      factor: this.cholesky.toColumns(),
    };
  }

  /** Refactorisations from scratch so far: one per breakdown recovery plus explicit {@link refactor} calls. */
  get refactorCount(): number {
    return this.refactorings;
  }

  /**
   * Adds a training point as the newest, evicting the oldest first when the
   * window is full. On a Cholesky breakdown (a duplicate point with s = 0, say)
   * the jitter is raised ×10 (from 1e-8 × the mean prior variance when it was
   * 0) and the factor rebuilt from scratch, until it succeeds; the raised
   * jitter stays.
   *
   * @param x - features, length `spec.inputDim`
   * @param y - target
   * @throws ModelError on a wrong length or a non-finite value
   */
  add(x: Float64Array, y: number): void {
    if (x.length !== this.spec.inputDim) {
      throw new ModelError(`point has ${x.length} features, the architecture expects ${this.spec.inputDim}`);
    }
    for (let d = 0; d < x.length; d++) {
      if (!Number.isFinite(x[d])) throw new ModelError(`point feature ${d} is not finite`);
    }
    if (!Number.isFinite(y)) throw new ModelError('target is not finite');
    // A full window slides in one fused pass over the factor (replaceOldest).
    const sliding = this.count === this.window;
    if (sliding) this.dropOldestPoint();

    const slot = this.count;
    preparePointInto(this.spec, this.points, slot, x);
    this.targets[slot] = y;
    const kappa = this.newPointKernelRow(x, slot);
    this.priorVariances[slot] = kappa;
    const appended = sliding
      ? this.cholesky.replaceOldest(this.kernelRow, kappa)
      : this.cholesky.append(this.kernelRow, kappa);
    this.count = slot + 1;
    // A new point's warm-start component: small but non-zero, so iterations can still discover it.
    const warmStart = 1 / Math.sqrt(this.count);
    this.topVector[slot] = warmStart;
    this.bottomVector[slot] = warmStart;
    if (!appended) this.refactorWithJitter(this.raisedJitter(this.cholesky.jitter));
    this.version++;
  }

  /**
   * Drops the oldest point (rank-one update of the factor, O(N²)).
   *
   * @throws RangeError when the window is empty
   */
  evictOldest(): void {
    if (this.count === 0) throw new RangeError('cannot evict from an empty window');
    this.cholesky.evictOldest();
    this.dropOldestPoint();
    this.version++;
  }

  /**
   * Rebuilds the factor from scratch at the current jitter (raising it if that
   * breaks down), e.g. to wash out rounding accumulated over many updates. Counted.
   */
  refactor(): void {
    this.refactorWithJitter(this.cholesky.jitter);
    this.version++;
  }

  /**
   * Posterior mean and latent variance at the rows of `X` (M × inputDim,
   * row-major). With an empty window: mean 0, variance the prior. The GP
   * keeps the kernel rows of the last call's points: adding one of them
   * afterwards (scored, then learned) reuses its row instead of recomputing it.
   *
   * @throws ModelError when `X.length` is not a multiple of `inputDim`
   */
  predict(X: Float64Array): GPPrediction {
    const testCount = rowCount(this.spec, X, 'X');
    const tests = preparePoints(this.spec, X);
    this.refreshAlpha();
    const n = this.count;
    const mean = new Float64Array(testCount);
    const variance = new Float64Array(testCount);
    const row = this.kernelRow;
    const scored = this.retainScored(X, testCount);
    for (let t = 0; t < testCount; t++) {
      const kept = scored.rows.subarray(t * this.window, t * this.window + n);
      let dot = 0;
      for (let j = 0; j < n; j++) {
        const k = preparedKernel(this.spec, this.points, j, tests, t, this.kind);
        kept[j] = k;
        dot += k * this.alpha[j];
      }
      mean[t] = dot;
      this.cholesky.forwardSolve(kept, row);
      let explained = 0;
      for (let j = 0; j < n; j++) explained += row[j] * row[j];
      const prior = preparedKernel(this.spec, tests, t, tests, t, this.kind);
      scored.priors[t] = prior;
      variance[t] = Math.max(prior - explained, 0);
    }
    return { mean, variance };
  }

  /**
   * Posterior mean only, `Θ*N (Θ_NN + sI)⁻¹ y`: O(N) per test point, for the
   * hot path where the O(N²) variance is not needed. With an empty window: 0.
   *
   * @throws ModelError when `X.length` is not a multiple of `inputDim`
   */
  predictMean(X: Float64Array): Float64Array {
    const testCount = rowCount(this.spec, X, 'X');
    const tests = preparePoints(this.spec, X);
    this.refreshAlpha();
    const n = this.count;
    const mean = new Float64Array(testCount);
    for (let t = 0; t < testCount; t++) {
      let dot = 0;
      for (let j = 0; j < n; j++) dot += preparedKernel(this.spec, this.points, j, tests, t, this.kind) * this.alpha[j];
      mean[t] = dot;
    }
    return mean;
  }

  /**
   * Mean after `t` steps of gradient descent at rate `eta` from a zero
   * function: `Θ*N A⁻¹ (I − e^(−η·A·t)) y` with `A = Θ_NN + sI`.
   *
   * Jitter convention: the same jittered matrix A the factor holds replaces
   * Θ_NN, so `t → ∞` gives exactly {@link predict}'s mean and a singular Θ_NN
   * (duplicate points) stays well-defined; for s → 0 this is DESIGN §4's
   * formula. Uses an eigendecomposition of A (O(N³)), recomputed lazily only
   * when the window changed; then O(N²) per call plus O(N) per test point.
   * Eigenvalues that rounding pushes to ≤ 0 are treated as 0 (limit ηt).
   *
   * @throws RangeError on a negative or non-finite `eta` or `t`
   */
  predictFiniteTime(X: Float64Array, eta: number, t: number): Float64Array {
    if (!(Number.isFinite(eta) && eta >= 0)) throw new RangeError(`eta must be finite and ≥ 0, got ${eta}`);
    if (!(Number.isFinite(t) && t >= 0)) throw new RangeError(`t must be finite and ≥ 0, got ${t}`);
    const testCount = rowCount(this.spec, X, 'X');
    const tests = preparePoints(this.spec, X);
    this.refreshEigen();
    const n = this.count;
    const { values, vectors } = this.eigen;
    const weights = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const lambda = values[k];
      const gain = lambda > 0 ? -Math.expm1(-eta * lambda * t) / lambda : eta * t;
      const coefficient = gain * this.eigenProjections[k];
      const vector = k * n;
      for (let j = 0; j < n; j++) weights[j] += coefficient * vectors[vector + j];
    }
    const mean = new Float64Array(testCount);
    for (let p = 0; p < testCount; p++) {
      let dot = 0;
      for (let j = 0; j < n; j++) dot += preparedKernel(this.spec, this.points, j, tests, p, this.kind) * weights[j];
      mean[p] = dot;
    }
    return mean;
  }

  /**
   * Largest eigenvalue of Θ_NN by power iteration on `LLᵀ − sI` (O(N²) per
   * iteration, no Θ_NN stored), warm-started from the previous call's vector
   * so a slowly sliding window needs few iterations. 0 for an empty window.
   */
  lambdaMax(options: EigenIterationOptions = {}): number {
    const n = this.count;
    if (n === 0) return 0;
    const { tolerance, maxIterations } = iterationOptions(options);
    const vector = this.topVector;
    const product = new Float64Array(n);
    normaliseOrReset(vector, n);
    let estimate = Number.NaN;
    for (let iteration = 0; iteration < maxIterations; iteration++) {
      this.cholesky.multiply(vector, product);
      let rayleigh = 0;
      for (let i = 0; i < n; i++) rayleigh += vector[i] * product[i];
      const previous = estimate;
      estimate = rayleigh - this.cholesky.jitter;
      for (let i = 0; i < n; i++) vector[i] = product[i];
      normaliseOrReset(vector, n);
      if (Math.abs(estimate - previous) <= tolerance * Math.abs(estimate)) break;
    }
    return Math.max(estimate, 0);
  }

  /**
   * Smallest eigenvalue of Θ_NN by inverse iteration with the Cholesky factor
   * (two triangular solves, O(N²) per iteration), warm-started like
   * {@link lambdaMax}. The estimate is `1/(vᵀ(Θ_NN + sI)⁻¹v) − s` for the unit
   * iterate v: never below the true value (it converges from above) and
   * clamped at 0. 0 for an empty window.
   */
  lambdaMin(options: EigenIterationOptions = {}): number {
    const n = this.count;
    if (n === 0) return 0;
    const { tolerance, maxIterations } = iterationOptions(options);
    const vector = this.bottomVector;
    const solved = new Float64Array(n);
    normaliseOrReset(vector, n);
    let estimate = Number.NaN;
    for (let iteration = 0; iteration < maxIterations; iteration++) {
      this.cholesky.solve(vector, solved);
      let inverseRayleigh = 0;
      for (let i = 0; i < n; i++) inverseRayleigh += vector[i] * solved[i];
      const previous = estimate;
      estimate = 1 / inverseRayleigh - this.cholesky.jitter;
      for (let i = 0; i < n; i++) vector[i] = solved[i];
      normaliseOrReset(vector, n);
      if (Math.abs(estimate - previous) <= tolerance * Math.abs(estimate)) break;
    }
    return Math.max(estimate, 0);
  }

  /**
   * Learning-rate stability margin `η·(λ_max + λ_min)/2` of Θ_NN: gradient
   * descent's linearised dynamics are stable for η < 2/(λ_max + λ_min), i.e.
   * margin < 1.
   */
  stabilityMargin(eta: number, options: EigenIterationOptions = {}): number {
    return (eta * (this.lambdaMax(options) + this.lambdaMin(options))) / 2;
  }

  /** The window, targets, jitter and counters as plain JSON (see {@link fromJSON}). */
  toJSON(): IncrementalGPState {
    const { inputDim, rows } = this.points;
    const points: number[][] = [];
    for (let i = 0; i < this.count; i++) points.push(Array.from(rows.subarray(i * inputDim, (i + 1) * inputDim)));
    return {
      format: STATE_FORMAT,
      spec: copySpec(this.spec),
      kind: this.kind,
      window: this.window,
      noise: this.cholesky.jitter,
      breakdownTolerance: this.cholesky.breakdownTolerance,
      refactorCount: this.refactorings,
      points,
      targets: Array.from(this.targets.subarray(0, this.count)),
    };
  }

  /**
   * Restores a GP from {@link toJSON}'s output (e.g. after `JSON.parse`). The
   * factor is rebuilt from the window in O(N³) rather than stored, which keeps
   * checkpoints O(N·D); predictions agree with the original's to rounding
   * (~1e-12 relative), not bit for bit. The restore itself is not counted as a
   * refactorisation.
   *
   * @throws ModelError when the state is malformed
   */
  static fromJSON(state: unknown): IncrementalGP {
    const checked = checkState(state);
    const gp = new IncrementalGP({
      spec: checked.spec,
      window: checked.window,
      noise: checked.noise,
      kind: checked.kind,
      breakdownTolerance: checked.breakdownTolerance,
    });
    checked.points.forEach((point, i) => {
      preparePointInto(gp.spec, gp.points, i, Float64Array.from(point));
      gp.targets[i] = checked.targets[i];
    });
    gp.count = checked.points.length;
    for (let i = 0; i < gp.count; i++) {
      gp.priorVariances[i] = preparedKernel(gp.spec, gp.points, i, gp.points, i, gp.kind);
      gp.topVector[i] = 1;
      gp.bottomVector[i] = 1;
    }
    gp.refactorWithJitter(checked.noise);
    gp.refactorings = checked.refactorCount;
    return gp;
  }

  // Shifts the per-point storage; the caller updates the factor.
  private dropOldestPoint(): void {
    const n = this.count;
    const { inputDim, depth, rows, layerVariances } = this.points;
    rows.copyWithin(0, inputDim, n * inputDim);
    layerVariances.copyWithin(0, depth, n * depth);
    this.targets.copyWithin(0, 1, n);
    this.priorVariances.copyWithin(0, 1, n);
    this.topVector.copyWithin(0, 1, n);
    this.bottomVector.copyWithin(0, 1, n);
    this.count = n - 1;
    this.firstSequence++;
  }

  // Remembers the points predict() is about to score, and the window they are
  // scored against, so that add() can reuse their kernel rows (see newPointKernelRow).
  private retainScored(X: Float64Array, testCount: number): ScoredPoints {
    const scored = this.scored;
    if (scored.priors.length < testCount) {
      const capacity = Math.max(testCount, 2 * scored.priors.length);
      scored.x = new Float64Array(capacity * this.spec.inputDim);
      scored.rows = new Float64Array(capacity * this.window);
      scored.priors = new Float64Array(capacity);
    }
    scored.x.set(X.subarray(0, testCount * this.spec.inputDim));
    scored.count = testCount;
    scored.cursor = 0;
    scored.firstSequence = this.firstSequence;
    scored.windowSize = this.count;
    return scored;
  }

  /**
   * Fills kernelRow[0..slot) with the kernel between the window and the new
   * point x (already prepared at `slot`) and returns its prior variance. When
   * x was among the last points predict() scored (the prequential order:
   * every point is scored just before it is learned), the entries against
   * window points that were already there are copied from the scoring row
   * (the same arithmetic, so bit for bit the same values) and only those
   * against points added since are computed.
   */
  private newPointKernelRow(x: Float64Array, slot: number): number {
    const scored = this.scored;
    const dim = this.spec.inputDim;
    let match = -1;
    for (let t = scored.cursor; t < scored.count && match < 0; t++) {
      let same = true;
      for (let d = 0; d < dim && same; d++) same = scored.x[t * dim + d] === x[d];
      if (same) match = t;
    }
    if (match < 0) {
      for (let j = 0; j < slot; j++) this.kernelRow[j] = preparedKernel(this.spec, this.points, j, this.points, slot, this.kind);
      return preparedKernel(this.spec, this.points, slot, this.points, slot, this.kind);
    }
    scored.cursor = match + 1;
    this.reusedRows++;
    const rowStart = match * this.window;
    for (let j = 0; j < slot; j++) {
      const column = this.firstSequence + j - scored.firstSequence;
      this.kernelRow[j] =
        column >= 0 && column < scored.windowSize
          ? scored.rows[rowStart + column]
          : preparedKernel(this.spec, this.points, j, this.points, slot, this.kind);
    }
    return scored.priors[match];
  }

  private refactorWithJitter(startJitter: number): void {
    const n = this.count;
    const gram = this.windowGram();
    let jitter = startJitter;
    for (let raises = 0; !this.cholesky.refactor(gram, n, jitter); raises++) {
      if (raises === MAX_JITTER_RAISES) throw new ModelError(`GP factor still breaks down at jitter ${jitter}`);
      jitter = this.raisedJitter(jitter);
    }
    this.refactorings++;
  }

  private raisedJitter(jitter: number): number {
    let meanVariance = 0;
    for (let i = 0; i < this.count; i++) meanVariance += this.priorVariances[i];
    meanVariance = this.count > 0 ? meanVariance / this.count : 0;
    return Math.max(10 * jitter, FIRST_RELATIVE_JITTER * (meanVariance > 0 ? meanVariance : 1));
  }

  private windowGram(): Float64Array {
    const n = this.count;
    const gram = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        const value = preparedKernel(this.spec, this.points, i, this.points, j, this.kind);
        gram[i * n + j] = value;
        gram[j * n + i] = value;
      }
    }
    return gram;
  }

  private refreshAlpha(): void {
    if (this.alphaVersion === this.version) return;
    this.cholesky.solve(this.targets, this.alpha);
    this.alphaVersion = this.version;
  }

  private refreshEigen(): void {
    if (this.eigenVersion === this.version) return;
    const n = this.count;
    const jittered = this.windowGram();
    const jitter = this.cholesky.jitter;
    for (let i = 0; i < n; i++) jittered[i * n + i] += jitter;
    this.eigen = symmetricEigen(jittered, n);
    const projections = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      let dot = 0;
      for (let j = 0; j < n; j++) dot += this.eigen.vectors[k * n + j] * this.targets[j];
      projections[k] = dot;
    }
    this.eigenProjections = projections;
    this.eigenVersion = this.version;
  }
}

// The points of the last predict() call with their kernel rows against the
// window of that moment (window sequence numbers firstSequence ..
// firstSequence + windowSize − 1), one row of `window` entries per point.
interface ScoredPoints {
  count: number;
  // First scored point add() has not matched yet; points are learned in the order they were scored.
  cursor: number;
  firstSequence: number;
  windowSize: number;
  x: Float64Array;
  rows: Float64Array;
  priors: Float64Array;
}

function iterationOptions(options: EigenIterationOptions): Required<EigenIterationOptions> {
  return { tolerance: options.tolerance ?? 1e-10, maxIterations: options.maxIterations ?? 500 };
}

// A vector that has collapsed to zero restarts from the all-ones direction,
// which overlaps the top eigenvector of an entrywise-positive kernel strongly.
function normaliseOrReset(vector: Float64Array, n: number): void {
  let squared = 0;
  for (let i = 0; i < n; i++) squared += vector[i] * vector[i];
  if (!(squared > 0 && Number.isFinite(squared))) {
    vector.fill(1 / Math.sqrt(n), 0, n);
    return;
  }
  const scale = 1 / Math.sqrt(squared);
  for (let i = 0; i < n; i++) vector[i] *= scale;
}

function copySpec(spec: ArchitectureSpec): ArchitectureSpec {
  return {
    inputDim: spec.inputDim,
    hidden: [...spec.hidden],
    headHidden: [...spec.headHidden],
    activation: spec.activation,
    sigmaW2: spec.sigmaW2,
    sigmaB2: spec.sigmaB2,
  };
}

function checkState(state: unknown): IncrementalGPState {
  const fail = (reason: string): never => {
    throw new ModelError(`invalid NTK-GP state: ${reason}`);
  };
  if (!isRecord(state)) return fail('not an object');
  if (state.format !== STATE_FORMAT) fail(`format is ${String(state.format)}, expected ${STATE_FORMAT}`);
  const spec = state.spec;
  if (!isRecord(spec)) return fail('spec missing');
  const activations: readonly Activation[] = ['relu', 'erf'];
  const activation = activations.find((a) => a === spec.activation) ?? fail(`unknown activation ${String(spec.activation)}`);
  const inputDim = positiveInteger(spec.inputDim) ?? fail('spec.inputDim must be a positive integer');
  const widths = (value: unknown, name: string): number[] =>
    Array.isArray(value) && value.every((w) => positiveInteger(w) !== undefined)
      ? (value as number[])
      : fail(`spec.${name} must be an array of positive integers`);
  const sigmaW2 = nonNegative(spec.sigmaW2) ?? fail('spec.sigmaW2 must be finite and ≥ 0');
  const sigmaB2 = nonNegative(spec.sigmaB2) ?? fail('spec.sigmaB2 must be finite and ≥ 0');
  const kind = state.kind === 'ntk' || state.kind === 'nngp' ? state.kind : fail(`unknown kernel kind ${String(state.kind)}`);
  const window = positiveInteger(state.window) ?? fail('window must be a positive integer');
  const noise = nonNegative(state.noise) ?? fail('noise must be finite and ≥ 0');
  const breakdownTolerance = nonNegative(state.breakdownTolerance) ?? fail('breakdownTolerance must be finite and ≥ 0');
  const refactorCount =
    typeof state.refactorCount === 'number' && Number.isInteger(state.refactorCount) && state.refactorCount >= 0
      ? state.refactorCount
      : fail('refactorCount must be a non-negative integer');
  const points = state.points;
  const targets = state.targets;
  if (!Array.isArray(points) || !Array.isArray(targets)) return fail('points and targets must be arrays');
  if (points.length !== targets.length) fail(`${points.length} points but ${targets.length} targets`);
  if (points.length > window) fail(`${points.length} points exceed the window ${window}`);
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  points.forEach((point: unknown, i) => {
    if (!Array.isArray(point) || point.length !== inputDim || !point.every(finite)) {
      fail(`point ${i} must be ${inputDim} finite numbers`);
    }
  });
  if (!targets.every(finite)) fail('targets must be finite numbers');
  return {
    format: STATE_FORMAT,
    spec: {
      inputDim,
      hidden: widths(spec.hidden, 'hidden'),
      headHidden: widths(spec.headHidden, 'headHidden'),
      activation,
      sigmaW2,
      sigmaB2,
    },
    kind,
    window,
    noise,
    breakdownTolerance,
    refactorCount,
    points: points as number[][],
    targets: targets as number[],
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : undefined;
}

function nonNegative(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
