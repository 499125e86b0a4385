/**
 * tangent's NTK-GP baseline as a library: the analytic infinite-width kernels
 * of an {@link ArchitectureSpec} (NTK and NNGP), an O(N²)-per-point Cholesky
 * factor of a sliding window, and the windowed GP built on both, with
 * finite-time (gradient-descent) predictions and the learning-rate stability
 * margin. Everything is TypeScript over Float64Array, except the factor's
 * O(N²) loops, which run in WebAssembly SIMD where the runtime has it (the
 * TypeScript loops remain as fallback and test oracle).
 *
 * @packageDocumentation
 */
export type { Activation, ArchitectureSpec } from '../spec/architecture-spec.js';
export { DPHI_DPHI, PHI_PHI, gaussianExpectations } from './gaussian-expectations.js';
export {
  type KernelKind,
  type PreparedPoints,
  allocatePreparedPoints,
  crossKernel,
  gramMatrices,
  gramMatrix,
  kernelDepth,
  kernelDiag,
  kernelPair,
  preparePointInto,
  preparePoints,
  preparedKernel,
} from './kernel.js';
export {
  DEFAULT_BREAKDOWN_TOLERANCE,
  IncrementalCholesky,
  type IncrementalCholeskyOptions,
} from './incremental-cholesky.js';
export {
  type EigenIterationOptions,
  type GPPrediction,
  IncrementalGP,
  type IncrementalGPOptions,
  type IncrementalGPState,
} from './incremental-gp.js';
export { type SymmetricEigen, symmetricEigen, symmetricEigenvalues } from './symmetric-eigen.js';
export { type TriangularBackend, defaultBackend } from './triangular-kernels.js';
