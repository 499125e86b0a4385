import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../src/model/backend.js';
import { stabilityMargin, stableLearningRate, stepSpectrum } from '../../../src/model/learning-rate.js';
import { OnlineRegressor, rejectedStepsBeforeBackoff } from '../../../src/model/online-regressor.js';
import { gramMatrix } from '../../../src/ntk/kernel.js';
import type { Example } from '../../../src/spec/example.js';

const spec = { inputDim: 3, hidden: [512], headHidden: [], activation: 'relu' as const, sigmaW2: 2, sigmaB2: 0.1 };

function examples(count: number, seed: number): Example[] {
  let state = seed;
  const next = (): number => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return Array.from({ length: count }, () => {
    const x = Float32Array.of(next(), next(), next());
    return { task: 'a', x, y: 40 + 10 * x[0]! - 5 * x[1]! * x[2]!, ts: 0 };
  });
}

function regressor(learningRate: number | 'auto', readout: 'zero' | 'random' = 'zero'): OnlineRegressor {
  return new OnlineRegressor({
    spec,
    learningRate,
    learningRateSafety: 0.5,
    readout,
    seed: 5,
    fineTune: { every: 0, steps: 1, trunkLearningRateRatio: 0.1, replayPerTask: 100, batchSize: 8 },
  });
}

describe('learning rate from the NTK spectrum', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it("takes safety·2/(λ'_max + λ'_min) of the step's (2/B)·K, so its margin is the safety factor", () => {
    const X = Float64Array.from(examples(8, 1).flatMap((e) => [...e.x]));
    const spectrum = stepSpectrum(spec, X, 8, 0);
    // For one row, the step's operator is the 1×1 matrix (2/1)·K(x, x).
    const one = stepSpectrum(spec, X.subarray(0, 3), 1, 0);
    expect(one.extremesSum).toBeCloseTo(2 * 2 * gramMatrix(spec, X.subarray(0, 3), 'nngp')[0]!, 10);
    const eta = stableLearningRate(spectrum, 0.5);
    expect(stabilityMargin(eta, spectrum)).toBeCloseTo(0.5, 12);
  });

  it('estimates the spectrum of a large minibatch from a strided subsample, close to the exact one', () => {
    const X = Float64Array.from(examples(240, 9).flatMap((e) => [...e.x]));
    const exact = stepSpectrum(spec, X, 240, 0, 240).extremesSum;
    const sampled = stepSpectrum(spec, X, 240, 0, 120).extremesSum;
    expect(Math.abs(sampled / exact - 1)).toBeLessThan(0.1);
    // Without the rows/m scaling the estimate would be half the exact one.
    expect(sampled / exact).toBeGreaterThan(0.75);
    // The default subsample (32 rows) errs on the safe side: a larger λ'_max + λ'_min only makes
    // the rate smaller (the subsample's smallest eigenvalue, scaled up, exceeds the exact one here).
    const byDefault = stepSpectrum(spec, X, 240, 0).extremesSum;
    expect(byDefault / exact).toBeGreaterThan(0.97);
    expect(byDefault / exact).toBeLessThan(1.25);
    expect(byDefault).not.toBe(exact);
  });

  it('an untrained head with a zero read-out predicts exactly the running target mean (cold start)', () => {
    const model = regressor('auto');
    const seen = examples(5, 2);
    const moments = model.targetMomentsOf('a');
    for (const e of seen) moments.update([e.y]);
    const predictions = model.predict(examples(4, 3));
    const mean = seen.reduce((s, e) => s + e.y, 0) / seen.length;
    for (const p of predictions) expect(p).toBeCloseTo(mean, 3);
    model.dispose();
  });

  it('under auto, record-by-record steps (B = 1, the riskiest size) stay stable where a rate 4× past the divergence bound diverges', () => {
    const run = (learningRate: number | 'auto'): { worst: number; rejected: number; margin: number } => {
      const model = regressor(learningRate);
      let worst = 0;
      let margin = 0;
      for (const e of examples(300, 4)) {
        worst = Math.max(worst, Math.abs(model.predict([e])[0]! - e.y));
        const stepMargin = model.learn([e]).learningRates![0]!.margin;
        if (Number.isFinite(stepMargin)) margin = Math.max(margin, stepMargin);
      }
      const result = { worst, rejected: model.rejectedSteps, margin };
      model.dispose();
      return result;
    };
    const auto = run('auto');
    expect(auto.rejected).toBe(0);
    expect(auto.worst).toBeLessThan(100); // targets span about 40 ± 15
    expect(auto.margin).toBeCloseTo(0.5, 6);
    const bound = 1 / (2 * gramMatrix(spec, Float64Array.of(0.1, 0.2, 0.3), 'nngp')[0]!);
    const unstable = run(8 * bound);
    expect(unstable.margin).toBeGreaterThan(1);
    expect(unstable.rejected > 0 || unstable.worst > 1e3).toBe(true);
  });

  it('reports an explicit η above the bound with a margin above 1', () => {
    const model = regressor(50);
    const result = model.learn(examples(8, 6));
    expect(result.learningRates![0]!.learningRate).toBe(50);
    expect(result.learningRates![0]!.margin).toBeGreaterThan(1);
    model.dispose();
  });

  it('divergence protection: repeated rejected steps halve η and reset the heads involved, which then predict the mean again', () => {
    const model = regressor(1e30, 'zero');
    const stream = examples(64, 7);
    let backoff;
    for (let i = 0; i < 8 && !backoff; i++) backoff = model.learn(stream.slice(i * 8, i * 8 + 8)).backoff;
    expect(backoff).toBeDefined();
    expect(backoff!.rejectedInARow).toBe(rejectedStepsBeforeBackoff);
    expect(backoff!.learningRateScale).toBe(0.5);
    expect(backoff!.resetTasks).toEqual(['a']);
    const predictions = model.predict(stream.slice(0, 4));
    const mean = model.targetMomentsOf('a').mean[0]!;
    for (const p of predictions) expect(p).toBeCloseTo(mean, 3);
    expect(tf.memory().numTensors).toBeGreaterThan(0);
    model.dispose();
  });
});
