import * as tf from '@tensorflow/tfjs';

/**
 * One dense layer of every task's head, stacked along a leading slot axis:
 * weight [slots, fanIn, width], bias [slots, width], NTK-parameterised like
 * ntk-dense.ts (W, b ~ N(0, 1), scales in the forward pass). Rows of a batch
 * pick their task's slot with one gather, so a step over any number of tasks
 * issues the same few kernels; a task absent from a batch gets a zero
 * gradient and keeps its weights exactly.
 */
export interface StackedLayer {
  weight: tf.Variable<tf.Rank.R3>;
  bias: tf.Variable<tf.Rank.R2>;
  readonly fanIn: number;
  readonly width: number;
}

/** tfjs variable names are process-global; every reallocation gets a new one. */
let reallocations = 0;

export function createStackedLayer(fanIn: number, width: number, slots: number, name: string): StackedLayer {
  const generation = (reallocations += 1);
  // tf.variable keeps its own reference to the data; tidy disposes the initial zeros.
  return tf.tidy(() => ({
    weight: tf.variable(tf.zeros<tf.Rank.R3>([slots, fanIn, width]), true, `${name}/w#${generation}`),
    bias: tf.variable(tf.zeros<tf.Rank.R2>([slots, width]), true, `${name}/b#${generation}`),
    fanIn,
    width,
  }));
}

/** The layer with room for `slots` heads; existing slots keep their values. */
export function growStackedLayer(layer: StackedLayer, slots: number, name: string): StackedLayer {
  const added = slots - layer.weight.shape[0];
  const generation = (reallocations += 1);
  const grown = tf.tidy(() => ({
    weight: tf.variable(tf.concat([layer.weight, tf.zeros<tf.Rank.R3>([added, layer.fanIn, layer.width])]), true, `${name}/w#${generation}`),
    bias: tf.variable(tf.concat([layer.bias, tf.zeros<tf.Rank.R2>([added, layer.width])]), true, `${name}/b#${generation}`),
  }));
  disposeStackedLayer(layer);
  return { ...grown, fanIn: layer.fanIn, width: layer.width };
}

/** Writes one slot's weights ([fanIn·width], row-major) and bias ([width]). */
export function writeSlot(layer: StackedLayer, slot: number, weight: Float32Array, bias: Float32Array): void {
  tf.tidy(() => {
    layer.weight.assign(tf.tensorScatterUpdate(layer.weight, [[slot]], tf.tensor3d(weight, [1, layer.fanIn, layer.width])));
    layer.bias.assign(tf.tensorScatterUpdate(layer.bias, [[slot]], tf.tensor2d(bias, [1, layer.width])));
  });
}

/** Every row's layer output through its own slot's weights: input [n, fanIn] → [n, width]. */
export function applyStackedLayer(
  layer: StackedLayer,
  input: tf.Tensor2D,
  slots: tf.Tensor1D,
  scales: { readonly sigmaW2: number; readonly sigmaB2: number },
): tf.Tensor2D {
  const rows = input.shape[0];
  const weight = tf.gather(tf.mul(layer.weight, Math.sqrt(scales.sigmaW2 / layer.fanIn)), slots);
  const bias = tf.gather(tf.mul(layer.bias, Math.sqrt(scales.sigmaB2)), slots);
  const product = tf.matMul(tf.reshape(input, [rows, 1, layer.fanIn]), weight);
  return tf.add(tf.reshape(product, [rows, layer.width]), bias);
}

export function disposeStackedLayer(layer: StackedLayer): void {
  layer.weight.dispose();
  layer.bias.dispose();
}
