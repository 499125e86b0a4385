import * as tf from '@tensorflow/tfjs';

/**
 * The function `tf.customGrad` takes (tfjs does not export its type by name): called with the
 * inputs and a `save` function, it returns the value and the gradient function. Its inputs are
 * untyped tensors, hence the casts where one is written.
 */
export type CustomGradient<T extends tf.Tensor> = Parameters<typeof tf.customGrad<T>>[0];

/** A layer's gradients given its output's: the input's is a thunk, computed only when something reads it. */
export interface LayerGradients {
  readonly input: () => tf.Tensor;
  readonly weight: tf.Tensor;
  readonly bias: tf.Tensor;
}

/**
 * A layer's forward pass with its gradient written out. Everything the gradient reads must go
 * through `save`: tf.variableGrads runs the forward pass in a tidy of its own, which disposes
 * anything merely closed over.
 */
export type LayerForward<W extends tf.Tensor, B extends tf.Tensor> = (
  input: tf.Tensor2D,
  weight: W,
  bias: B,
  save: tf.GradSaveFunc,
) => { value: tf.Tensor2D; gradients: (dy: tf.Tensor2D, saved: tf.Tensor[]) => LayerGradients };

/**
 * Applies a layer with a written-out gradient to `input`, differentiable in its weight and bias,
 * and in `input` too when `inputGradient` (false for the network's data, or features off the tape:
 * then the input is no argument of the custom gradient, and its gradient is never computed).
 */
export function layerWithGradients<W extends tf.Tensor, B extends tf.Tensor>(
  forward: LayerForward<W, B>,
  input: tf.Tensor2D,
  weight: W,
  bias: B,
  inputGradient: boolean,
): tf.Tensor2D {
  const withGradients = (x: tf.Tensor2D, w: W, b: B, save: tf.GradSaveFunc): { value: tf.Tensor2D; gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => tf.Tensor[] } => {
    const { value, gradients } = forward(x, w, b, save);
    return {
      value,
      gradFunc: (dy, saved) => {
        const g = gradients(dy, saved);
        return inputGradient ? [g.input(), g.weight, g.bias] : [g.weight, g.bias];
      },
    };
  };
  if (inputGradient) return tf.customGrad<tf.Tensor2D>(withGradients as unknown as CustomGradient<tf.Tensor2D>)(input, weight, bias);
  const withoutInput = (w: W, b: B, save: tf.GradSaveFunc): ReturnType<typeof withGradients> => withGradients(input, w, b, save);
  return tf.customGrad<tf.Tensor2D>(withoutInput as unknown as CustomGradient<tf.Tensor2D>)(weight, bias);
}

/** A layer applied off the gradient tape: its output, and its gradients given the output's. */
export interface LayerWithBackward {
  readonly value: tf.Tensor2D;
  readonly backward: (dy: tf.Tensor2D) => LayerGradients;
}

/**
 * Applies a layer's forward pass without the tape, keeping what its gradient reads, so that a
 * caller that knows the network's shape runs the backward pass itself: the same kernels as
 * {@link layerWithGradients} under tf.variableGrads, so the same numbers, without the engine's
 * recording and replaying of every kernel.
 */
export function layerWithBackward<W extends tf.Tensor, B extends tf.Tensor>(forward: LayerForward<W, B>, input: tf.Tensor2D, weight: W, bias: B): LayerWithBackward {
  let saved: tf.Tensor[] = [];
  const { value, gradients } = forward(input, weight, bias, (tensors) => {
    saved = tensors;
  });
  return { value, backward: (dy) => gradients(dy, saved) };
}
