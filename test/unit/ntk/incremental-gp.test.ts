import { describe, expect, it } from 'vitest';
import { ConfigError, ModelError } from '../../../src/errors.js';
import type { ArchitectureSpec } from '../../../src/spec/architecture-spec.js';
import { IncrementalGP, type KernelKind, crossKernel, gramMatrix, kernelDiag } from '../../../src/ntk/index.js';
import { type Random, denseSolve, jacobiEigenvalues, randomMatrix, relativeError, rowsOf, seededRandom } from './reference.js';

const RELU: ArchitectureSpec = { inputDim: 3, hidden: [512, 512], headHidden: [64], activation: 'relu', sigmaW2: 2, sigmaB2: 0.05 };
const ERF: ArchitectureSpec = { inputDim: 3, hidden: [512], headHidden: [], activation: 'erf', sigmaW2: 1.5, sigmaB2: 0.2 };

interface Stream {
  readonly X: Float64Array;
  readonly y: Float64Array;
}

function randomStream(random: Random, n: number): Stream {
  const X = randomMatrix(random, n, 3);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = Math.sin(2 * X[3 * i]) + X[3 * i + 1] * X[3 * i + 2] + 0.1 * random.normal();
  return { X, y };
}

function feed(gp: IncrementalGP, stream: Stream, from = 0, to = stream.y.length): void {
  for (let i = from; i < to; i++) gp.add(rowsOf(stream.X, 3, i, i + 1), stream.y[i]);
}

/** The textbook GP posterior by a dense solve, written independently of the factor. */
function densePosterior(spec: ArchitectureSpec, kind: KernelKind, train: Float64Array, y: Float64Array, noise: number, tests: Float64Array) {
  const n = y.length;
  const A = gramMatrix(spec, train, kind);
  for (let i = 0; i < n; i++) A[i * n + i] += noise;
  const cross = crossKernel(spec, tests, train, kind);
  const prior = kernelDiag(spec, tests, kind);
  const m = prior.length;
  const alpha = denseSolve(A, n, y);
  const mean = new Float64Array(m);
  const variance = new Float64Array(m);
  for (let t = 0; t < m; t++) {
    const row = cross.subarray(t * n, (t + 1) * n);
    const solved = denseSolve(A, n, row);
    for (let j = 0; j < n; j++) {
      mean[t] += row[j] * alpha[j];
      variance[t] -= row[j] * solved[j];
    }
    variance[t] += prior[t];
  }
  return { mean, variance };
}

describe('IncrementalGP predictions', () => {
  for (const [name, spec, kind] of [
    ['relu NTK', RELU, 'ntk'],
    ['relu NNGP', RELU, 'nngp'],
    ['erf NTK', ERF, 'ntk'],
  ] as const) {
    it(`${name}: sliding-window predict() equals a dense solve on the current window`, () => {
      const random = seededRandom(17);
      const stream = randomStream(random, 45);
      const tests = randomMatrix(random, 8, 3);
      const gp = new IncrementalGP({ spec, window: 15, noise: 1e-3, kind });
      feed(gp, stream);
      expect(gp.size).toBe(15);
      const expected = densePosterior(spec, kind, rowsOf(stream.X, 3, 30, 45), stream.y.slice(30), 1e-3, tests);
      const actual = gp.predict(tests);
      expect(relativeError(actual.mean, expected.mean)).toBeLessThan(1e-10);
      expect(relativeError(actual.variance, expected.variance)).toBeLessThan(1e-9);

      gp.evictOldest();
      gp.evictOldest();
      const shrunk = densePosterior(spec, kind, rowsOf(stream.X, 3, 32, 45), stream.y.slice(32), 1e-3, tests);
      expect(relativeError(gp.predict(tests).mean, shrunk.mean)).toBeLessThan(1e-10);
    });
  }

  it('predicts the prior (mean 0, prior variance) from an empty window', () => {
    const gp = new IncrementalGP({ spec: RELU, window: 4, noise: 0.1 });
    const tests = Float64Array.of(1, 2, 3, -1, 0, 1);
    const { mean, variance } = gp.predict(tests);
    expect([...mean]).toEqual([0, 0]);
    expect(variance).toEqual(kernelDiag(RELU, tests));
  });

  it('keeps the raw targets (no centring) and interpolates them as noise → 0', () => {
    const gp = new IncrementalGP({ spec: RELU, window: 5, noise: 1e-9 });
    const X = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
    [100, 101, 102].forEach((y, i) => gp.add(rowsOf(X, 3, i, i + 1), y));
    expect(relativeError(gp.predict(X).mean, [100, 101, 102])).toBeLessThan(1e-7);
  });
});

describe('kernel rows reused from scoring', () => {
  it('scoring a batch, then learning it, gives bit-identical predictions to learning without scoring', () => {
    const random = seededRandom(23);
    const stream = randomStream(random, 70);
    const tests = randomMatrix(random, 6, 3);
    const scoredFirst = new IncrementalGP({ spec: RELU, window: 20, noise: 1e-3 });
    const plain = new IncrementalGP({ spec: RELU, window: 20, noise: 1e-3 });
    let learned = 0;
    // Batches of 7 slide the window past scoring-time points and past this batch's own earlier points.
    for (let first = 0; first < stream.y.length; first += 7) {
      const last = Math.min(first + 7, stream.y.length);
      // An unlabeled point scored in the middle of the batch is skipped when matching.
      const batch = new Float64Array([...rowsOf(stream.X, 3, first, first + 3), ...tests.subarray(0, 3), ...rowsOf(stream.X, 3, first + 3, last)]);
      scoredFirst.predict(batch);
      feed(scoredFirst, stream, first, last);
      feed(plain, stream, first, last);
      learned += last - first;
    }
    expect(scoredFirst.reusedKernelRows).toBe(learned);
    expect(plain.reusedKernelRows).toBe(0);
    const a = scoredFirst.predict(tests);
    const b = plain.predict(tests);
    expect(Array.from(a.mean)).toEqual(Array.from(b.mean));
    expect(Array.from(a.variance)).toEqual(Array.from(b.variance));
  });

  it('a point that was not scored is computed afresh', () => {
    const random = seededRandom(5);
    const stream = randomStream(random, 12);
    const gp = new IncrementalGP({ spec: RELU, window: 8, noise: 1e-3 });
    feed(gp, stream, 0, 8);
    gp.predict(rowsOf(stream.X, 3, 9, 10));
    feed(gp, stream, 8, 9);
    expect(gp.reusedKernelRows).toBe(0);
    feed(gp, stream, 9, 10);
    expect(gp.reusedKernelRows).toBe(1);
  });
});

describe('finite-time predictions', () => {
  const random = seededRandom(23);
  const stream = randomStream(random, 14);
  const tests = randomMatrix(random, 5, 3);
  const noise = 1e-3;
  const gp = new IncrementalGP({ spec: RELU, window: 12, noise });
  feed(gp, stream);

  it('are exactly zero at t = 0', () => {
    expect([...gp.predictFiniteTime(tests, 0.1, 0)]).toEqual([0, 0, 0, 0, 0]);
  });

  it('tend to the t → ∞ mean of predict() computed with the same jitter', () => {
    // Slowest mode decays like e^(−η·λ_min·t) with λ_min ≥ s: t = 100/(η·s) leaves e^(−100).
    const eta = 0.5;
    const late = gp.predictFiniteTime(tests, eta, 100 / (eta * noise));
    expect(relativeError(late, gp.predict(tests).mean)).toBeLessThan(1e-9);
  });

  it('follow the gradient-flow ODE integrated numerically (RK4)', () => {
    // Training outputs u and test outputs f under u' = −η·A·(u − y), f' = −η·Θ*N·(u − y), A = Θ_NN + sI.
    const n = 12;
    const train = rowsOf(stream.X, 3, 2, 14);
    const y = stream.y.slice(2);
    const A = gramMatrix(RELU, train);
    for (let i = 0; i < n; i++) A[i * n + i] += noise;
    const cross = crossKernel(RELU, tests, train);
    const eta = 0.05;
    const t = 3;
    const steps = 30_000;
    const h = t / steps;
    const residualRate = (u: Float64Array): Float64Array => {
      const rate = new Float64Array(n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rate[i] -= eta * A[i * n + j] * (u[j] - y[j]);
      return rate;
    };
    const shifted = (u: Float64Array, k: Float64Array, scale: number): Float64Array => u.map((v, i) => v + scale * k[i]);
    let u = new Float64Array(n);
    const f = new Float64Array(5);
    for (let step = 0; step < steps; step++) {
      const k1 = residualRate(u);
      const u2 = shifted(u, k1, h / 2);
      const k2 = residualRate(u2);
      const u3 = shifted(u, k2, h / 2);
      const k3 = residualRate(u3);
      const u4 = shifted(u, k3, h);
      const k4 = residualRate(u4);
      // f is linear in the stage values of u, so it takes the same RK4 combination.
      for (let p = 0; p < 5; p++) {
        let slope = 0;
        for (let j = 0; j < n; j++) {
          const stage = (u[j] + 2 * u2[j] + 2 * u3[j] + u4[j]) / 6;
          slope -= eta * cross[p * n + j] * (stage - y[j]);
        }
        f[p] += h * slope;
      }
      u = u.map((v, i) => v + (h / 6) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]));
    }
    expect(relativeError(gp.predictFiniteTime(tests, eta, t), f)).toBeLessThan(1e-8);
  });

  it('refresh after the window changes', () => {
    const sliding = new IncrementalGP({ spec: RELU, window: 12, noise });
    feed(sliding, stream);
    const before = sliding.predictFiniteTime(tests, 0.5, 1e6);
    feed(sliding, randomStream(seededRandom(29), 1));
    const after = sliding.predictFiniteTime(tests, 0.5, 1e6);
    expect(relativeError(after, sliding.predict(tests).mean)).toBeLessThan(1e-9);
    expect(relativeError(after, before)).toBeGreaterThan(1e-6);
  });
});

describe('breakdown recovery', () => {
  it('a duplicate point with s = 0 raises the jitter, refactors once and keeps predictions finite', () => {
    const gp = new IncrementalGP({ spec: RELU, window: 8, noise: 0 });
    const x = Float64Array.of(0.3, -0.7, 1.1);
    gp.add(x, 1);
    gp.add(Float64Array.of(1, 1, 1), 0);
    expect(gp.refactorCount).toBe(0);
    gp.add(x.slice(), 2);
    expect(gp.refactorCount).toBe(1);
    expect(gp.noise).toBeGreaterThan(0);
    expect(gp.size).toBe(3);
    const { mean, variance } = gp.predict(Float64Array.of(...x, 0, 0, 0));
    expect([...mean, ...variance].every(Number.isFinite)).toBe(true);
    // Two contradicting targets at one point: the posterior mean sits between them.
    expect(mean[0]).toBeGreaterThan(1);
    expect(mean[0]).toBeLessThan(2);
    expect(gp.lambdaMin()).toBeGreaterThanOrEqual(0);
  });

  it('survives a zero-variance first point (zero vector, σ_b² = 0, s = 0)', () => {
    const spec: ArchitectureSpec = { ...RELU, sigmaB2: 0 };
    const gp = new IncrementalGP({ spec, window: 4, noise: 0 });
    gp.add(new Float64Array(3), 5);
    expect(gp.refactorCount).toBe(1);
    gp.add(Float64Array.of(1, 2, 3), 1);
    const { mean, variance } = gp.predict(Float64Array.of(1, 2, 3, 0, 0, 0));
    expect([...mean, ...variance].every(Number.isFinite)).toBe(true);
    expect(mean[0]).toBeCloseTo(1, 6);
  });

  it('refactor() rebuilds the same factor and counts itself', () => {
    const random = seededRandom(31);
    const stream = randomStream(random, 30);
    const tests = randomMatrix(random, 4, 3);
    const gp = new IncrementalGP({ spec: RELU, window: 10, noise: 1e-4 });
    feed(gp, stream);
    const before = gp.predict(tests);
    gp.refactor();
    expect(gp.refactorCount).toBe(1);
    expect(relativeError(gp.predict(tests).mean, before.mean)).toBeLessThan(1e-10);
  });
});

describe('serialisation', () => {
  it('a JSON roundtrip restores the window and gives the same predictions', () => {
    const random = seededRandom(37);
    const stream = randomStream(random, 25);
    const tests = randomMatrix(random, 6, 3);
    const gp = new IncrementalGP({ spec: ERF, window: 16, noise: 0, kind: 'ntk' });
    feed(gp, stream);
    gp.add(rowsOf(stream.X, 3, 24, 25), 0.5); // a duplicate: forces a jitter raise to be carried over
    expect(gp.refactorCount).toBe(1);
    const state = gp.toJSON();
    const restored = IncrementalGP.fromJSON(JSON.parse(JSON.stringify(state)));
    expect(restored.toJSON()).toEqual(state);
    expect(restored.size).toBe(16);
    expect(restored.noise).toBe(gp.noise);
    expect(restored.refactorCount).toBe(gp.refactorCount);
    const original = gp.predict(tests);
    const copy = restored.predict(tests);
    expect(relativeError(copy.mean, original.mean)).toBeLessThan(1e-9);
    expect(relativeError(copy.variance, original.variance)).toBeLessThan(1e-9);
    // And it keeps learning the same way.
    feed(gp, randomStream(seededRandom(41), 3));
    feed(restored, randomStream(seededRandom(41), 3));
    expect(relativeError(restored.predict(tests).mean, gp.predict(tests).mean)).toBeLessThan(1e-9);
  });

  it('rejects malformed states with a ModelError', () => {
    const good = new IncrementalGP({ spec: RELU, window: 3, noise: 0.1 });
    good.add(Float64Array.of(1, 2, 3), 1);
    const state = good.toJSON();
    for (const broken of [
      null,
      { ...state, format: 'other' },
      { ...state, points: [[1, 2]] },
      { ...state, targets: [] },
      { ...state, targets: [Number.NaN] },
      { ...state, window: 0 },
      { ...state, spec: { ...state.spec, activation: 'tanh' } },
      { ...state, points: [[1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3]], targets: [1, 1, 1, 1] },
    ]) {
      expect(() => IncrementalGP.fromJSON(broken)).toThrow(ModelError);
    }
  });
});

describe('learning-rate stability margin', () => {
  it('λ_max, λ_min and the margin match a dense eigen computation of Θ_NN, also after the window slides', () => {
    const random = seededRandom(43);
    const stream = randomStream(random, 40);
    const noise = 1e-3;
    const gp = new IncrementalGP({ spec: RELU, window: 20, noise });
    for (const [from, upTo] of [
      [0, 20],
      [20, 25],
      [25, 40],
    ]) {
      feed(gp, stream, from, upTo);
      const eigenvalues = jacobiEigenvalues(gramMatrix(RELU, rowsOf(stream.X, 3, upTo - 20, upTo)), 20);
      const denseMax = eigenvalues[19];
      const denseMin = eigenvalues[0];
      const options = { tolerance: 1e-14, maxIterations: 5000 };
      expect(relativeError([gp.lambdaMax(options)], [denseMax])).toBeLessThan(1e-10);
      const lambdaMin = gp.lambdaMin(options);
      expect(Math.abs(lambdaMin - denseMin)).toBeLessThan(1e-10 * denseMax);
      expect(lambdaMin).toBeGreaterThanOrEqual(denseMin - 1e-12 * denseMax);
      const eta = 0.3;
      expect(relativeError([gp.stabilityMargin(eta, options)], [(eta * (denseMax + denseMin)) / 2])).toBeLessThan(1e-10);
    }
  });

  it('says margin ≥ 1 exactly when η ≥ 2/(λ_max + λ_min)', () => {
    const gp = new IncrementalGP({ spec: RELU, window: 10, noise: 1e-3 });
    feed(gp, randomStream(seededRandom(47), 10));
    const critical = 2 / (gp.lambdaMax() + gp.lambdaMin());
    expect(gp.stabilityMargin(0.99 * critical)).toBeLessThan(1);
    expect(gp.stabilityMargin(1.01 * critical)).toBeGreaterThan(1);
  });
});

describe('window and validation', () => {
  it('evicts the oldest automatically beyond W', () => {
    const gp = new IncrementalGP({ spec: RELU, window: 3, noise: 0.01 });
    for (let i = 0; i < 7; i++) gp.add(Float64Array.of(i, 1, -i), i);
    expect(gp.size).toBe(3);
    expect(gp.toJSON().targets).toEqual([4, 5, 6]);
    expect(gp.toJSON().points[0]).toEqual([4, 1, -4]);
  });

  it('rejects bad options and bad points', () => {
    expect(() => new IncrementalGP({ spec: RELU, window: 0, noise: 0 })).toThrow(ConfigError);
    expect(() => new IncrementalGP({ spec: RELU, window: 2, noise: -1 })).toThrow(ConfigError);
    const gp = new IncrementalGP({ spec: RELU, window: 2, noise: 0 });
    expect(() => gp.add(Float64Array.of(1, 2), 0)).toThrow(ModelError);
    expect(() => gp.add(Float64Array.of(1, Number.NaN, 2), 0)).toThrow(ModelError);
    expect(() => gp.add(Float64Array.of(1, 2, 3), Number.POSITIVE_INFINITY)).toThrow(ModelError);
    expect(() => gp.predict(new Float64Array(4))).toThrow(ModelError);
    expect(() => gp.evictOldest()).toThrow(RangeError);
    expect(gp.size).toBe(0);
  });
});
