import * as tf from '@tensorflow/tfjs';
import { layerWithBackward, layerWithGradients, type LayerForward, type LayerWithBackward } from './custom-gradient.js';
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
  readonly scales: LayerScales;
}

export interface NtkScales {
  readonly sigmaW2: number;
  readonly sigmaB2: number;
}

/**
 * A layer's two NTK scales, σ_w/√fan_in and σ_b, as float32 scalars kept
 * with its variables: multiplying by a JavaScript number makes and uploads a
 * new scalar tensor on every call, four per layer in a step. The same float32
 * numbers either way.
 */
export interface LayerScales {
  readonly weight: tf.Scalar;
  readonly bias: tf.Scalar;
}

export function createLayerScales(fanIn: number, scales: NtkScales): LayerScales {
  // Kept: a layer may be created inside a tidy (a grown head stack), which would dispose them at its end.
  return { weight: tf.keep(tf.scalar(Math.sqrt(scales.sigmaW2 / fanIn))), bias: tf.keep(tf.scalar(Math.sqrt(scales.sigmaB2))) };
}

export function disposeLayerScales(scales: LayerScales): void {
  scales.weight.dispose();
  scales.bias.dispose();
}

export function createNtkDense(fanIn: number, width: number, seed: number, name: string, scales: NtkScales): NtkDense {
  // tf.variable keeps its own reference to the data; the initial tensors are ours to dispose.
  const initialWeight = tf.randomNormal<tf.Rank.R2>([fanIn, width], 0, 1, 'float32', seed);
  const initialBias = tf.randomNormal<tf.Rank.R1>([width], 0, 1, 'float32', seed + 1);
  const layer: NtkDense = {
    weight: tf.variable(initialWeight, true, `${name}/w`),
    bias: tf.variable(initialBias, true, `${name}/b`),
    fanIn,
    scales: createLayerScales(fanIn, scales),
  };
  initialWeight.dispose();
  initialBias.dispose();
  return layer;
}

/**
 * The layer's output, with its activation applied when one is given. The
 * scales go on the (small) parameters rather than the (batch-sized)
 * activations. matMul, bias and ReLU run as three plain kernels: tfjs-node's
 * "fused" matMul is those same three kernels (so the same numbers, bit for
 * bit) inside a scope of its own, with the operands reshaped to 3-D and back,
 * and cost twice as much (~110 against ~45 µs for a batch of 64 here).
 * `inputGradient`: whether a gradient flows on to the input (false for the
 * network's data).
 */
export function applyNtkDense(layer: NtkDense, input: tf.Tensor2D, activation?: Activation, inputGradient = true): tf.Tensor2D {
  if (activation === 'relu') return layerWithGradients(reluDenseForward(layer.scales), input, layer.weight, layer.bias, inputGradient);
  const weight = tf.mul(layer.weight, layer.scales.weight);
  const bias = tf.mul(layer.bias, layer.scales.bias);
  const preActivation = tf.add<tf.Tensor2D>(tf.matMul(input, weight), bias);
  return activation === 'erf' ? tf.erf(preActivation) : preActivation;
}

/**
 * relu(x·(W·s_w) + b·s_b) with its gradient written out. The kernels are the
 * ones tfjs' own gradient of its fused matMul and the two scalings runs, in the
 * same order, so the numbers are the same bit for bit
 * (test/unit/model/ntk-dense.test.ts); what goes is what tfjs-node adds around
 * them: the ReLU's derivative as a composite step (IsNan, Greater, two Fills,
 * Select) where the sign of the output (0 or 1, NaN kept) does, the casts of the
 * scales, the reshapes around the bias' sum, and the input's gradient when
 * nothing needs it. ~8 fewer kernels per layer in a fine-tuning step, each one a
 * native call that costs more than its arithmetic.
 */
function reluDenseForward(scales: LayerScales): LayerForward<tf.Tensor2D, tf.Tensor1D> {
  return (x, w, b, save) => {
    const weight = tf.mul(w, scales.weight);
    const output = tf.relu(tf.add<tf.Tensor2D>(tf.matMul(x, weight), tf.mul(b, scales.bias)));
    save([x, weight, output]);
    return {
      value: output,
      gradients: (dy, [savedX, savedWeight, savedOutput]) => {
        const dPreActivation = tf.mul(dy, tf.sign(savedOutput!));
        return {
          weight: tf.mul(tf.matMul(savedX!, dPreActivation, true, false), scales.weight),
          bias: tf.mul(tf.sum(dPreActivation, 0), scales.bias),
          input: () => tf.matMul(dPreActivation, savedWeight!, false, true),
        };
      },
    };
  };
}

/**
 * A ReLU layer off the gradient tape, for a backward pass run by hand
 * (trunk-heads-network.ts): the same kernels as {@link applyNtkDense} with
 * 'relu' and its gradient under tf.variableGrads.
 */
export function applyReluNtkDenseWithBackward(layer: NtkDense, input: tf.Tensor2D): LayerWithBackward {
  return layerWithBackward(reluDenseForward(layer.scales), input, layer.weight, layer.bias);
}

export function disposeNtkDense(layer: NtkDense): void {
  layer.weight.dispose();
  layer.bias.dispose();
  disposeLayerScales(layer.scales);
}
