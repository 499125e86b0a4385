import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import { type KernelKind, type PreparedPoints, preparePoints, preparedKernel } from './kernel.js';

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
 * Posterior mean and latent variance at one point, with the very operations,
 * in the same order, of IncrementalGP.predict (the kernel row, the dot with α,
 * the column-oriented forward substitution of the triangular kernels), so
 * both give bit-identical numbers for the same window.
 */
export function posteriorAt(posterior: GpPosterior, x: Float64Array): { mean: number; variance: number } {
  const { spec, kind, count: n, points, alpha, factor } = posterior;
  const test = preparePoints(spec, x);
  const row = new Float64Array(n);
  let mean = 0;
  for (let j = 0; j < n; j++) {
    const k = preparedKernel(spec, points, j, test, 0, kind);
    row[j] = k;
    mean += k * alpha[j]!;
  }
  for (let j = 0; j < n; j++) {
    const column = j * n;
    const solved = row[j]! / factor[column + j]!;
    row[j] = solved;
    for (let i = j + 1; i < n; i++) row[i]! -= factor[column + i]! * solved;
  }
  let explained = 0;
  for (let j = 0; j < n; j++) explained += row[j]! * row[j]!;
  const prior = preparedKernel(spec, test, 0, test, 0, kind);
  return { mean, variance: Math.max(prior - explained, 0) };
}
