import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../src/model/backend.js';
import { OnlineRegressor, type OnlineRegressorConfig } from '../../../src/model/online-regressor.js';
import type { ArchitectureSpec } from '../../../src/spec/architecture-spec.js';
import type { Example } from '../../../src/spec/example.js';

const base: ArchitectureSpec = { inputDim: 6, hidden: [24, 16], headHidden: [], activation: 'relu', sigmaW2: 2, sigmaB2: 0.1 };

function config(spec: ArchitectureSpec, compiledSteps: boolean, offs: string[] = []): OnlineRegressorConfig {
  return {
    spec,
    learningRate: 'auto',
    learningRateSafety: 0.5,
    readout: 'zero',
    lookahead: 0.2,
    seed: 11,
    fineTune: { every: 1, steps: 3, trunkLearningRateRatio: 0.5, replayPerTask: 100, batchSize: 16 },
    compiledSteps,
    onCompiledStepsOff: (reason) => offs.push(reason),
  };
}

/** A stream whose batches are mostly full (16) with odd sizes between, and whose tasks grow from 3 to 6 (the stacked heads grow). */
function stream(inputDim: number): Example[][] {
  let state = 12345;
  const random = (): number => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: 40 }, (_, b) => {
    const size = b % 7 === 3 ? 5 : b % 11 === 6 ? 9 : 16;
    const tasks = b < 15 ? 3 : 6;
    return Array.from({ length: size }, () => {
      const task = Math.floor(random() * tasks);
      const x = Float32Array.from({ length: inputDim }, () => 2 * random() - 1);
      return { task: `task-${task}`, x, y: 3 * Math.sin(2 * x[0]! + task) + x[1]! * x[2]! + 10 * task, ts: 0 };
    });
  });
}

describe('OnlineRegressor with model steps compiled to TensorFlow graphs', () => {
  beforeAll(async () => {
    await selectBackend('tensorflow');
  });

  for (const [name, spec] of [
    ['ReLU, linear heads', base],
    ['ReLU, heads with a hidden layer', { ...base, headHidden: [8] }],
    ['erf', { ...base, activation: 'erf' as const }],
  ] as const) {
    it(`predicts and learns exactly what running kernel by kernel does: ${name}`, () => {
      const offs: string[] = [];
      const compiled = new OnlineRegressor(config(spec, true, offs));
      const kernels = new OnlineRegressor(config(spec, false));
      for (const batch of stream(spec.inputDim)) {
        expect(Buffer.from(compiled.predict(batch).buffer)).toEqual(Buffer.from(kernels.predict(batch).buffer));
        compiled.learn(batch);
        kernels.learn(batch);
      }
      // Graphs ran, and none was ever found to differ from its kernels (which would have sent every step back to them).
      expect(offs).toEqual([]);
      expect(compiled.compiledStepGraphs).toBeGreaterThanOrEqual(3);
      expect(kernels.compiledStepGraphs).toBe(0);
      expect(JSON.stringify(compiled.toJSON())).toBe(JSON.stringify(kernels.toJSON()));
      compiled.dispose();
      kernels.dispose();
    });
  }
});
