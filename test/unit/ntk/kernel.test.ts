import { describe, expect, it } from 'vitest';
import { ModelError } from '../../../src/errors.js';
import type { Activation, ArchitectureSpec } from '../../../src/spec/architecture-spec.js';
import { crossKernel, gramMatrices, gramMatrix, kernelDiag, kernelPair } from '../../../src/ntk/index.js';
import { jacobiEigenvalues, randomMatrix, referenceKernel, relativeError, rowsOf, seededRandom } from './reference.js';

const ACTIVATIONS: readonly Activation[] = ['relu', 'erf'];

// Depth counts every dense layer: trunk hidden + head hidden + read-out.
function specOfDepth(activation: Activation, depth: number, inputDim: number, sigmaW2: number, sigmaB2: number): ArchitectureSpec {
  const hiddenLayers = depth - 1;
  const trunk = Math.ceil(hiddenLayers / 2);
  return {
    inputDim,
    hidden: Array.from({ length: trunk }, () => 512),
    headHidden: Array.from({ length: hiddenLayers - trunk }, () => 64),
    activation,
    sigmaW2,
    sigmaB2,
  };
}

const TOLERANCE = 1e-12;

describe('kernel values against quadrature of the recursion', () => {
  for (const activation of ACTIVATIONS) {
    for (let depth = 1; depth <= 4; depth++) {
      it(`${activation}, depth ${depth}, random σ's and inputs`, () => {
        const random = seededRandom(1000 * depth + (activation === 'relu' ? 1 : 2));
        for (let trial = 0; trial < 4; trial++) {
          const inputDim = 2 + trial;
          const spec = specOfDepth(activation, depth, inputDim, 0.5 + 2.5 * random.uniform(), 0.5 * random.uniform());
          const X = randomMatrix(random, 4, inputDim, 0.5 + 1.5 * random.uniform());
          const ntk = gramMatrix(spec, X, 'ntk');
          const nngp = gramMatrix(spec, X, 'nngp');
          for (let i = 0; i < 4; i++) {
            for (let j = i; j < 4; j++) {
              const expected = referenceKernel(spec, rowsOf(X, inputDim, i, i + 1), rowsOf(X, inputDim, j, j + 1));
              expect(relativeError([ntk[i * 4 + j]], [expected.ntk])).toBeLessThan(TOLERANCE);
              expect(relativeError([nngp[i * 4 + j]], [expected.nngp])).toBeLessThan(TOLERANCE);
            }
          }
        }
      });
    }
  }

  it('depth 1 is the linear kernel σ_w²·x·x′/D₀ + σ_b² for both kinds', () => {
    const spec = specOfDepth('relu', 1, 3, 1.7, 0.3);
    const x = Float64Array.of(1, -2, 0.5);
    const xPrime = Float64Array.of(0.25, 1, -4);
    const linear = (1.7 * (0.25 - 2 - 2)) / 3 + 0.3;
    expect(kernelPair(spec, x, xPrime, 'ntk')).toBeCloseTo(linear, 14);
    expect(kernelPair(spec, x, xPrime, 'nngp')).toBeCloseTo(linear, 14);
  });
});

describe('special inputs', () => {
  for (const activation of ACTIVATIONS) {
    it(`${activation}: duplicate rows give bit-identical entries (c = 1 exactly) and match quadrature`, () => {
      const spec = specOfDepth(activation, 4, 3, 2, 0.1);
      const x = Float64Array.of(0.3, -1.2, 2.2);
      const X = Float64Array.of(...x, ...x, 1, 0, -1);
      for (const kind of ['ntk', 'nngp'] as const) {
        const gram = gramMatrix(spec, X, kind);
        expect(gram[1]).toBe(gram[0]);
        expect(gram[4]).toBe(gram[0]);
        expect(gram[1 * 3 + 2]).toBe(gram[0 * 3 + 2]);
        expect(relativeError([gram[1]], [referenceKernel(spec, x, x)[kind]])).toBeLessThan(TOLERANCE);
        expect(Math.min(...jacobiEigenvalues(gram, 3))).toBeGreaterThan(-1e-12 * gram[0]);
      }
    });

    for (const sigmaB2 of [0, 0.2]) {
      it(`${activation}, σ_b² = ${sigmaB2}: negated rows match quadrature`, () => {
        for (let depth = 2; depth <= 4; depth++) {
          const spec = specOfDepth(activation, depth, 3, 1.5, sigmaB2);
          const x = Float64Array.of(0.7, -0.4, 1.9);
          const negated = x.map((v) => -v);
          for (const kind of ['ntk', 'nngp'] as const) {
            const expected = referenceKernel(spec, x, negated)[kind];
            expect(Math.abs(kernelPair(spec, x, negated, kind) - expected)).toBeLessThan(TOLERANCE * kernelPair(spec, x, x, kind));
          }
        }
      });
    }

    it(`${activation}: the zero vector with σ_b² = 0 has an all-zero row and column, never NaN`, () => {
      const spec = specOfDepth(activation, 4, 3, 2, 0);
      const X = Float64Array.of(0, 0, 0, 1, 2, 3, -1, 0.5, 0);
      for (const kind of ['ntk', 'nngp'] as const) {
        const gram = gramMatrix(spec, X, kind);
        expect(gram.every(Number.isFinite)).toBe(true);
        for (let k = 0; k < 3; k++) {
          expect(gram[k]).toBe(0);
          expect(gram[k * 3]).toBe(0);
        }
        expect(gram[4]).toBeGreaterThan(0);
      }
    });

    it(`${activation}: the zero vector with σ_b² > 0 matches quadrature`, () => {
      const spec = specOfDepth(activation, 3, 2, 1.3, 0.4);
      const zero = new Float64Array(2);
      const x = Float64Array.of(1.5, -0.5);
      for (const kind of ['ntk', 'nngp'] as const) {
        expect(relativeError([kernelPair(spec, zero, x, kind)], [referenceKernel(spec, zero, x)[kind]])).toBeLessThan(TOLERANCE);
        expect(relativeError([kernelPair(spec, zero, zero, kind)], [referenceKernel(spec, zero, zero)[kind]])).toBeLessThan(TOLERANCE);
      }
    });
  }
});

describe('Gram and cross matrices', () => {
  for (const activation of ACTIVATIONS) {
    it(`${activation}: Gram is exactly symmetric and positive semi-definite, duplicates included`, () => {
      const random = seededRandom(activation === 'relu' ? 7 : 8);
      const spec = specOfDepth(activation, 3, 4, 2, 0.05);
      const distinct = randomMatrix(random, 20, 4);
      const X = Float64Array.of(...distinct, ...rowsOf(distinct, 4, 0, 5));
      const n = 25;
      for (const kind of ['ntk', 'nngp'] as const) {
        const gram = gramMatrix(spec, X, kind);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(gram[i * n + j]).toBe(gram[j * n + i]);
        const eigenvalues = jacobiEigenvalues(gram, n);
        expect(eigenvalues[0]).toBeGreaterThan(-1e-12 * eigenvalues[n - 1]);
      }
    });
  }

  it('gramMatrices gives both kinds exactly as gramMatrix does', () => {
    for (const activation of ACTIVATIONS) {
      const spec = specOfDepth(activation, 3, 4, 2, 0.1);
      const X = randomMatrix(seededRandom(13), 9, 4);
      const { nngp, ntk } = gramMatrices(spec, X);
      expect(nngp).toEqual(gramMatrix(spec, X, 'nngp'));
      expect(ntk).toEqual(gramMatrix(spec, X, 'ntk'));
      expect(ntk).not.toEqual(nngp);
    }
  });

  it('kernelDiag, kernelPair and crossKernel agree exactly with the Gram matrix', () => {
    const random = seededRandom(11);
    const spec = specOfDepth('erf', 4, 3, 1.8, 0.2);
    const X = randomMatrix(random, 6, 3);
    const gram = gramMatrix(spec, X);
    const diagonal = kernelDiag(spec, X);
    const cross = crossKernel(spec, rowsOf(X, 3, 0, 2), X);
    for (let i = 0; i < 6; i++) {
      expect(diagonal[i]).toBe(gram[i * 6 + i]);
      expect(kernelPair(spec, rowsOf(X, 3, i, i + 1), rowsOf(X, 3, 5, 6))).toBe(gram[i * 6 + 5]);
    }
    for (let i = 0; i < 2; i++) for (let j = 0; j < 6; j++) expect(cross[i * 6 + j]).toBe(gram[i * 6 + j]);
  });

  it('rejects rows that do not fit inputDim', () => {
    const spec = specOfDepth('relu', 2, 3, 2, 0);
    expect(() => gramMatrix(spec, new Float64Array(7))).toThrow(ModelError);
    expect(() => kernelPair(spec, new Float64Array(3), new Float64Array(2))).toThrow(ModelError);
  });
});
