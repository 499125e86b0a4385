import { ModelError } from '../errors.js';
import { type ArchitectureSpec, layerWidths } from '../spec/architecture-spec.js';
import { DPHI_DPHI, PHI_PHI, gaussianExpectations } from './gaussian-expectations.js';

/**
 * Which infinite-width kernel to evaluate: the neural tangent kernel Θ (the
 * network trained by gradient descent) or the NNGP kernel K (the network at
 * initialisation, equivalently training only the read-out).
 */
export type KernelKind = 'ntk' | 'nngp';

/**
 * Points together with their per-layer self-covariances `Kˡ(x, x)`.
 *
 * Every pair's recursion needs both points' layer variances; computing them
 * once per point instead of once per pair is what makes a Gram matrix cost
 * n²·depth instead of 3·n²·depth expectation evaluations.
 */
export interface PreparedPoints {
  /** D₀, the length of one row. */
  readonly inputDim: number;
  /** Number of dense layers, read-out included (`layerWidths(spec).length`). */
  readonly depth: number;
  /** Rows, row-major, `inputDim` numbers per point. */
  readonly rows: Float64Array;
  /** `Kˡ(x, x)` for l = 1..depth, `depth` numbers per point. */
  readonly layerVariances: Float64Array;
}

// Reused by every expectation call: evaluation is synchronous and the Gram
// loop must not allocate per pair.
const expectations = new Float64Array(2);

/** Number of dense layers the kernel recursion runs over (trunk, head, read-out). */
export function kernelDepth(spec: ArchitectureSpec): number {
  return layerWidths(spec).length;
}

/**
 * Storage for `capacity` prepared points, to be filled with {@link preparePointInto}.
 * Used by callers that keep a window of points (the GP) and add them one by one.
 */
export function allocatePreparedPoints(spec: ArchitectureSpec, capacity: number): PreparedPoints {
  const depth = kernelDepth(spec);
  return {
    inputDim: spec.inputDim,
    depth,
    rows: new Float64Array(capacity * spec.inputDim),
    layerVariances: new Float64Array(capacity * depth),
  };
}

/**
 * Copies one row into `target` at `slot` and computes its layer variances.
 *
 * @param x - source array holding the row
 * @param offset - index in `x` where the row starts
 */
export function preparePointInto(
  spec: ArchitectureSpec,
  target: PreparedPoints,
  slot: number,
  x: Float64Array,
  offset = 0,
): void {
  const inputDim = target.inputDim;
  const rowStart = slot * inputDim;
  let squaredNorm = 0;
  for (let d = 0; d < inputDim; d++) {
    const value = x[offset + d];
    target.rows[rowStart + d] = value;
    squaredNorm += value * value;
  }
  const variancesStart = slot * target.depth;
  let variance = inputCovariance(spec, squaredNorm, inputDim);
  target.layerVariances[variancesStart] = variance;
  for (let layer = 1; layer < target.depth; layer++) {
    gaussianExpectations(spec.activation, variance, variance, variance, expectations);
    variance = nextCovariance(spec, expectations[PHI_PHI]);
    target.layerVariances[variancesStart + layer] = variance;
  }
}

/**
 * Prepares every row of a row-major matrix `X` (n × inputDim).
 *
 * @throws ModelError when `X.length` is not a multiple of `spec.inputDim`
 */
export function preparePoints(spec: ArchitectureSpec, X: Float64Array): PreparedPoints {
  const count = rowCount(spec, X, 'X');
  const prepared = allocatePreparedPoints(spec, count);
  for (let i = 0; i < count; i++) preparePointInto(spec, prepared, i, X, i * spec.inputDim);
  return prepared;
}

/**
 * The kernel between point `i` of `a` and point `j` of `b` (which may be the
 * same object). Identical rows take exactly the arithmetic path of the
 * self-covariances, so duplicates yield bit-identical entries and `c = 1`.
 */
export function preparedKernel(
  spec: ArchitectureSpec,
  a: PreparedPoints,
  i: number,
  b: PreparedPoints,
  j: number,
  kind: KernelKind,
): number {
  preparedKernelsInto(spec, a, i, b, j, pairKernels);
  return kind === 'ntk' ? pairKernels[NTK] : pairKernels[NNGP];
}

const NNGP = 0;
const NTK = 1;
// Both kinds of one pair, written by preparedKernelsInto without allocating.
const pairKernels = new Float64Array(2);

// One recursion gives both kinds: the NNGP covariance and, accumulated from it, the tangent kernel.
function preparedKernelsInto(spec: ArchitectureSpec, a: PreparedPoints, i: number, b: PreparedPoints, j: number, out: Float64Array): void {
  const inputDim = a.inputDim;
  const depth = a.depth;
  const aRow = i * inputDim;
  const bRow = j * inputDim;
  let dot = 0;
  for (let d = 0; d < inputDim; d++) dot += a.rows[aRow + d] * b.rows[bRow + d];

  const aVariances = i * depth;
  const bVariances = j * depth;
  let covariance = inputCovariance(spec, dot, inputDim);
  let tangent = covariance;
  for (let layer = 1; layer < depth; layer++) {
    gaussianExpectations(
      spec.activation,
      a.layerVariances[aVariances + layer - 1],
      b.layerVariances[bVariances + layer - 1],
      covariance,
      expectations,
    );
    covariance = nextCovariance(spec, expectations[PHI_PHI]);
    tangent = covariance + spec.sigmaW2 * tangent * expectations[DPHI_DPHI];
  }
  out[NNGP] = covariance;
  out[NTK] = tangent;
}

/** The kernel between two single points `x` and `xPrime` (each of length `spec.inputDim`). */
export function kernelPair(
  spec: ArchitectureSpec,
  x: Float64Array,
  xPrime: Float64Array,
  kind: KernelKind = 'ntk',
): number {
  requireLength(spec, x, 'x');
  requireLength(spec, xPrime, 'xPrime');
  const pair = allocatePreparedPoints(spec, 2);
  preparePointInto(spec, pair, 0, x);
  preparePointInto(spec, pair, 1, xPrime);
  return preparedKernel(spec, pair, 0, pair, 1, kind);
}

/** `k(xᵢ, xᵢ)` for every row of `X` (n × inputDim, row-major): the Gram matrix's diagonal without the rest. */
export function kernelDiag(spec: ArchitectureSpec, X: Float64Array, kind: KernelKind = 'ntk'): Float64Array {
  const prepared = preparePoints(spec, X);
  const count = X.length / spec.inputDim;
  const diagonal = new Float64Array(count);
  for (let i = 0; i < count; i++) diagonal[i] = preparedKernel(spec, prepared, i, prepared, i, kind);
  return diagonal;
}

/**
 * The n × n Gram matrix of the rows of `X` (n × inputDim, row-major), returned
 * row-major. Computed on the upper triangle and mirrored, so it is exactly symmetric.
 */
export function gramMatrix(spec: ArchitectureSpec, X: Float64Array, kind: KernelKind = 'ntk'): Float64Array {
  const prepared = preparePoints(spec, X);
  const count = X.length / spec.inputDim;
  const gram = new Float64Array(count * count);
  for (let i = 0; i < count; i++) {
    for (let j = i; j < count; j++) {
      const value = preparedKernel(spec, prepared, i, prepared, j, kind);
      gram[i * count + j] = value;
      gram[j * count + i] = value;
    }
  }
  return gram;
}

/**
 * Both Gram matrices of the rows of `X`, NNGP and NTK, from one recursion per
 * pair: each equal to its {@link gramMatrix}, for half the work of two calls.
 */
export function gramMatrices(spec: ArchitectureSpec, X: Float64Array): { readonly nngp: Float64Array; readonly ntk: Float64Array } {
  const prepared = preparePoints(spec, X);
  const count = X.length / spec.inputDim;
  const nngp = new Float64Array(count * count);
  const ntk = new Float64Array(count * count);
  for (let i = 0; i < count; i++) {
    for (let j = i; j < count; j++) {
      preparedKernelsInto(spec, prepared, i, prepared, j, pairKernels);
      nngp[i * count + j] = nngp[j * count + i] = pairKernels[NNGP];
      ntk[i * count + j] = ntk[j * count + i] = pairKernels[NTK];
    }
  }
  return { nngp, ntk };
}

/**
 * The m × n matrix `k(aᵢ, bⱼ)` between the rows of `A` (m × inputDim) and of
 * `B` (n × inputDim), row-major.
 */
export function crossKernel(
  spec: ArchitectureSpec,
  A: Float64Array,
  B: Float64Array,
  kind: KernelKind = 'ntk',
): Float64Array {
  const preparedA = preparePoints(spec, A);
  const preparedB = preparePoints(spec, B);
  const rows = A.length / spec.inputDim;
  const columns = B.length / spec.inputDim;
  const cross = new Float64Array(rows * columns);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < columns; j++) {
      cross[i * columns + j] = preparedKernel(spec, preparedA, i, preparedB, j, kind);
    }
  }
  return cross;
}

/**
 * Number of rows of a row-major matrix with `spec.inputDim` columns.
 *
 * @throws ModelError when the length does not fit
 */
export function rowCount(spec: ArchitectureSpec, X: Float64Array, name: string): number {
  if (X.length % spec.inputDim !== 0) {
    throw new ModelError(`${name} has ${X.length} numbers, not a multiple of inputDim ${spec.inputDim}`);
  }
  return X.length / spec.inputDim;
}

function requireLength(spec: ArchitectureSpec, x: Float64Array, name: string): void {
  if (x.length !== spec.inputDim) {
    throw new ModelError(`${name} has ${x.length} features, the architecture expects ${spec.inputDim}`);
  }
}

// The first layer and every later layer are written once each, so that the
// self-covariance and the pair recursion run the same floating-point operations.
function inputCovariance(spec: ArchitectureSpec, dot: number, inputDim: number): number {
  return (spec.sigmaW2 * dot) / inputDim + spec.sigmaB2;
}

function nextCovariance(spec: ArchitectureSpec, expectedProduct: number): number {
  return spec.sigmaW2 * expectedProduct + spec.sigmaB2;
}
