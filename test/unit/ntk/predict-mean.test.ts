import { describe, expect, it } from 'vitest';
import { IncrementalGP } from '../../../src/ntk/incremental-gp.js';
import { SeededRandom } from '../../../src/math/seeded-random.js';

describe('IncrementalGP.predictMean', () => {
  it('equals the mean of predict() without computing variances', () => {
    const spec = { inputDim: 3, hidden: [16, 16], headHidden: [], activation: 'erf' as const, sigmaW2: 1.5, sigmaB2: 0.2 };
    const gp = new IncrementalGP({ spec, window: 20, noise: 0.05 });
    const random = SeededRandom.fromSeed(4);
    const point = (): Float64Array => Float64Array.from({ length: 3 }, () => random.normal());
    for (let i = 0; i < 30; i++) gp.add(point(), random.normal());
    const X = new Float64Array(15);
    for (let i = 0; i < 5; i++) X.set(point(), i * 3);
    const full = gp.predict(X).mean;
    Array.from(gp.predictMean(X)).forEach((m, i) => expect(m).toBeCloseTo(full[i]!, 12));
    expect(Array.from(new IncrementalGP({ spec, window: 4, noise: 0.1 }).predictMean(X))).toEqual([0, 0, 0, 0, 0]);
  });
});
