import { hypot } from '../math/hypot.js';

/** Eigendecomposition `A = Σⱼ λⱼ vⱼvⱼᵀ` of a symmetric matrix. */
export interface SymmetricEigen {
  /** Eigenvalues λ, ascending. */
  readonly values: Float64Array;
  /** n × n row-major; row j is the unit eigenvector of `values[j]`. */
  readonly vectors: Float64Array;
}

/**
 * Eigenvalues and orthonormal eigenvectors of a symmetric n × n matrix
 * (row-major; the input is not modified): Householder reduction to
 * tridiagonal form, then implicit QL iterations (EISPACK tred2/tql2 as in
 * JAMA). O(n³), backward stable.
 *
 * @throws RangeError when the matrix has the wrong size or a non-finite entry, or QL fails to converge
 */
export function symmetricEigen(A: Float64Array, n: number): SymmetricEigen {
  requireSymmetricInput(A, n);
  const values = new Float64Array(n);
  if (n === 0) return { values, vectors: new Float64Array(0) };
  const offDiagonal = new Float64Array(n);
  const columns = A.slice(0, n * n);
  householderTridiagonalise(columns, n, values, offDiagonal, true);
  // QL rotates pairs of eigenvectors; as rows they are contiguous.
  const vectors = transpose(columns, n);
  implicitQl(vectors, n, values, offDiagonal);
  return { values, vectors };
}

/**
 * The eigenvalues alone, ascending: the same reduction and QL iterations as
 * {@link symmetricEigen} without accumulating the eigenvectors, which is
 * most of its work (a 64 × 64 kernel's spectrum, taken on every step under
 * `learningRate: auto`, costs about a fifth).
 *
 * @throws RangeError as {@link symmetricEigen}
 */
export function symmetricEigenvalues(A: Float64Array, n: number): Float64Array {
  requireSymmetricInput(A, n);
  const values = new Float64Array(n);
  if (n === 0) return values;
  const offDiagonal = new Float64Array(n);
  householderTridiagonalise(A.slice(0, n * n), n, values, offDiagonal, false);
  implicitQl(undefined, n, values, offDiagonal);
  return values;
}

function requireSymmetricInput(A: Float64Array, n: number): void {
  if (!Number.isInteger(n) || n < 0 || A.length < n * n) throw new RangeError(`expected an ${n} × ${n} matrix`);
  for (let i = 0; i < n * n; i++) if (!Number.isFinite(A[i])) throw new RangeError(`matrix entry ${i} is not finite`);
}

// tred2: on exit V (row-major, eigenvectors of the tridiagonal problem as
// columns) holds the accumulated transformation when `accumulate`, d the
// diagonal, e[1..] the sub-diagonal.
function householderTridiagonalise(V: Float64Array, n: number, d: Float64Array, e: Float64Array, accumulate: boolean): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j * n + i] = f;
        g = e[j] + V[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j] * d[k];
          e[k] += V[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k] + g * d[k];
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  if (!accumulate) {
    // The reduction leaves the tridiagonal's diagonal on V's.
    for (let j = 0; j < n; j++) d[j] = V[j * n + j];
    e[0] = 0;
    return;
  }
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i];
    V[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1] * V[k * n + j];
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j];
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

// tql2 with the eigenvectors stored as rows of Z (tql1 without Z); sorts ascending at the end.
function implicitQl(Z: Float64Array | undefined, n: number, d: Float64Array, e: Float64Array): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let shiftSum = 0;
  let magnitude = 0;
  const epsilon = 2 ** -52;
  const maxIterations = 60;
  for (let l = 0; l < n; l++) {
    magnitude = Math.max(magnitude, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > epsilon * magnitude) m++;
    if (m > l) {
      let iterations = 0;
      do {
        if (++iterations > maxIterations) throw new RangeError('symmetric eigen-solver did not converge');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        shiftSum += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (!Z) continue;
          const lower = i * n;
          const upper = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const next = Z[upper + k];
            Z[upper + k] = s * Z[lower + k] + c * next;
            Z[lower + k] = c * Z[lower + k] - s * next;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > epsilon * magnitude);
    }
    d[l] += shiftSum;
    e[l] = 0;
  }
  for (let i = 0; i < n - 1; i++) {
    let smallest = i;
    for (let j = i + 1; j < n; j++) if (d[j] < d[smallest]) smallest = j;
    if (smallest !== i) {
      const value = d[smallest];
      d[smallest] = d[i];
      d[i] = value;
      for (let k = 0; Z && k < n; k++) {
        const swapped = Z[i * n + k];
        Z[i * n + k] = Z[smallest * n + k];
        Z[smallest * n + k] = swapped;
      }
    }
  }
}

function transpose(M: Float64Array, n: number): Float64Array {
  const T = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) T[j * n + i] = M[i * n + j];
  return T;
}
