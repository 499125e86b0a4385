import type * as tf from '@tensorflow/tfjs';

/**
 * The function `tf.customGrad` takes (tfjs does not export its type by name): called with the
 * inputs and a `save` function, it returns the value and the gradient function. Its inputs are
 * untyped tensors, hence the casts where one is written.
 */
export type CustomGradient<T extends tf.Tensor> = Parameters<typeof tf.customGrad<T>>[0];
