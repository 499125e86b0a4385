import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { kolmogorovSurvival, ksTwoSample } from '../../../src/drift/kolmogorov-smirnov.js';
import { riverVectors } from './river-vectors.js';

/** max over pooled points of |F_a − F_b|, counted the slow obvious way. */
function naiveStatistic(a: readonly number[], b: readonly number[]): number {
  const ecdf = (sample: readonly number[], x: number) => sample.filter((v) => v <= x).length / sample.length;
  return Math.max(...[...a, ...b].map((x) => Math.abs(ecdf(a, x) - ecdf(b, x))));
}

describe('ksTwoSample', () => {
  it.each(riverVectors.ksTests.map((c) => [c.a.length, c.statistic, c.pValue, c] as const))(
    'equals scipy.stats.ks_2samp(method="auto") exactly: n = %i, D = %f, p = %f',
    (_n, _d, _p, testCase) => {
      const result = ksTwoSample(testCase.a, testCase.b);
      expect(result.method).toBe('exact');
      // Only + − × ÷ on small integers and doubles: no reason for even one ulp of difference.
      expect(result.statistic).toBe(testCase.statistic);
      expect(result.pValue).toBe(testCase.pValue);
    },
  );

  it('is symmetric in its two samples and ignores their order', () => {
    const sample = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(sample, sample, (a, b) => {
        const forward = ksTwoSample(a, b);
        const backward = ksTwoSample([...b].reverse(), [...a].reverse());
        expect(backward.statistic).toBe(forward.statistic);
        expect(backward.pValue).toBe(forward.pValue);
        const reference = naiveStatistic(a, b);
        // Equal sizes snap D to the lattice k/n, as scipy does.
        expect(forward.statistic).toBeCloseTo(reference, 12);
        expect(forward.statistic).toBeGreaterThanOrEqual(0);
        expect(forward.statistic).toBeLessThanOrEqual(1);
        expect(forward.pValue).toBeGreaterThanOrEqual(0);
        expect(forward.pValue).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('gives D = 1 and a tiny p for disjoint samples, D = 0 and p = 1 for identical ones', () => {
    const low = Array.from({ length: 30 }, (_, i) => i);
    const high = low.map((x) => x + 100);
    expect(ksTwoSample(low, high).statistic).toBe(1);
    expect(ksTwoSample(low, high).pValue).toBeLessThan(1e-15);
    expect(ksTwoSample(low, low)).toEqual({ statistic: 0, pValue: 1, method: 'exact' });
  });

  it('falls back to the asymptotic Kolmogorov distribution for unequal sizes', () => {
    const a = Array.from({ length: 40 }, (_, i) => i / 40);
    const b = Array.from({ length: 60 }, (_, i) => 0.3 + i / 60);
    const result = ksTwoSample(a, b);
    expect(result.method).toBe('asymptotic');
    expect(result.statistic).toBe(naiveStatistic(a, b));
    expect(result.pValue).toBe(kolmogorovSurvival(Math.sqrt((40 * 60) / 100) * result.statistic));
  });

  it('rejects an empty sample', () => {
    expect(() => ksTwoSample([], [1])).toThrow(RangeError);
  });
});

describe('kolmogorovSurvival', () => {
  it('matches the textbook critical values', () => {
    expect(kolmogorovSurvival(1.3581)).toBeCloseTo(0.05, 4);
    expect(kolmogorovSurvival(1.6276)).toBeCloseTo(0.01, 4);
    expect(kolmogorovSurvival(0.8276)).toBeCloseTo(0.5, 3);
    expect(kolmogorovSurvival(0)).toBe(1);
  });

  it('is continuous where it switches series, at z = 1', () => {
    expect(kolmogorovSurvival(1 - 1e-12)).toBeCloseTo(kolmogorovSurvival(1), 10);
  });

  it('decreases monotonically', () => {
    let previous = 1;
    for (let z = 0.05; z < 4; z += 0.05) {
      const q = kolmogorovSurvival(z);
      expect(q).toBeLessThanOrEqual(previous);
      previous = q;
    }
  });
});
