import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ArchitectureSpec } from '../../../src/spec/architecture-spec.js';
import { IncrementalCholesky, gramMatrix } from '../../../src/ntk/index.js';
import { denseCholesky, denseSolve, randomMatrix, relativeError, rowsOf, seededRandom } from './reference.js';

const SPEC: ArchitectureSpec = { inputDim: 3, hidden: [256, 256], headHidden: [], activation: 'relu', sigmaW2: 2, sigmaB2: 0.1 };

function jitteredGram(points: Float64Array[], jitter: number): Float64Array {
  const n = points.length;
  const gram = gramMatrix(SPEC, Float64Array.from(points.flatMap((p) => [...p])));
  for (let i = 0; i < n; i++) gram[i * n + i] += jitter;
  return gram;
}

function appendPoint(factor: IncrementalCholesky, window: Float64Array[], point: Float64Array): boolean {
  const all = gramMatrix(SPEC, Float64Array.from([...window, point].flatMap((p) => [...p])));
  const n = window.length;
  const appended = factor.append(all.subarray(n * (n + 1), n * (n + 1) + n), all[n * (n + 1) + n]);
  if (appended) window.push(point);
  return appended;
}

function slidePoint(factor: IncrementalCholesky, window: Float64Array[], point: Float64Array): boolean {
  window.shift();
  const all = gramMatrix(SPEC, Float64Array.from([...window, point].flatMap((p) => [...p])));
  const n = window.length;
  const appended = factor.replaceOldest(all.subarray(n * (n + 1), n * (n + 1) + n), all[n * (n + 1) + n]);
  if (appended) window.push(point);
  return appended;
}

type Operation =
  | { kind: 'append'; point: number[] }
  | { kind: 'slide'; point: number[] }
  | { kind: 'duplicate'; of: number }
  | { kind: 'evict' };

const coordinates = fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 3, maxLength: 3 });
const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('append' as const), point: coordinates }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('slide' as const), point: coordinates }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), of: fc.nat() }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'evict' as const }) },
);

for (const backend of ['wasm-simd', 'typescript'] as const) describe(`IncrementalCholesky (${backend})`, () => {
  it('after any sequence of appends, evictions and slides equals a fresh Cholesky of the current window', () => {
    const capacity = 10;
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), fc.constantFrom(1e-1, 1e-3, 1e-6), (operations, jitter) => {
        const factor = new IncrementalCholesky(capacity, { jitter, backend });
        const window: Float64Array[] = [];
        for (const op of operations) {
          if (op.kind === 'evict') {
            if (window.length === 0) continue;
            factor.evictOldest();
            window.shift();
          } else if (op.kind === 'slide') {
            if (window.length === 0) continue;
            expect(slidePoint(factor, window, Float64Array.from(op.point))).toBe(true);
          } else {
            if (op.kind === 'duplicate' && window.length === 0) continue;
            const point = op.kind === 'append' ? Float64Array.from(op.point) : window[op.of % window.length].slice();
            if (window.length === capacity) {
              factor.evictOldest();
              window.shift();
            }
            expect(appendPoint(factor, window, point)).toBe(true);
          }
          expect(factor.size).toBe(window.length);
          if (window.length > 0) {
            const fresh = denseCholesky(jitteredGram(window, jitter), window.length);
            expect(relativeError(factor.toDense(), fresh)).toBeLessThan(1e-10);
          }
        }
      }),
      { numRuns: 300, seed: 20240607 },
    );
  });

  it('solve, forwardSolve, backwardSolve and multiply agree with dense linear algebra', () => {
    const random = seededRandom(3);
    const points = Array.from({ length: 12 }, () => randomMatrix(random, 1, 3));
    const factor = new IncrementalCholesky(8, { jitter: 1e-3, backend });
    const window: Float64Array[] = [];
    for (const point of points) {
      if (window.length === 8) {
        factor.evictOldest();
        window.shift();
      }
      appendPoint(factor, window, point);
    }
    const n = window.length;
    const A = jitteredGram(window, 1e-3);
    const b = randomMatrix(random, 1, n);
    expect(relativeError(factor.solve(b), denseSolve(A, n, b))).toBeLessThan(1e-12);
    const L = denseCholesky(A, n);
    expect(relativeError(factor.forwardSolve(b), denseSolve(L, n, b))).toBeLessThan(1e-12);
    const Lt = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Lt[i * n + j] = L[j * n + i];
    expect(relativeError(factor.backwardSolve(b), denseSolve(Lt, n, b))).toBeLessThan(1e-12);
    const product = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) product[i] += A[i * n + j] * b[j];
    expect(relativeError(factor.multiply(b), product)).toBeLessThan(1e-13);
    const inPlace = b.slice();
    factor.solve(inPlace, inPlace);
    expect(relativeError(inPlace, denseSolve(A, n, b))).toBeLessThan(1e-12);
  });

  it('refactor equals the dense factor (several column blocks), and an indefinite matrix leaves it empty', () => {
    const random = seededRandom(5);
    const X = randomMatrix(random, 7, 3);
    const gram = gramMatrix(SPEC, X);
    const factor = new IncrementalCholesky(9, { backend });
    expect(factor.refactor(gram, 7, 1e-4)).toBe(true);
    expect(factor.jitter).toBe(1e-4);
    const A = gram.slice();
    for (let i = 0; i < 7; i++) A[i * 7 + i] += 1e-4;
    expect(relativeError(factor.toDense(), denseCholesky(A, 7))).toBeLessThan(1e-13);

    const larger = gramMatrix(SPEC, randomMatrix(random, 38, 3));
    const big = new IncrementalCholesky(40, { backend });
    expect(big.refactor(larger, 38, 1e-6)).toBe(true);
    for (let i = 0; i < 38; i++) larger[i * 38 + i] += 1e-6;
    expect(relativeError(big.toDense(), denseCholesky(larger, 38))).toBeLessThan(1e-12);

    const indefinite = Float64Array.of(1, 2, 2, 1);
    expect(factor.refactor(indefinite, 2, 0)).toBe(false);
    expect(factor.size).toBe(0);
  });

  it('signals a breakdown on a duplicate point without jitter and leaves the factor unchanged', () => {
    const factor = new IncrementalCholesky(4, { backend });
    const window: Float64Array[] = [];
    const x = Float64Array.of(0.5, -1, 2);
    expect(appendPoint(factor, window, x)).toBe(true);
    expect(appendPoint(factor, window, Float64Array.of(1, 1, 1))).toBe(true);
    const before = factor.toDense();
    expect(appendPoint(factor, window, x.slice())).toBe(false);
    expect(factor.size).toBe(2);
    expect(factor.toDense()).toEqual(before);
  });

  it('a slide that breaks down has evicted the oldest but not appended', () => {
    const factor = new IncrementalCholesky(3, { backend });
    const window: Float64Array[] = [];
    const x = Float64Array.of(0.5, -1, 2);
    for (const point of [Float64Array.of(3, 0, 0), x, Float64Array.of(1, 1, 1)]) appendPoint(factor, window, point);
    expect(slidePoint(factor, window, x.slice())).toBe(false);
    expect(factor.size).toBe(2);
    expect(relativeError(factor.toDense(), denseCholesky(jitteredGram(window, 0), 2))).toBeLessThan(1e-14);
  });

  it('rejects appends beyond capacity and evictions from empty, and regrows after emptying', () => {
    const factor = new IncrementalCholesky(2, { jitter: 1e-6, backend });
    const window: Float64Array[] = [];
    const random = seededRandom(9);
    const X = randomMatrix(random, 4, 3);
    appendPoint(factor, window, rowsOf(X, 3, 0, 1));
    appendPoint(factor, window, rowsOf(X, 3, 1, 2));
    expect(() => factor.append(new Float64Array(2), 1)).toThrow(RangeError);
    factor.evictOldest();
    factor.evictOldest();
    window.length = 0;
    expect(() => factor.evictOldest()).toThrow(RangeError);
    appendPoint(factor, window, rowsOf(X, 3, 2, 3));
    appendPoint(factor, window, rowsOf(X, 3, 3, 4));
    expect(relativeError(factor.toDense(), denseCholesky(jitteredGram(window, 1e-6), 2))).toBeLessThan(1e-14);
  });
});
