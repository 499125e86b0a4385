import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../src/model/backend.js';
import { lookahead } from '../../../src/model/lookahead.js';
import { OnlineRegressor } from '../../../src/model/online-regressor.js';
import { kernelPair } from '../../../src/ntk/kernel.js';
import type { Example, Query } from '../../../src/spec/example.js';

const spec = { inputDim: 3, hidden: [64], headHidden: [], activation: 'relu' as const, sigmaW2: 2, sigmaB2: 0.1 };

function rows(count: number, seed: number): Float64Array {
  let state = seed;
  return Float64Array.from({ length: count * 3 }, () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
}

describe('in-batch look-ahead', () => {
  it('corrects record i by gain·K(x_i, x_j)/K(x_j, x_j)·r_j over the earlier records j, residuals taken after their own correction', () => {
    const X = rows(3, 7);
    const outputs = Float32Array.of(0.1, -0.2, 0.3);
    const targets = Float64Array.of(1.5, -1, 0.5);
    const gain = 0.2;
    const k = (i: number, j: number): number => kernelPair(spec, X.subarray(i * 3, i * 3 + 3), X.subarray(j * 3, j * 3 + 3), 'nngp');
    const f1 = -0.2 + (gain * k(1, 0) * (1.5 - 0.1)) / k(0, 0);
    const f2 = 0.3 + (gain * k(2, 0) * (1.5 - 0.1)) / k(0, 0) + (gain * k(2, 1) * (-1 - f1)) / k(1, 1);
    lookahead(spec, X, outputs, targets, gain, 'nngp');
    expect(outputs[0]).toBeCloseTo(0.1, 6);
    expect(outputs[1]).toBeCloseTo(f1, 5);
    expect(outputs[2]).toBeCloseTo(f2, 5);
  });

  it('is prequential: a record is never corrected by its own target or a later one', () => {
    const X = rows(20, 3);
    const a = new Float32Array(20);
    const b = new Float32Array(20);
    const targets = Float64Array.from({ length: 20 }, (_, i) => Math.sin(i));
    const changed = Float64Array.from(targets);
    changed[10] = 100;
    lookahead(spec, X, a, targets, 0.2, 'nngp');
    lookahead(spec, X, b, changed, 0.2, 'nngp');
    expect(Array.from(b.subarray(0, 11))).toEqual(Array.from(a.subarray(0, 11)));
    expect(b[11]).not.toBeCloseTo(a[11]!, 3);
  });

  it('an unlabelled record (NaN target) takes a correction but gives none; gain 0 changes nothing', () => {
    const X = rows(3, 11);
    const withGap = new Float32Array(3);
    lookahead(spec, X, withGap, Float64Array.of(1, Number.NaN, 1), 0.2, 'nngp');
    expect(withGap[1]).toBeGreaterThan(0);
    const x02 = Float64Array.from([...X.subarray(0, 3), ...X.subarray(6, 9)]);
    const skipped = new Float32Array(2);
    lookahead(spec, x02, skipped, Float64Array.of(1, 1), 0.2, 'nngp');
    expect(withGap[2]).toBeCloseTo(skipped[1]!, 6);
    const off = Float32Array.of(0.5, 0.5, 0.5);
    lookahead(spec, X, off, Float64Array.of(3, 3, 3), 0, 'nngp');
    expect(Array.from(off)).toEqual([0.5, 0.5, 0.5]);
  });
});

describe('OnlineRegressor with look-ahead', () => {
  beforeAll(async () => {
    await selectBackend('tensorflow');
  });

  it('scores the first record of a batch as without it, later records from the earlier targets; queries without labels give nothing', () => {
    const make = (lookahead: number): OnlineRegressor =>
      new OnlineRegressor({
        spec,
        learningRate: 'auto',
        lookahead,
        readout: 'zero',
        seed: 3,
        fineTune: { every: 0, steps: 1, trunkLearningRateRatio: 1, replayPerTask: 100, batchSize: 8 },
      });
    const X = rows(8, 5);
    const batch: Example[] = Array.from({ length: 8 }, (_, i) => ({ task: 'a', x: Float32Array.from(X.subarray(i * 3, i * 3 + 3)), ts: 0, y: 50 + 10 * i }));
    const first = batch.slice(0, 4);
    const plain = make(0);
    const ahead = make(0.2);
    plain.learn(first);
    ahead.learn(first);
    const rest = batch.slice(4);
    const p = plain.predict(rest);
    const a = ahead.predict(rest);
    expect(a[0]).toBeCloseTo(p[0]!, 4);
    // The targets climb through the batch: looking ahead follows them.
    for (let i = 1; i < 4; i++) expect(a[i]!).toBeGreaterThan(p[i]! + 1);
    const queries: Query[] = rest.map(({ task, x, ts }) => ({ task, x, ts }));
    expect(Array.from(ahead.predict(queries))).toEqual(Array.from(plain.predict(queries)));
    plain.dispose();
    ahead.dispose();
  });
});
