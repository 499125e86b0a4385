import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../src/model/backend.js';
import { OnlineRegressor } from '../../../src/model/online-regressor.js';
import { applyStackedLayer, createStackedLayer, disposeStackedLayer, writeSlot } from '../../../src/model/stacked-heads.js';

// The WebAssembly backend (the fallback when the native addon is not built) has no UnsortedSegmentSum kernel.
describe('learning on the WebAssembly backend', () => {
  beforeAll(async () => {
    expect((await selectBackend('wasm')).name).toBe('wasm');
  });

  it("sums the stacked heads' gradients per slot without a segment-sum kernel", () => {
    const layer = createStackedLayer(2, 1, 3, 'wasm-test', { sigmaW2: 2, sigmaB2: 1 });
    for (let slot = 0; slot < 3; slot++) writeSlot(layer, slot, Float32Array.of(1, -1), Float32Array.of(0));
    const rows = [
      [1, 2],
      [3, 4],
      [5, 6],
    ];
    const slots = [0, 2, 0];
    const [weightGradient, biasGradient] = tf.tidy(() => {
      const input = tf.tensor2d(rows);
      const f = (): tf.Scalar => tf.sum(applyStackedLayer(layer, input, tf.tensor1d(slots, 'int32'), false));
      const { grads } = tf.variableGrads(f, [layer.weight, layer.bias]);
      return [grads[layer.weight.name]!.dataSync(), grads[layer.bias.name]!.dataSync()];
    });
    // d(sum)/dW[slot] = (σ_w/√fan_in) · Σ of its rows' inputs; d/db[slot] = σ_b · its row count.
    const scale = Math.fround(Math.sqrt(2 / 2));
    expect([...weightGradient!]).toEqual([6 * scale, 8 * scale, 0, 0, 3 * scale, 4 * scale]);
    expect([...biasGradient!]).toEqual([2, 0, 1]);
    disposeStackedLayer(layer);
  });

  it('learns a minibatch and runs a fine-tuning phase', () => {
    const model = new OnlineRegressor({
      spec: { inputDim: 3, hidden: [8, 8], headHidden: [], activation: 'relu', sigmaW2: 2, sigmaB2: 0.1 },
      learningRate: 'auto',
      learningRateSafety: 0.7,
      readout: 'zero',
      lookahead: 0.2,
      seed: 1,
      fineTune: { every: 1, steps: 2, trunkLearningRateRatio: 1, replayPerTask: 100, batchSize: 8 },
    });
    const batch = Array.from({ length: 8 }, (_, i) => ({ task: `task-${i % 3}`, x: Float32Array.of(i / 8, 1 - i / 8, 0.5), y: i % 3, ts: 0 }));
    const result = model.learn(batch);
    expect(result.applied).toBe(true);
    expect(result.fineTune?.steps).toBe(2);
    expect(Number.isFinite(result.loss)).toBe(true);
    expect([...model.predict(batch)].every(Number.isFinite)).toBe(true);
    model.dispose();
  });
});
