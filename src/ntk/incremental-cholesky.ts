import { SLIDE_SCRATCH_ELEMENTS, type TriangularBackend, type TriangularKernels, triangularKernels } from './triangular-kernels.js';

/**
 * Default relative breakdown threshold: an append or a pivot fails when
 * `d² ≤ tolerance · (κ + s)`, i.e. when the new point leaves less than this
 * fraction of its own prior variance unexplained by the others.
 */
export const DEFAULT_BREAKDOWN_TOLERANCE = 1e-10;

/** Construction options of {@link IncrementalCholesky}. */
export interface IncrementalCholeskyOptions {
  /** Jitter s added to the diagonal (`A + sI = LLᵀ`); default 0. */
  readonly jitter?: number;
  /** Relative threshold on d² below which the factorisation breaks down; default {@link DEFAULT_BREAKDOWN_TOLERANCE}. */
  readonly breakdownTolerance?: number;
  /** Implementation of the O(N²) loops; default WebAssembly SIMD where the runtime has it (see {@link triangularKernels}). */
  readonly backend?: TriangularBackend;
}

/**
 * Cholesky factor `LLᵀ = A + sI` of a sliding window of points, kept current
 * in O(N²) per appended or evicted point.
 *
 * Indices are logical: 0 is the oldest point. `L` is stored column-major in a
 * preallocated capacity × capacity block so that every inner loop
 * (forward/backward substitution, the rank-one update sweep, the from-scratch
 * factorisation) walks contiguous memory. Evicting the oldest point writes the
 * updated trailing block one column and one row up-left while it sweeps, so
 * the shift costs no pass beyond the O(N²) update itself. The O(N²) loops run
 * in {@link TriangularKernels} (WebAssembly SIMD, or TypeScript) over one heap
 * that holds the factor and its work vectors; nothing is allocated after
 * construction except the optional output arrays of the solves.
 */
export class IncrementalCholesky {
  /** Maximum number of points, W. */
  readonly capacity: number;
  /** Relative d² threshold that signals a breakdown. */
  readonly breakdownTolerance: number;

  private readonly kernels: TriangularKernels;
  private readonly heap: Float64Array;
  // Entry (i, j), i ≥ j, lives at factor[j * capacity + i] (heap offset 0); the upper triangle is unused.
  private readonly factor: Float64Array;
  // Heap offsets of the work vectors, capacity entries each. update: the
  // eviction sweep's rotated column; solved: the new point's L⁻¹k (kept apart
  // so that a fused slide can carry both at once); io, product, transposed:
  // the solves' and multiply's arguments and results; slideScratch: the fused
  // slide's own (SLIDE_SCRATCH_ELEMENTS).
  private readonly update: number;
  private readonly solved: number;
  private readonly io: number;
  private readonly product: number;
  private readonly transposed: number;
  private readonly slideScratch: number;
  private count = 0;
  private diagonalJitter: number;

  constructor(capacity: number, options: IncrementalCholeskyOptions = {}) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.diagonalJitter = checkJitter(options.jitter ?? 0);
    this.breakdownTolerance = options.breakdownTolerance ?? DEFAULT_BREAKDOWN_TOLERANCE;
    const square = capacity * capacity;
    this.kernels = triangularKernels(square + 5 * capacity + SLIDE_SCRATCH_ELEMENTS, options.backend);
    this.heap = this.kernels.heap;
    this.factor = this.heap.subarray(0, square);
    this.update = square;
    this.solved = square + capacity;
    this.io = square + 2 * capacity;
    this.product = square + 3 * capacity;
    this.transposed = square + 4 * capacity;
    this.slideScratch = square + 5 * capacity;
  }

  /** Number of points currently factored, N. */
  get size(): number {
    return this.count;
  }

  /** The jitter s currently on the diagonal. */
  get jitter(): number {
    return this.diagonalJitter;
  }

  /** Which implementation runs the O(N²) loops. */
  get backend(): TriangularBackend {
    return this.kernels.backend;
  }

  /** Entry `L[i][j]` (zero above the diagonal). */
  entry(i: number, j: number): number {
    this.checkIndex(i);
    this.checkIndex(j);
    return i >= j ? this.factor[j * this.capacity + i] : 0;
  }

  /** The factor's N × N lower triangle, column-major (entry (i, j) at `j·N + i`; a copy): what a forward substitution reads. */
  toColumns(): Float64Array {
    const n = this.count;
    const columns = new Float64Array(n * n);
    for (let j = 0; j < n; j++) columns.set(this.factor.subarray(j * this.capacity + j, j * this.capacity + n), j * n + j);
    return columns;
  }

  /** The factor as a dense N × N row-major lower-triangular matrix (a copy). */
  toDense(): Float64Array {
    const n = this.count;
    const dense = new Float64Array(n * n);
    for (let j = 0; j < n; j++) {
      const column = j * this.capacity;
      for (let i = j; i < n; i++) dense[i * n + j] = this.factor[column + i];
    }
    return dense;
  }

  /**
   * Adds a point as the newest: with `l = L⁻¹k`, `d² = κ + s − lᵀl`, the factor
   * becomes `[[L, 0], [lᵀ, d]]`.
   *
   * @param kVec - covariances between the new point and the N current ones, oldest first (length ≥ N; extra entries ignored)
   * @param kappa - the new point's own variance κ (without jitter)
   * @returns false on breakdown (`d² ≤ tolerance·(κ + s)`), in which case the factor is unchanged
   * @throws RangeError when the factor is full
   */
  append(kVec: Float64Array, kappa: number): boolean {
    const n = this.count;
    if (n === this.capacity) throw new RangeError(`factor is full (capacity ${this.capacity}); evict first`);
    this.heap.set(kVec.subarray(0, n), this.solved);
    this.kernels.forwardSubstitute(n, this.capacity, 0, this.solved);
    return this.appendSolved(kappa);
  }

  /**
   * Removes the oldest point. With `L = [[l₁₁, 0], [l₂₁, L₂₂]]` the remaining
   * points' factor L̃ satisfies `L̃L̃ᵀ = L₂₂L₂₂ᵀ + l₂₁l₂₁ᵀ`: a rank-one update,
   * done as a sweep of Givens rotations (stable, never breaks down).
   *
   * @throws RangeError when the factor is empty
   */
  evictOldest(): void {
    const n = this.count;
    if (n === 0) throw new RangeError('cannot evict from an empty factor');
    // update[i] = l₂₁ in new indices (old row i + 1 of column 0).
    this.heap.copyWithin(this.update, 1, n);
    this.kernels.evictOldest(n, this.capacity, 0, this.update);
    this.count = n - 1;
  }

  /**
   * Slides the window by one: {@link evictOldest} then {@link append}, fused
   * into a single pass over the factor. Each column of the updated factor is
   * used for the new point's forward substitution while it is still in cache,
   * which matters once the factor outgrows the CPU caches (N ≳ 1500): the
   * separate calls stream the whole triangle from memory twice.
   *
   * @param kVec - covariances between the new point and the N − 1 points that remain, oldest first
   * @param kappa - the new point's own variance κ (without jitter)
   * @returns false on breakdown, in which case the oldest point is evicted but the new one not appended
   * @throws RangeError when the factor is empty
   */
  replaceOldest(kVec: Float64Array, kappa: number): boolean {
    const n = this.count;
    if (n === 0) throw new RangeError('cannot replace in an empty factor');
    this.heap.copyWithin(this.update, 1, n);
    this.heap.set(kVec.subarray(0, n - 1), this.solved);
    this.kernels.replaceOldest(n, this.capacity, 0, this.update, this.solved, this.slideScratch);
    this.count = n - 1;
    return this.appendSolved(kappa);
  }

  /**
   * `L⁻¹b` by forward substitution.
   *
   * @param b - right-hand side, length ≥ N (only the first N entries are read)
   * @param out - optional result array of length ≥ N; may be `b` itself
   */
  forwardSolve(b: Float64Array, out: Float64Array = new Float64Array(this.count)): Float64Array {
    const n = this.count;
    this.heap.set(b.subarray(0, n), this.io);
    this.kernels.forwardSubstitute(n, this.capacity, 0, this.io);
    out.set(this.heap.subarray(this.io, this.io + n));
    return out;
  }

  /**
   * `L⁻ᵀy` by backward substitution.
   *
   * @param y - right-hand side, length ≥ N
   * @param out - optional result array of length ≥ N; may be `y` itself
   */
  backwardSolve(y: Float64Array, out: Float64Array = new Float64Array(this.count)): Float64Array {
    const n = this.count;
    this.heap.set(y.subarray(0, n), this.io);
    this.kernels.backwardSubstitute(n, this.capacity, 0, this.io);
    out.set(this.heap.subarray(this.io, this.io + n));
    return out;
  }

  /**
   * `(A + sI)⁻¹b = L⁻ᵀL⁻¹b` by two triangular solves.
   *
   * @param out - optional result array of length ≥ N; may be `b` itself
   */
  solve(b: Float64Array, out: Float64Array = new Float64Array(this.count)): Float64Array {
    const n = this.count;
    this.heap.set(b.subarray(0, n), this.io);
    this.kernels.forwardSubstitute(n, this.capacity, 0, this.io);
    this.kernels.backwardSubstitute(n, this.capacity, 0, this.io);
    out.set(this.heap.subarray(this.io, this.io + n));
    return out;
  }

  /**
   * `(A + sI)v = L(Lᵀv)`, two triangular products, O(N²) without needing A.
   *
   * @param out - result array of length ≥ N, distinct from `v`
   */
  multiply(v: Float64Array, out: Float64Array = new Float64Array(this.count)): Float64Array {
    if (out === v) throw new RangeError('multiply cannot run in place');
    const n = this.count;
    this.heap.set(v.subarray(0, n), this.io);
    this.kernels.multiply(n, this.capacity, 0, this.io, this.product, this.transposed);
    out.set(this.heap.subarray(this.product, this.product + n));
    return out;
  }

  /**
   * Factors `K + jitter·I` from scratch (left-looking by blocks of columns,
   * O(N³)), replacing the current factor.
   *
   * @param K - symmetric n × n matrix, row-major (entries on and above the diagonal are read)
   * @param n - its order, ≤ capacity
   * @param jitter - the new diagonal jitter s; defaults to the current one
   * @returns false on breakdown, in which case the factor is left empty (size 0)
   */
  refactor(K: Float64Array, n: number, jitter: number = this.diagonalJitter): boolean {
    if (!Number.isInteger(n) || n < 0 || n > this.capacity) throw new RangeError(`order ${n} outside 0..${this.capacity}`);
    if (K.length < n * n) throw new RangeError(`K has ${K.length} entries, expected ${n * n}`);
    this.diagonalJitter = checkJitter(jitter);
    const stride = this.capacity;
    const factor = this.factor;
    for (let j = 0; j < n; j++) {
      const column = j * stride;
      for (let i = j; i < n; i++) factor[column + i] = K[j * n + i];
      factor[column + j] += this.diagonalJitter;
    }
    for (let first = 0; first < n; first += REFACTOR_BLOCK) {
      const end = Math.min(first + REFACTOR_BLOCK, n);
      this.subtractEarlierColumns(first, end, n);
      for (let j = first; j < end; j++) {
        const column = j * stride;
        for (let k = first; k < j; k++) {
          const earlier = k * stride;
          const weight = factor[earlier + j];
          for (let i = j; i < n; i++) factor[column + i] -= weight * factor[earlier + i];
        }
        const total = K[j * n + j] + this.diagonalJitter;
        const dSquared = factor[column + j];
        if (!(dSquared > this.breakdownTolerance * total)) {
          this.count = 0;
          return false;
        }
        const d = Math.sqrt(dSquared);
        factor[column + j] = d;
        for (let i = j + 1; i < n; i++) factor[column + i] /= d;
      }
    }
    this.count = n;
    return true;
  }

  /** Forgets every point (keeps the jitter). */
  clear(): void {
    this.count = 0;
  }

  // Second half of an append, once l = L⁻¹k is in the solved vector.
  private appendSolved(kappa: number): boolean {
    const n = this.count;
    const heap = this.heap;
    const l = this.solved;
    let explained = 0;
    for (let i = 0; i < n; i++) explained += heap[l + i] * heap[l + i];
    const total = kappa + this.diagonalJitter;
    const dSquared = total - explained;
    if (!(dSquared > this.breakdownTolerance * total)) return false;
    const stride = this.capacity;
    for (let j = 0; j < n; j++) this.factor[j * stride + n] = heap[l + j];
    this.factor[n * stride + n] = Math.sqrt(dSquared);
    this.count = n + 1;
    return true;
  }

  // Subtracts the contributions of every finished column k < first from the
  // block's columns first..end−1. Four target columns share each pass over an
  // earlier column, so the O(N³) traffic streams each earlier column from
  // memory once per block instead of once per column.
  private subtractEarlierColumns(first: number, end: number, n: number): void {
    const stride = this.capacity;
    const factor = this.factor;
    if (end - first < REFACTOR_BLOCK) {
      for (let j = first; j < end; j++) {
        const column = j * stride;
        for (let k = 0; k < first; k++) {
          const earlier = k * stride;
          const weight = factor[earlier + j];
          for (let i = j; i < n; i++) factor[column + i] -= weight * factor[earlier + i];
        }
      }
      return;
    }
    const c0 = first * stride;
    const c1 = c0 + stride;
    const c2 = c1 + stride;
    const c3 = c2 + stride;
    for (let k = 0; k < first; k++) {
      const earlier = k * stride;
      for (let j = first; j < end; j++) {
        const weight = factor[earlier + j];
        const column = j * stride;
        for (let i = j; i < end; i++) factor[column + i] -= weight * factor[earlier + i];
      }
      const w0 = factor[earlier + first];
      const w1 = factor[earlier + first + 1];
      const w2 = factor[earlier + first + 2];
      const w3 = factor[earlier + first + 3];
      for (let i = end; i < n; i++) {
        const value = factor[earlier + i];
        factor[c0 + i] -= w0 * value;
        factor[c1 + i] -= w1 * value;
        factor[c2 + i] -= w2 * value;
        factor[c3 + i] -= w3 * value;
      }
    }
  }

  private checkIndex(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new RangeError(`index ${i} outside 0..${this.count - 1}`);
  }
}

// Columns per block of the from-scratch factorisation; subtractEarlierColumns is unrolled for exactly this many.
const REFACTOR_BLOCK = 4;

function checkJitter(jitter: number): number {
  if (!Number.isFinite(jitter) || jitter < 0) throw new RangeError(`jitter must be finite and ≥ 0, got ${jitter}`);
  return jitter;
}
