import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildTriangularKernels } from '../../../scripts/build-wasm.js';
import { IncrementalCholesky } from '../../../src/ntk/index.js';
import { defaultBackend } from '../../../src/ntk/triangular-kernels.js';
import { type Random, randomMatrix, relativeError, seededRandom } from './reference.js';

// A random SPD matrix of order `total`: B·Bᵀ/d + 0.1·I with B ~ N(0, 1), d = 12 < total (so the jitter-free part is singular beyond d).
function randomSpd(random: Random, total: number): Float64Array {
  const d = 12;
  const B = randomMatrix(random, total, d);
  const A = new Float64Array(total * total);
  for (let i = 0; i < total; i++) {
    for (let j = 0; j <= i; j++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += B[i * d + k] * B[j * d + k];
      A[i * total + j] = A[j * total + i] = dot / d + (i === j ? 0.1 : 0);
    }
  }
  return A;
}

function block(A: Float64Array, total: number, first: number, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = A[(first + i) * total + first + j];
  return out;
}

describe('triangular kernels', () => {
  it('WebAssembly SIMD is the default backend on this runtime', () => {
    expect(defaultBackend()).toBe('wasm-simd');
    expect(new IncrementalCholesky(4).backend).toBe('wasm-simd');
  });

  // The slide runs four columns per pass: these sizes cover every count of leftover columns and rows.
  for (const n of [1, 2, 3, 5, 6, 7, 8, 17, 64, 129]) {
    it(`N = ${n}: WebAssembly and TypeScript give bit-identical factors over slides, evictions and appends, and solves within 1e-12`, () => {
      const random = seededRandom(100 + n);
      const slides = 9;
      const total = n + slides;
      const A = randomSpd(random, total);
      const wasm = new IncrementalCholesky(n, { jitter: 1e-6, backend: 'wasm-simd' });
      const typescript = new IncrementalCholesky(n, { jitter: 1e-6, backend: 'typescript' });
      expect([wasm.backend, typescript.backend]).toEqual(['wasm-simd', 'typescript']);
      const factors = [wasm, typescript];
      for (const factor of factors) expect(factor.refactor(block(A, total, 0, n), n)).toBe(true);
      let first = 0;
      for (let u = 0; u < slides; u++) {
        const newest = n + u;
        if (u % 3 === 2 && n > 1) {
          // Evict then append: the unfused path.
          for (const factor of factors) factor.evictOldest();
          first++;
          for (const factor of factors) expect(factor.append(A.subarray(newest * total + first, newest * total + newest), A[newest * total + newest])).toBe(true);
        } else {
          first++;
          for (const factor of factors) {
            expect(factor.replaceOldest(A.subarray(newest * total + first, newest * total + newest), A[newest * total + newest])).toBe(true);
          }
        }
        expect(Array.from(wasm.toDense())).toEqual(Array.from(typescript.toDense()));
      }
      const b = randomMatrix(random, n, 1);
      expect(Array.from(wasm.forwardSolve(b))).toEqual(Array.from(typescript.forwardSolve(b)));
      expect(relativeError(wasm.backwardSolve(b), typescript.backwardSolve(b))).toBeLessThan(1e-12);
      expect(relativeError(wasm.solve(b), typescript.solve(b))).toBeLessThan(1e-12);
      expect(relativeError(wasm.multiply(b), typescript.multiply(b))).toBeLessThan(1e-12);
      // And both solve the window's own system: (A_window + sI)·x = b.
      const window = block(A, total, first, n);
      const x = typescript.solve(b);
      const residual = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let sum = 1e-6 * x[i];
        for (let j = 0; j < n; j++) sum += window[i * n + j] * x[j];
        residual[i] = sum;
      }
      expect(relativeError(residual, b)).toBeLessThan(1e-9);
    });
  }

  it('the committed WebAssembly module is the build of the committed .wat source', async () => {
    const committed = readFileSync(new URL('../../../src/ntk/wasm/triangular-kernels-binary.ts', import.meta.url), 'utf8');
    expect(await buildTriangularKernels()).toBe(committed);
  });
});
