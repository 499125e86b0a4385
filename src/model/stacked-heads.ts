import * as tf from '@tensorflow/tfjs';
import { layerWithBackward, layerWithGradients, type LayerForward, type LayerWithBackward } from './custom-gradient.js';
import { createLayerScales, disposeLayerScales, type LayerScales, type NtkScales } from './ntk-dense.js';

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
  readonly scales: LayerScales;
}

/** tfjs variable names are process-global; every reallocation gets a new one. */
let reallocations = 0;

export function createStackedLayer(fanIn: number, width: number, slots: number, name: string, scales: NtkScales): StackedLayer {
  const generation = (reallocations += 1);
  // tf.variable keeps its own reference to the data; tidy disposes the initial zeros.
  const variables = tf.tidy(() => ({
    weight: tf.variable(tf.zeros<tf.Rank.R3>([slots, fanIn, width]), true, `${name}/w#${generation}`),
    bias: tf.variable(tf.zeros<tf.Rank.R2>([slots, width]), true, `${name}/b#${generation}`),
  }));
  return { ...variables, fanIn, width, scales: createLayerScales(fanIn, scales) };
}

/** The layer with room for `slots` heads; existing slots keep their values. */
export function growStackedLayer(layer: StackedLayer, slots: number, name: string): StackedLayer {
  const added = slots - layer.weight.shape[0];
  const generation = (reallocations += 1);
  const grown = tf.tidy(() => ({
    weight: tf.variable(tf.concat([layer.weight, tf.zeros<tf.Rank.R3>([added, layer.fanIn, layer.width])]), true, `${name}/w#${generation}`),
    bias: tf.variable(tf.concat([layer.bias, tf.zeros<tf.Rank.R2>([added, layer.width])]), true, `${name}/b#${generation}`),
  }));
  layer.weight.dispose();
  layer.bias.dispose();
  return { ...grown, fanIn: layer.fanIn, width: layer.width, scales: layer.scales };
}

/** Writes one slot's weights ([fanIn·width], row-major) and bias ([width]). */
export function writeSlot(layer: StackedLayer, slot: number, weight: Float32Array, bias: Float32Array): void {
  tf.tidy(() => {
    layer.weight.assign(tf.tensorScatterUpdate(layer.weight, [[slot]], tf.tensor3d(weight, [1, layer.fanIn, layer.width])));
    layer.bias.assign(tf.tensorScatterUpdate(layer.bias, [[slot]], tf.tensor2d(bias, [1, layer.width])));
  });
}

/**
 * Every row's layer output through its own slot's weights: input [n, fanIn] → [n, width].
 * `inputGradient`: whether a gradient flows on to the input (not when the trunk is frozen).
 *
 * The gradient is written out: the kernels tfjs' autodiff of the gathers, the batched matMul and
 * the scalings runs, in the same order, so the same numbers bit for bit
 * (test/unit/model/stacked-heads.test.ts), without the identity transposes around each
 * segment sum, the reshapes and the casts of the scales it adds: ~12 fewer native calls a step.
 */
export function applyStackedLayer(layer: StackedLayer, input: tf.Tensor2D, slots: tf.Tensor1D, inputGradient = true): tf.Tensor2D {
  return layerWithGradients(stackedForward(layer, input.shape[0], slots), input, layer.weight, layer.bias, inputGradient);
}

/**
 * {@link applyStackedLayer} off the gradient tape, for a backward pass run by hand
 * (trunk-heads-network.ts): the same kernels, forward and backward.
 */
export function applyStackedLayerWithBackward(layer: StackedLayer, input: tf.Tensor2D, slots: tf.Tensor1D): LayerWithBackward {
  return layerWithBackward(stackedForward(layer, input.shape[0], slots), input, layer.weight, layer.bias);
}

function stackedForward(layer: StackedLayer, rows: number, slots: tf.Tensor1D): LayerForward<tf.Tensor3D, tf.Tensor2D> {
  const slotCount = layer.weight.shape[0];
  const { weight: weightScale, bias: biasScale } = layer.scales;
  return (x, w, b, save) => {
    const weight = tf.gather(tf.mul(w, weightScale), slots);
    const bias = tf.gather(tf.mul(b, biasScale), slots);
    const rowInputs = tf.reshape(x, [rows, 1, layer.fanIn]);
    const product = tf.matMul(rowInputs, weight);
    save([rowInputs, weight, slots]);
    return {
      value: tf.add(tf.reshape(product, [rows, layer.width]), bias),
      gradients: (dy, [savedRowInputs, savedWeight, savedSlots]) => {
        const dProduct = tf.reshape(dy, [rows, 1, layer.width]);
        return {
          weight: tf.mul(sumPerSlot(tf.matMul(savedRowInputs!, dProduct, true, false), savedSlots as tf.Tensor1D, slotCount), weightScale),
          bias: tf.mul(sumPerSlot(dy, savedSlots as tf.Tensor1D, slotCount), biasScale),
          input: () => tf.reshape(tf.matMul(dProduct, savedWeight!, false, true), [rows, layer.fanIn]),
        };
      },
    };
  };
}

/**
 * The rows of `values` summed per slot ([n, ...] → [slotCount, ...]): a segment sum, where the
 * backend has one (the native one does; its sums are what tfjs' autodiff of the gather gives), else
 * a one-hot product (the WebAssembly backend has no UnsortedSegmentSum kernel, and its OneHot
 * writes int32 whatever dtype it is asked for, hence the cast).
 */
function sumPerSlot(values: tf.Tensor, slots: tf.Tensor1D, slotCount: number): tf.Tensor {
  if (tf.getKernel('UnsortedSegmentSum', tf.getBackend()) !== undefined) return tf.unsortedSegmentSum(values, slots, slotCount);
  const rows = values.shape[0]!;
  const perSlot = tf.matMul(tf.cast(tf.oneHot(slots, slotCount), 'float32'), tf.reshape(values, [rows, values.size / rows]), true, false);
  return tf.reshape(perSlot, [slotCount, ...values.shape.slice(1)]);
}

export function disposeStackedLayer(layer: StackedLayer): void {
  layer.weight.dispose();
  layer.bias.dispose();
  disposeLayerScales(layer.scales);
}
