import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import { type KernelKind, type PreparedPoints, preparePoints, preparedKernel } from './kernel.js';
import { triangularKernels, type TriangularKernels } from './triangular-kernels.js';

/**
 * What a GP's predictions need, detached from the GP that keeps learning: the
 * window's prepared points, `α = (Θ_NN + sI)⁻¹y` and the Cholesky factor.
 * Plain typed arrays, so it can be handed to another thread; nothing in it
 * changes after it is taken.
 */
export interface GpPosterior {
  readonly spec: ArchitectureSpec;
  readonly kind: KernelKind;
  /** Points in the window, N. */
  readonly count: number;
  /** The jitter s on the factor's diagonal. */
  readonly noise: number;
  readonly points: PreparedPoints;
  /** `(Θ_NN + sI)⁻¹y`, N entries. */
  readonly alpha: Float64Array;
  /** The factor L, column-major N × N: entry (i, j), i ≥ j, at `j·N + i`. */
  readonly factor: Float64Array;
}

/**
 * Solves against posteriors' factors with the triangular kernels
 * (WebAssembly SIMD where the runtime has it, as the GP itself does). Keeps
 * one heap, sized for the largest window seen, and copies a posterior's
 * factor into it when asked about a posterior other than the last one.
 */
export class PosteriorSolver {
  private kernels: TriangularKernels | undefined;
  private capacity = 0;
  private loaded: GpPosterior | undefined;

  /** `row ← L⁻¹row` for the posterior's factor L (first N entries). */
  forwardSolve(posterior: GpPosterior, row: Float64Array): void {
    const n = posterior.count;
    if (this.loaded !== posterior) {
      if (!this.kernels || n > this.capacity) {
        this.capacity = Math.max(n, 1);
        this.kernels = triangularKernels(this.capacity * this.capacity + this.capacity);
      }
      this.kernels.heap.set(posterior.factor.subarray(0, n * n));
      this.loaded = posterior;
    }
    const kernels = this.kernels!;
    const b = this.capacity * this.capacity;
    kernels.heap.set(row.subarray(0, n), b);
    kernels.forwardSubstitute(n, n, 0, b);
    row.set(kernels.heap.subarray(b, b + n));
  }
}

/**
 * Posterior mean and latent variance at one point, with the very operations,
 * in the same order, of IncrementalGP.predict (the kernel row, the dot with α,
 * the forward substitution of the triangular kernels), so both give
 * bit-identical numbers for the same window.
 */
export function posteriorAt(posterior: GpPosterior, x: Float64Array, solver: PosteriorSolver): { mean: number; variance: number } {
  const { spec, kind, count: n, points, alpha } = posterior;
  const test = preparePoints(spec, x);
  const row = new Float64Array(n);
  let mean = 0;
  for (let j = 0; j < n; j++) {
    const k = preparedKernel(spec, points, j, test, 0, kind);
    row[j] = k;
    mean += k * alpha[j]!;
  }
  solver.forwardSolve(posterior, row);
  let explained = 0;
  for (let j = 0; j < n; j++) explained += row[j]! * row[j]!;
  const prior = preparedKernel(spec, test, 0, test, 0, kind);
  return { mean, variance: Math.max(prior - explained, 0) };
}
