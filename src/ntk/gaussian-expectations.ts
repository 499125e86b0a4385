import type { Activation } from '../spec/architecture-spec.js';

/**
 * Index of E[φ(u)φ(v)] in the buffer written by {@link gaussianExpectations}.
 */
export const PHI_PHI = 0;

/**
 * Index of E[φ'(u)φ'(v)] in the buffer written by {@link gaussianExpectations}.
 */
export const DPHI_DPHI = 1;

/**
 * The two Gaussian expectations the kernel recursion needs, for
 * `(u, v) ~ N(0, [[k11, k12], [k12, k22]])`, in the closed forms of DESIGN §4.
 *
 * Writes `out[PHI_PHI] = E[φ(u)φ(v)]` and `out[DPHI_DPHI] = E[φ'(u)φ'(v)]`
 * into a caller-owned buffer because the Gram loop calls this n²·depth times
 * and must not allocate.
 *
 * ReLU's angle uses `c = k12/√(k11·k22)` (one square root of the product) so
 * that identical inputs give `c = 1` exactly; when `k11·k22 = 0` (a zero input
 * with σ_b² = 0) the angle is taken as π/2, where both expectations are finite
 * and get multiplied by a zero covariance anyway.
 *
 * @param activation - the network's non-linearity φ
 * @param k11 - Var(u)
 * @param k22 - Var(v)
 * @param k12 - Cov(u, v)
 * @param out - buffer of length ≥ 2 receiving the two expectations
 */
export function gaussianExpectations(
  activation: Activation,
  k11: number,
  k22: number,
  k12: number,
  out: Float64Array,
): void {
  switch (activation) {
    case 'relu': {
      const varianceProduct = k11 * k22;
      const angle =
        varianceProduct === 0 ? Math.PI / 2 : Math.acos(clip(k12 / Math.sqrt(varianceProduct), -1, 1));
      const remaining = Math.PI - angle;
      out[PHI_PHI] = (Math.sqrt(Math.max(varianceProduct - k12 * k12, 0)) + remaining * k12) / (2 * Math.PI);
      out[DPHI_DPHI] = remaining / (2 * Math.PI);
      return;
    }
    case 'erf': {
      const scaledProduct = (1 + 2 * k11) * (1 + 2 * k22);
      out[PHI_PHI] = (2 / Math.PI) * Math.asin(clip((2 * k12) / Math.sqrt(scaledProduct), -1, 1));
      out[DPHI_DPHI] = 4 / Math.PI / Math.sqrt(scaledProduct - 4 * k12 * k12);
      return;
    }
  }
}

function clip(value: number, low: number, high: number): number {
  return value < low ? low : value > high ? high : value;
}
