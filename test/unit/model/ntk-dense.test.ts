import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../src/model/backend.js';
import { applyNtkDense, createNtkDense, disposeNtkDense, type NtkDense } from '../../../src/model/ntk-dense.js';

const scales = { sigmaW2: 2, sigmaB2: 0.1 };

/** The layer as tfjs differentiates it on its own: scaled parameters into the fused matMul with its ReLU. */
function autodiffLayer(layer: NtkDense, input: tf.Tensor2D): tf.Tensor2D {
  const weight = tf.mul(layer.weight, Math.sqrt(scales.sigmaW2 / layer.fanIn));
  const bias = tf.mul(layer.bias, Math.sqrt(scales.sigmaB2));
  return tf.fused.matMul({ a: input, b: weight, bias, activation: 'relu' }) as tf.Tensor2D;
}

describe('applyNtkDense with ReLU', () => {
  const layers: NtkDense[] = [];
  beforeAll(async () => {
    await selectBackend('auto');
    layers.push(createNtkDense(10, 64, 7, 'ntk-dense-test/0', scales), createNtkDense(64, 64, 8, 'ntk-dense-test/1', scales));
  });
  afterAll(() => layers.forEach(disposeNtkDense));

  const lossOf = (apply: (layer: NtkDense, input: tf.Tensor2D, index: number) => tf.Tensor2D, x: tf.Tensor2D, targets: tf.Tensor2D) => () => {
    let activations = x;
    layers.forEach((layer, i) => {
      activations = apply(layer, activations, i);
    });
    // A read-out that mixes the features, negative weights included, so some ReLU derivatives are 0 and the gradients signed.
    const readout = tf.sum(tf.mul(activations, tf.linspace(-1, 1, 64)), 1, true);
    return tf.mean(tf.squaredDifference(readout, targets)) as tf.Scalar;
  };

  it('gives the gradients of tfjs autodiff bit for bit, with fewer kernels', async () => {
    const x = tf.randomNormal<tf.Rank.R2>([64, 10], 0, 1, 'float32', 1);
    const targets = tf.randomNormal<tf.Rank.R2>([64, 1], 0, 1, 'float32', 2);
    const variables = layers.flatMap((l) => [l.weight, l.bias]);
    const custom = lossOf((layer, input, i) => applyNtkDense(layer, input, 'relu', i > 0), x, targets);
    const reference = lossOf((layer, input) => autodiffLayer(layer, input), x, targets);
    const gradsOf = (loss: () => tf.Scalar): { value: number; grads: Float32Array[] } =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(loss, variables);
        return { value: value.dataSync()[0]!, grads: variables.map((v) => grads[v.name]!.dataSync() as Float32Array) };
      });
    const ours = gradsOf(custom);
    const theirs = gradsOf(reference);
    expect(ours.value).toBe(theirs.value);
    ours.grads.forEach((g, i) => {
      expect(g).toEqual(theirs.grads[i]);
      expect(g.some((v) => v !== 0)).toBe(true);
    });
    const kernels = async (loss: () => tf.Scalar): Promise<number> =>
      (await tf.profile(() => tf.tidy(() => void tf.variableGrads(loss, variables)))).kernels.filter((k) => k.name !== 'Identity').length;
    expect(await kernels(custom)).toBeLessThanOrEqual((await kernels(reference)) - 12);
    x.dispose();
    targets.dispose();
  });

  it('passes no gradient to the input when told it needs none, and the same output either way, the fused matMul\'s', () => {
    const x = tf.randomNormal<tf.Rank.R2>([8, 10], 0, 1, 'float32', 3);
    const [withInput, without] = [true, false].map((inputGradient) => tf.tidy(() => applyNtkDense(layers[0]!, x, 'relu', inputGradient).dataSync()));
    expect(without).toEqual(withInput);
    // Off the gradient tape (scoring, a frozen trunk) the three plain kernels give what tfjs' fused matMul gives.
    const fused = tf.tidy(() => autodiffLayer(layers[0]!, x).dataSync());
    expect(withInput).toEqual(fused);
    expect(withInput.some((v) => v === 0) && withInput.some((v) => v > 0)).toBe(true);
    const dx = tf.tidy(() => tf.grad((input: tf.Tensor) => tf.sum(applyNtkDense(layers[0]!, input as tf.Tensor2D, 'relu', true)))(x).dataSync());
    const reference = tf.tidy(() => tf.grad((input: tf.Tensor) => tf.sum(autodiffLayer(layers[0]!, input as tf.Tensor2D)))(x).dataSync());
    expect(dx).toEqual(reference);
    x.dispose();
  });
});
