/** Result of a two-sided two-sample Kolmogorov–Smirnov test. */
export interface KsTestResult {
  /** sup |F_a − F_b| over the pooled sample. */
  readonly statistic: number;
  readonly pValue: number;
  /** `exact` for equal sample sizes (what KSWIN always has); `asymptotic` otherwise. */
  readonly method: 'exact' | 'asymptotic';
}

/**
 * Two-sided two-sample KS test, matching `scipy.stats.ks_2samp(a, b,
 * method='auto')` — which River's KSWIN calls — for equal sample sizes:
 * scipy's 'auto' picks the exact null distribution whenever both sizes are at
 * most 10 000, and for n₁ = n₂ that is `_compute_prob_outside_square`, ported
 * here with its operand order (checked against scipy in the fixture vectors).
 *
 * Unequal sizes never occur in KSWIN; for them this returns the asymptotic
 * Kolmogorov distribution Q(√(n₁n₂/(n₁+n₂))·D), the large-sample limit of
 * scipy's 'asymp' (which additionally applies a finite-n correction), rather
 * than porting scipy's exact unequal-size lattice-path count.
 */
export function ksTwoSample(a: readonly number[], b: readonly number[]): KsTestResult {
  if (a.length === 0 || b.length === 0) throw new RangeError('KS test needs two non-empty samples');
  const n1 = a.length;
  const n2 = b.length;
  const statistic = ecdfDistance(a, b);

  if (n1 === n2) {
    // scipy snaps D to the lattice of attainable values h/n before the exact sum.
    const h = Math.round(statistic * n1);
    const snapped = h / n1;
    const pValue = h === 0 ? 1 : clamp01(probabilityOutsideSquare(n1, h));
    return { statistic: snapped, pValue, method: 'exact' };
  }
  const effectiveSize = (n1 * n2) / (n1 + n2);
  return { statistic, pValue: clamp01(kolmogorovSurvival(Math.sqrt(effectiveSize) * statistic)), method: 'asymptotic' };
}

/** max |F_a(x) − F_b(x)| with right-continuous ECDFs evaluated at every pooled value, as scipy does. */
function ecdfDistance(a: readonly number[], b: readonly number[]): number {
  const sortedA = Float64Array.from(a).sort();
  const sortedB = Float64Array.from(b).sort();
  const n1 = sortedA.length;
  const n2 = sortedB.length;
  let i = 0;
  let j = 0;
  let maxAbove = Number.NEGATIVE_INFINITY;
  let maxBelow = 0;
  while (i < n1 || j < n2) {
    const x = j >= n2 || (i < n1 && sortedA[i] <= sortedB[j]) ? sortedA[i] : sortedB[j];
    while (i < n1 && sortedA[i] <= x) i += 1;
    while (j < n2 && sortedB[j] <= x) j += 1;
    const difference = i / n1 - j / n2;
    if (difference > maxAbove) maxAbove = difference;
    if (-difference > maxBelow) maxBelow = -difference;
  }
  return Math.max(Math.min(maxBelow, 1), maxAbove);
}

/**
 * P(D_{n,n} ≥ h/n) under H₀: scipy's Horner-like evaluation of
 * 2·Σ_k (−1)^(k−1)·C(2n, n−kh)/C(2n, n), which avoids the cancellation of the
 * alternating binomial sum.
 */
function probabilityOutsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k -= 1) {
    let term = 1;
    for (let j = 0; j < h; j += 1) {
      term = ((n - k * h - j) * term) / (n + k * h + j + 1);
    }
    p = term * (1 - p);
  }
  return 2 * p;
}

/** Survival function of the Kolmogorov distribution, Q(z) = P(K > z). */
export function kolmogorovSurvival(z: number): number {
  if (z <= 0) return 1;
  if (z < 1) {
    // The theta-function form converges fast for small z; the alternating series would not.
    const factor = Math.sqrt(2 * Math.PI) / z;
    const w = (Math.PI * Math.PI) / (8 * z * z);
    let cdf = 0;
    for (let k = 1; k <= 50; k += 1) {
      const term = Math.exp(-(2 * k - 1) * (2 * k - 1) * w);
      cdf += term;
      if (term < 1e-17 * cdf) break;
    }
    return 1 - factor * cdf;
  }
  let sum = 0;
  for (let k = 1; k <= 100; k += 1) {
    const term = Math.exp(-2 * k * k * z * z);
    sum += k % 2 === 1 ? term : -term;
    if (term < 1e-17) break;
  }
  return 2 * sum;
}

function clamp01(p: number): number {
  return Math.min(1, Math.max(0, p));
}
