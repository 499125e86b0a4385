/**
 * Independent reference computations for the NTK tests: plain dense linear
 * algebra and numerical Gaussian integration. Nothing here imports src/ntk, so
 * agreement is evidence, not tautology.
 */
import type { Activation, ArchitectureSpec } from '../../../src/spec/architecture-spec.js';

/** Seeded uniform and standard-normal draws (mulberry32 + Box–Muller). */
export interface Random {
  uniform(): number;
  normal(): number;
}

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => {
    const u = 1 - uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
  return { uniform, normal };
}

/** n × d row-major matrix of N(0, scale²) entries. */
export function randomMatrix(random: Random, n: number, d: number, scale = 1): Float64Array {
  const M = new Float64Array(n * d);
  for (let i = 0; i < M.length; i++) M[i] = scale * random.normal();
  return M;
}

/** Nodes and weights of the n-point Gauss–Legendre rule on [−1, 1] (Newton on Pₙ). */
export function gaussLegendre(n: number): { nodes: Float64Array; weights: Float64Array } {
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let derivative = 0;
    for (let iteration = 0; iteration < 100; iteration++) {
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= n; k++) {
        const p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      derivative = (n * (x * p1 - p0)) / (x * x - 1);
      const step = p1 / derivative;
      x -= step;
      if (Math.abs(step) < 1e-16) break;
    }
    nodes[i] = x;
    weights[i] = 2 / ((1 - x * x) * derivative * derivative);
  }
  return { nodes, weights };
}

const RULE = gaussLegendre(80);
// Standard-normal mass beyond ±10 is ~1e-23: far below the tolerances.
const TRUNCATION = 10;
const INVERSE_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

// ∫ₗₒʰⁱ f(z)·N(z; 0, 1) dz, split at the given interior breakpoints so that
// every piece is smooth (Gauss–Legendre then converges geometrically).
function integrateStandardNormal(f: (z: number) => number, breakpoints: number[]): number {
  const cuts = [-TRUNCATION, ...breakpoints.filter((b) => b > -TRUNCATION && b < TRUNCATION).sort((p, q) => p - q), TRUNCATION];
  let total = 0;
  for (let piece = 0; piece + 1 < cuts.length; piece++) {
    const low = cuts[piece];
    const high = cuts[piece + 1];
    const half = (high - low) / 2;
    const middle = (high + low) / 2;
    for (let k = 0; k < RULE.nodes.length; k++) {
      const z = middle + half * RULE.nodes[k];
      total += half * RULE.weights[k] * f(z) * INVERSE_SQRT_2PI * Math.exp(-0.5 * z * z);
    }
  }
  return total;
}

function activationFunction(activation: Activation): { phi: (u: number) => number; derivative: (u: number) => number } {
  if (activation === 'relu') return { phi: (u) => Math.max(u, 0), derivative: (u) => (u > 0 ? 1 : 0) };
  return { phi: erf, derivative: (u) => (2 / Math.sqrt(Math.PI)) * Math.exp(-u * u) };
}

/**
 * E[φ(u)φ(v)] and E[φ'(u)φ'(v)] for (u, v) ~ N(0, [[k11, k12], [k12, k22]]) by
 * product Gauss–Legendre quadrature in the Cholesky coordinates
 * u = a·z₁, v = b·z₁ + c·z₂, split at ReLU's kinks (z₁ = 0 and b·z₁ + c·z₂ = 0)
 * because Gauss–Hermite converges only algebraically across a kink.
 */
export function expectationsByQuadrature(
  activation: Activation,
  k11: number,
  k22: number,
  k12: number,
): { phiPhi: number; dphiDphi: number } {
  const { phi, derivative } = activationFunction(activation);
  const a = Math.sqrt(k11);
  const b = a > 0 ? k12 / a : 0;
  // b² ≠ k22 by rounding for collinear u, v (identical or negated inputs).
  // E[φ'φ'] for ReLU moves like √(1 − ρ) near ρ = 1, so a rounding-level
  // remainder would turn into a 1e-9 error: snap it to exact collinearity.
  const remainder = k22 - b * b;
  const c = remainder > 8 * Number.EPSILON * k22 ? Math.sqrt(remainder) : 0;
  // After the inner integration the z₁-integrand still turns from one
  // behaviour to another across a layer of width c/|b| around 0 (a near-kink
  // when u and v are almost collinear): grade the breakpoints geometrically
  // through it.
  const outerBreakpoints = [0];
  if (b !== 0 && c > 0) {
    for (let width = c / Math.abs(b); width < TRUNCATION; width *= 4) outerBreakpoints.push(width, -width);
  }
  const expectation = (f: (u: number, v: number) => number): number =>
    integrateStandardNormal(
      (z1) => integrateStandardNormal((z2) => f(a * z1, b * z1 + c * z2), c > 0 ? [(-b * z1) / c] : []),
      outerBreakpoints,
    );
  return {
    phiPhi: expectation((u, v) => phi(u) * phi(v)),
    dphiDphi: expectation((u, v) => derivative(u) * derivative(v)),
  };
}

/**
 * The DESIGN §4 recursion written out again, with quadrature instead of the
 * closed forms, over trunk + head + read-out layers.
 */
export function referenceKernel(
  spec: ArchitectureSpec,
  x: Float64Array,
  xPrime: Float64Array,
): { ntk: number; nngp: number } {
  const layers = spec.hidden.length + spec.headHidden.length + 1;
  const dot = (p: Float64Array, q: Float64Array): number => p.reduce((sum, value, i) => sum + value * q[i], 0);
  const first = (p: Float64Array, q: Float64Array): number => (spec.sigmaW2 * dot(p, q)) / spec.inputDim + spec.sigmaB2;
  let k11 = first(x, x);
  let k22 = first(xPrime, xPrime);
  let k12 = first(x, xPrime);
  let theta = k12;
  for (let layer = 2; layer <= layers; layer++) {
    const pair = expectationsByQuadrature(spec.activation, k11, k22, k12);
    const nextK12 = spec.sigmaW2 * pair.phiPhi + spec.sigmaB2;
    theta = nextK12 + spec.sigmaW2 * theta * pair.dphiDphi;
    k11 = spec.sigmaW2 * expectationsByQuadrature(spec.activation, k11, k11, k11).phiPhi + spec.sigmaB2;
    k22 = spec.sigmaW2 * expectationsByQuadrature(spec.activation, k22, k22, k22).phiPhi + spec.sigmaB2;
    k12 = nextK12;
  }
  return { ntk: theta, nngp: k12 };
}

/** erf to ~1e-16: a series without cancellation near 0, a continued fraction for erfc beyond. */
export function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const t = Math.abs(x);
  if (t < 3) {
    // erf(t) = 2/√π · e^(−t²) · Σ 2ⁿ t^(2n+1) / (2n+1)!!, all terms positive.
    let term = t;
    let sum = t;
    for (let n = 1; n < 500; n++) {
      term *= (2 * t * t) / (2 * n + 1);
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    return sign * ((2 / Math.sqrt(Math.PI)) * Math.exp(-t * t) * sum);
  }
  // Lentz's continued fraction for erfc(t) = exp(−t²)/√π · 1/(t + 1/2/(t + 1/(t + 3/2/(t + ...)))).
  let f = t;
  let C = t;
  let D = 0;
  for (let n = 1; n < 500; n++) {
    const an = n / 2;
    D = t + an * D;
    D = 1 / D;
    C = t + an / C;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-17) break;
  }
  return sign * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / f);
}

/** Dense Cholesky factor (row-major lower triangle) of a symmetric positive-definite matrix. */
export function denseCholesky(A: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = A[i * n + j];
      for (let k = 0; k < j; k++) sum -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(sum > 0)) throw new Error(`matrix not positive definite at pivot ${i}`);
        L[i * n + i] = Math.sqrt(sum);
      } else {
        L[i * n + j] = sum / L[j * n + j];
      }
    }
  }
  return L;
}

/** Solves A·x = b by Gaussian elimination with partial pivoting. */
export function denseSolve(A: Float64Array, n: number, b: Float64Array): Float64Array {
  const M = A.slice(0, n * n);
  const x = b.slice(0, n);
  for (let column = 0; column < n; column++) {
    let pivot = column;
    for (let row = column + 1; row < n; row++) if (Math.abs(M[row * n + column]) > Math.abs(M[pivot * n + column])) pivot = row;
    if (pivot !== column) {
      for (let k = 0; k < n; k++) [M[column * n + k], M[pivot * n + k]] = [M[pivot * n + k], M[column * n + k]];
      [x[column], x[pivot]] = [x[pivot], x[column]];
    }
    for (let row = column + 1; row < n; row++) {
      const factor = M[row * n + column] / M[column * n + column];
      for (let k = column; k < n; k++) M[row * n + k] -= factor * M[column * n + k];
      x[row] -= factor * x[column];
    }
  }
  for (let row = n - 1; row >= 0; row--) {
    let sum = x[row];
    for (let k = row + 1; k < n; k++) sum -= M[row * n + k] * x[k];
    x[row] = sum / M[row * n + row];
  }
  return x;
}

/** Eigenvalues (ascending) of a symmetric matrix by cyclic Jacobi rotations. */
export function jacobiEigenvalues(A: Float64Array, n: number): Float64Array {
  const M = A.slice(0, n * n);
  for (let sweep = 0; sweep < 100; sweep++) {
    let offDiagonal = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) offDiagonal += M[p * n + q] ** 2;
    if (offDiagonal < 1e-30 * frobeniusSquared(M)) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = M[p * n + q];
        if (apq === 0) continue;
        const tau = (M[q * n + q] - M[p * n + p]) / (2 * apq);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = M[k * n + p];
          const mkq = M[k * n + q];
          M[k * n + p] = c * mkp - s * mkq;
          M[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = M[p * n + k];
          const mqk = M[q * n + k];
          M[p * n + k] = c * mpk - s * mqk;
          M[q * n + k] = s * mpk + c * mqk;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = M[i * n + i];
  return values.sort();
}

function frobeniusSquared(M: Float64Array): number {
  return M.reduce((sum, value) => sum + value * value, 0);
}

/** max |actual − expected| / max |expected|: a scale-aware error for whole arrays. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let difference = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    difference = Math.max(difference, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return scale === 0 ? difference : difference / scale;
}

/** Rows `from..to−1` of a row-major matrix with `d` columns. */
export function rowsOf(X: Float64Array, d: number, from: number, to: number): Float64Array {
  return X.slice(from * d, to * d);
}
