import * as tf from '@tensorflow/tfjs';
import type { Activation } from '../spec/architecture-spec.js';

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
  // tf.variable keeps its own reference to the data; the initial tensors are ours to dispose.
  const initialWeight = tf.randomNormal<tf.Rank.R2>([fanIn, width], 0, 1, 'float32', seed);
  const initialBias = tf.randomNormal<tf.Rank.R1>([width], 0, 1, 'float32', seed + 1);
  const layer: NtkDense = {
    weight: tf.variable(initialWeight, true, `${name}/w`),
    bias: tf.variable(initialBias, true, `${name}/b`),
    fanIn,
  };
  initialWeight.dispose();
  initialBias.dispose();
  return layer;
}

/**
 * The layer's output, with its activation applied when one is given. The
 * scales go on the (small) parameters rather than the (batch-sized)
 * activations, and matMul + bias (+ ReLU) run as one fused kernel: fewer ops
 * per step, which is what a small MLP's step time is made of.
 */
export function applyNtkDense(layer: NtkDense, input: tf.Tensor2D, scales: NtkScales, activation?: Activation): tf.Tensor2D {
  const weight = tf.mul(layer.weight, Math.sqrt(scales.sigmaW2 / layer.fanIn));
  const bias = tf.mul(layer.bias, Math.sqrt(scales.sigmaB2));
  if (activation === 'relu') return tf.fused.matMul({ a: input, b: weight, bias, activation: 'relu' }) as tf.Tensor2D;
  const preActivation = tf.fused.matMul({ a: input, b: weight, bias }) as tf.Tensor2D;
  return activation === 'erf' ? tf.erf(preActivation) : preActivation;
}

export function disposeNtkDense(layer: NtkDense): void {
  layer.weight.dispose();
  layer.bias.dispose();
}
