import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../src/model/backend.js';
import { NtkGpBaseline } from '../../../src/model/ntk-gp-baseline.js';
import { OnlineRegressor } from '../../../src/model/online-regressor.js';
import { runInTurns, runToEnd, type Stepwise } from '../../../src/model/stepwise.js';
import { SeededRandom } from '../../../src/math/seeded-random.js';
import type { Example } from '../../../src/spec/example.js';

const spec = { inputDim: 3, hidden: [16], headHidden: [], activation: 'relu' as const, sigmaW2: 2, sigmaB2: 0.5 };

function regressor(): OnlineRegressor {
  return new OnlineRegressor({
    spec,
    learningRate: 'auto',
    seed: 7,
    fineTune: { every: 2, steps: 5, trunkLearningRateRatio: 0.1, replayPerTask: 50, batchSize: 8 },
  });
}

function batches(count: number, size: number): Example[][] {
  const random = SeededRandom.fromSeed(11);
  return Array.from({ length: count }, () =>
    Array.from({ length: size }, (_, i) => {
      const x = Float32Array.from({ length: spec.inputDim }, () => random.nextFloat() * 2 - 1);
      return { task: i % 3 === 0 ? 'a' : 'b', x, y: Math.sin(3 * x[0]!) + x[1]! * x[2]!, ts: 0 };
    }),
  );
}

/** Runs the steps with a pause at every yield that lets timers and I/O run, and counts the yields. */
async function inTurns<T>(steps: Stepwise<T>, counter: { yields: number }): Promise<T> {
  return runInTurns(steps, () => {
    counter.yields += 1;
    return new Promise((resolve) => setImmediate(resolve));
  });
}

describe('learning in steps', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('gives the network bit-identical weights to learning in one go, and yields between the steps of a fine-tuning phase', async () => {
    const whole = regressor();
    const stepwise = regressor();
    const counter = { yields: 0 };
    let phases = 0;
    for (const batch of batches(6, 16)) {
      const a = whole.learn(batch);
      const b = await inTurns(stepwise.learnInSteps(batch), counter);
      expect(b.loss).toBe(a.loss);
      expect(b.fineTune?.steps).toBe(a.fineTune?.steps);
      if (b.fineTune) phases += 1;
    }
    expect(phases).toBe(3);
    // One yield before each phase and one between two of its 5 steps.
    expect(counter.yields).toBe(phases * 5);
    expect(JSON.stringify(stepwise.toJSON())).toBe(JSON.stringify(whole.toJSON()));
    whole.dispose();
    stepwise.dispose();
  });

  it('gives the NTK-GP the same predictions and windows scored in steps as in one go', async () => {
    const whole = new NtkGpBaseline({ spec, window: 32, noise: 0.01 });
    const stepwise = new NtkGpBaseline({ spec, window: 32, noise: 0.01 });
    const counter = { yields: 0 };
    for (const batch of batches(4, 40)) {
      const a = whole.predictWithUncertainty(batch);
      const b = await inTurns(stepwise.scoreInSteps(batch, true), counter);
      expect(Array.from(b.mean)).toEqual(Array.from(a.mean));
      expect(Array.from(b.standardDeviation)).toEqual(Array.from(a.standardDeviation));
      whole.learn(batch);
      runToEnd(stepwise.learnInSteps(batch));
    }
    // 40 records per batch, a yield after every 16.
    expect(counter.yields).toBe(4 * 2);
    expect(JSON.stringify(stepwise.toJSON())).toBe(JSON.stringify(whole.toJSON()));
  });
});
