import { describe, expect, it } from 'vitest';
import { NtkGpBaseline } from '../../../src/model/ntk-gp-baseline.js';
import type { Example } from '../../../src/spec/example.js';

const spec = { inputDim: 2, hidden: [64], headHidden: [], activation: 'relu' as const, sigmaW2: 2, sigmaB2: 0.1 };

function stream(count: number): Example[] {
  return Array.from({ length: count }, (_, i) => {
    const x = Float32Array.of(Math.sin(i), Math.cos(1.7 * i));
    return { task: i % 3 === 0 ? 'b' : 'a', x, y: 30 + 5 * x[0]! - 3 * x[1]!, ts: 0 };
  });
}

function prequential(examples: readonly Example[], batchSize: number): number[] {
  const gp = new NtkGpBaseline({ spec, window: 32, noise: 0.1 });
  const predictions: number[] = [];
  for (let start = 0; start < examples.length; start += batchSize) {
    const batch = examples.slice(start, start + batchSize);
    predictions.push(...gp.predict(batch));
    gp.learn(batch);
  }
  return predictions;
}

describe('NtkGpBaseline within a batch', () => {
  it('predicts each record from every record before it, so its prequential predictions do not depend on the batch size', () => {
    const examples = stream(120);
    const one = prequential(examples, 1);
    for (const size of [7, 64]) {
      prequential(examples, size).forEach((p, i) => expect(p).toBeCloseTo(one[i]!, 4));
    }
  });

  it('never predicts a record with a window that holds it (test-then-train)', () => {
    const examples = stream(40);
    const gp = new NtkGpBaseline({ spec, window: 64, noise: 0.01 });
    const before = gp.predict(examples);
    gp.learn(examples);
    const after = gp.predict(examples.map((e) => ({ ...e })));
    // Once learned, low noise nearly interpolates; before, the first record of each task had nothing to go on.
    const error = (p: ArrayLike<number>): number => examples.reduce((s, e, i) => s + Math.abs(p[i]! - e.y), 0);
    expect(error(after)).toBeLessThan(0.5 * error(before));
    expect(before[0]).toBe(0);
  });
});
