import { describe, expect, it } from 'vitest';
import { symmetricEigen, symmetricEigenvalues } from '../../../src/ntk/index.js';
import { jacobiEigenvalues, randomMatrix, relativeError, seededRandom } from './reference.js';

function randomSymmetric(seed: number, n: number): Float64Array {
  const M = randomMatrix(seededRandom(seed), n, n);
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = M[i * n + j] + M[j * n + i];
  return A;
}

function expectDecomposition(A: Float64Array, n: number): void {
  const { values, vectors } = symmetricEigen(A, n);
  let scale = 0;
  for (const value of values) scale = Math.max(scale, Math.abs(value));
  for (let k = 0; k + 1 < n; k++) expect(values[k]).toBeLessThanOrEqual(values[k + 1]);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      let product = 0;
      for (let j = 0; j < n; j++) product += A[i * n + j] * vectors[k * n + j];
      expect(Math.abs(product - values[k] * vectors[k * n + i])).toBeLessThan(1e-12 * Math.max(scale, 1));
    }
    for (let l = 0; l < n; l++) {
      let dot = 0;
      for (let j = 0; j < n; j++) dot += vectors[k * n + j] * vectors[l * n + j];
      expect(Math.abs(dot - (k === l ? 1 : 0))).toBeLessThan(1e-12);
    }
  }
  expect(relativeError(values, jacobiEigenvalues(A, n))).toBeLessThan(1e-12);
}

describe('symmetricEigen', () => {
  it('decomposes random symmetric matrices: A·v = λ·v, orthonormal, ascending, equal to Jacobi', () => {
    for (const n of [1, 2, 5, 30]) expectDecomposition(randomSymmetric(n, n), n);
  });

  it('handles repeated eigenvalues, a diagonal matrix and a rank-one matrix', () => {
    const identity = new Float64Array(16);
    for (let i = 0; i < 4; i++) identity[i * 4 + i] = 1;
    expectDecomposition(identity, 4);
    expectDecomposition(Float64Array.of(3, 0, 0, 0, -1, 0, 0, 0, 2), 3);
    const ones = new Float64Array(25).fill(1);
    expectDecomposition(ones, 5);
    expect(symmetricEigen(ones, 5).values[4]).toBeCloseTo(5, 13);
  });

  it('returns nothing for an empty matrix and leaves its input untouched', () => {
    expect(symmetricEigen(new Float64Array(0), 0).values.length).toBe(0);
    const A = randomSymmetric(99, 6);
    const copy = A.slice();
    symmetricEigen(A, 6);
    expect(A).toEqual(copy);
  });

  it('refuses non-finite input', () => {
    expect(() => symmetricEigen(Float64Array.of(1, Number.NaN, Number.NaN, 2), 2)).toThrow(RangeError);
  });
});

describe('symmetricEigenvalues', () => {
  it('gives the eigenvalues of symmetricEigen, ascending, on random, repeated, diagonal and rank-one matrices', () => {
    const identity = new Float64Array(16);
    for (let i = 0; i < 4; i++) identity[i * 4 + i] = 1;
    const cases: [Float64Array, number][] = [
      ...[1, 2, 5, 30, 64].map((n): [Float64Array, number] => [randomSymmetric(n + 7, n), n]),
      [identity, 4],
      [Float64Array.of(3, 0, 0, 0, -1, 0, 0, 0, 2), 3],
      [new Float64Array(25).fill(1), 5],
    ];
    for (const [A, n] of cases) {
      const values = symmetricEigenvalues(A, n);
      expect(relativeError(values, symmetricEigen(A, n).values)).toBeLessThan(1e-13);
      expect(relativeError(values, jacobiEigenvalues(A, n))).toBeLessThan(1e-12);
    }
  });

  it('returns nothing for an empty matrix, leaves its input untouched and refuses non-finite input', () => {
    expect(symmetricEigenvalues(new Float64Array(0), 0).length).toBe(0);
    const A = randomSymmetric(98, 6);
    const copy = A.slice();
    symmetricEigenvalues(A, 6);
    expect(A).toEqual(copy);
    expect(() => symmetricEigenvalues(Float64Array.of(1, Number.NaN, Number.NaN, 2), 2)).toThrow(RangeError);
  });
});
