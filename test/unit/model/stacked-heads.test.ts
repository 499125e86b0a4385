import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../src/model/backend.js';
import { applyStackedLayer, createStackedLayer, disposeStackedLayer, growStackedLayer, writeSlot, type StackedLayer } from '../../../src/model/stacked-heads.js';

const scales = { sigmaW2: 2, sigmaB2: 0.1 };

/** The layer as tfjs differentiates it on its own: scaled stacks, gathered by slot, one batched matMul per row. */
function autodiffLayer(layer: StackedLayer, input: tf.Tensor2D, slots: tf.Tensor1D): tf.Tensor2D {
  const rows = input.shape[0];
  const weight = tf.gather(tf.mul(layer.weight, Math.sqrt(scales.sigmaW2 / layer.fanIn)), slots);
  const bias = tf.gather(tf.mul(layer.bias, Math.sqrt(scales.sigmaB2)), slots);
  const product = tf.matMul(tf.reshape(input, [rows, 1, layer.fanIn]), weight);
  return tf.add(tf.reshape(product, [rows, layer.width]), bias);
}

describe('applyStackedLayer', () => {
  let layer: StackedLayer;
  const random = (n: number, seed: number): Float32Array => tf.tidy(() => tf.randomNormal([n], 0, 1, 'float32', seed).dataSync() as Float32Array);
  beforeAll(async () => {
    await selectBackend('auto');
    layer = createStackedLayer(16, 3, 6, 'stacked-heads-test', scales);
    for (let slot = 0; slot < 6; slot++) writeSlot(layer, slot, random(16 * 3, 10 + slot), random(3, 20 + slot));
  });
  afterAll(() => disposeStackedLayer(layer));

  it('gives the gradients of tfjs autodiff bit for bit (the input, every slot, and 0 for slots no row uses), with fewer kernels', async () => {
    const inputWeights = tf.variable(tf.randomNormal<tf.Rank.R2>([5, 16], 0, 1, 'float32', 1), true, 'stacked-heads-test/input');
    const x = tf.randomNormal<tf.Rank.R2>([37, 5], 0, 1, 'float32', 2);
    // Slots 0–3 only, out of order and repeated; 4 and 5 stay unused.
    const slots = tf.tensor1d(Array.from({ length: 37 }, (_, i) => (i * 7) % 4), 'int32');
    const targets = tf.randomNormal<tf.Rank.R2>([37, 3], 0, 1, 'float32', 3);
    const variables = [inputWeights, layer.weight, layer.bias];
    const loss = (apply: (input: tf.Tensor2D) => tf.Tensor2D) => (): tf.Scalar => tf.mean(tf.squaredDifference(apply(tf.matMul(x, inputWeights)), targets));
    const ours = loss((input) => applyStackedLayer(layer, input, slots));
    const theirs = loss((input) => autodiffLayer(layer, input, slots));
    const gradsOf = (f: () => tf.Scalar): Float32Array[] =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(f, variables);
        return variables.map((v) => grads[v.name]!.dataSync() as Float32Array);
      });
    const [ourInput, ourWeight, ourBias] = gradsOf(ours);
    const [theirInput, theirWeight, theirBias] = gradsOf(theirs);
    expect(ourInput).toEqual(theirInput);
    expect(ourWeight).toEqual(theirWeight);
    expect(ourBias).toEqual(theirBias);
    expect(ourWeight!.subarray(0, 4 * 16 * 3).some((g) => g !== 0)).toBe(true);
    expect(ourWeight!.subarray(4 * 16 * 3).every((g) => g === 0)).toBe(true);
    const kernels = async (f: () => tf.Scalar): Promise<number> =>
      (await tf.profile(() => tf.tidy(() => void tf.variableGrads(f, variables)))).kernels.filter((k) => k.name !== 'Identity').length;
    expect(await kernels(ours)).toBeLessThanOrEqual((await kernels(theirs)) - 8);
    for (const t of [inputWeights, x, slots, targets]) t.dispose();
  });

  it('without an input gradient: the same output, and the same gradients of its weights', () => {
    const features = tf.randomNormal<tf.Rank.R2>([9, 16], 0, 1, 'float32', 4);
    const slots = tf.tensor1d([0, 1, 2, 0, 1, 2, 5, 5, 3], 'int32');
    const run = (inputGradient: boolean): Float32Array[] =>
      tf.tidy(() => {
        const f = (): tf.Scalar => tf.sum(tf.square(applyStackedLayer(layer, features, slots, inputGradient)));
        const { value, grads } = tf.variableGrads(f, [layer.weight, layer.bias]);
        return [value.dataSync() as Float32Array, grads[layer.weight.name]!.dataSync() as Float32Array, grads[layer.bias.name]!.dataSync() as Float32Array];
      });
    expect(run(false)).toEqual(run(true));
    features.dispose();
    slots.dispose();
  });

  it('grows with its slots and its scales kept, and leaves no tensor behind once disposed', () => {
    const before = tf.memory().numTensors;
    let grown = createStackedLayer(4, 2, 2, 'stacked-heads-test/grow', scales);
    writeSlot(grown, 1, random(8, 30), random(2, 31));
    const input = tf.randomNormal<tf.Rank.R2>([3, 4], 0, 1, 'float32', 32);
    const slots = tf.tensor1d([1, 1, 0], 'int32');
    const output = (): Float32Array => tf.tidy(() => applyStackedLayer(grown, input, slots).dataSync() as Float32Array);
    const small = output();
    grown = growStackedLayer(grown, 4, 'stacked-heads-test/grow');
    grown = growStackedLayer(grown, 8, 'stacked-heads-test/grow');
    expect(grown.weight.shape[0]).toBe(8);
    expect(output()).toEqual(small);
    tf.dispose([input, slots]);
    disposeStackedLayer(grown);
    expect(tf.memory().numTensors).toBe(before);
  });
});
