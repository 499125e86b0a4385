import * as tf from '@tensorflow/tfjs';
import type { Activation } from './architecture-spec.js';

/**
 * A dense layer in NTK parameterisation: `(σ_w/√fan_in)·a·W + σ_b·b` with
 * W, b ~ N(0, 1). Its infinite-width limit is exactly the kernel recursion of
 * src/ntk, which is why the scale lives in the forward pass, not in the init.
 */
export interface NtkDense {
  readonly weight: tf.Variable<tf.Rank.R2>;
  readonly bias: tf.Variable<tf.Rank.R1>;
  readonly fanIn: number;
}

export interface NtkScales {
  readonly sigmaW2: number;
  readonly sigmaB2: number;
}

export function createNtkDense(fanIn: number, width: number, seed: number, name: string): NtkDense {
  return {
    weight: tf.variable(tf.randomNormal([fanIn, width], 0, 1, 'float32', seed), true, `${name}/w`),
    bias: tf.variable(tf.randomNormal([width], 0, 1, 'float32', seed + 1), true, `${name}/b`),
    fanIn,
  };
}

export function applyNtkDense(layer: NtkDense, input: tf.Tensor2D, scales: NtkScales): tf.Tensor2D {
  const weightScale = Math.sqrt(scales.sigmaW2 / layer.fanIn);
  const biasScale = Math.sqrt(scales.sigmaB2);
  return tf.add(tf.mul(tf.matMul(input, layer.weight), weightScale), tf.mul(layer.bias, biasScale));
}

export function activate(input: tf.Tensor2D, activation: Activation): tf.Tensor2D {
  return activation === 'relu' ? tf.relu(input) : tf.erf(input);
}

export function disposeNtkDense(layer: NtkDense): void {
  layer.weight.dispose();
  layer.bias.dispose();
}
