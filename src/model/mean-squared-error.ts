import * as tf from '@tensorflow/tfjs';
import type { CustomGradient } from './custom-gradient.js';

/**
 * mean((outputs − targets)²), differentiable in `outputs`, with its gradient
 * written out: 2·(outputs − targets)·dy/n, the kernels tfjs' own gradient of
 * mean(squaredDifference) runs, so the same numbers bit for bit
 * (test/unit/model/mean-squared-error.test.ts), without the reshape, cast and
 * broadcast multiply it runs around them: three native calls fewer per step.
 */
export function meanSquaredError(outputs: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  const loss = (predicted: tf.Tensor2D, save: tf.GradSaveFunc): { value: tf.Scalar; gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) => tf.Tensor } => {
    // The targets too: a tensor the gradient reads must be saved, or a forward pass run in a tidy of its own disposes it.
    save([predicted, targets]);
    return {
      value: tf.mean(tf.squaredDifference(predicted, targets)),
      gradFunc: (dy, [savedPredicted, savedTargets]) => tf.mul(tf.div(dy, predicted.size), tf.mul(2, tf.sub(savedPredicted!, savedTargets!))),
    };
  };
  return tf.customGrad<tf.Scalar>(loss as unknown as CustomGradient<tf.Scalar>)(outputs);
}

/**
 * {@link meanSquaredError} off the gradient tape, with its gradient in `outputs` (for a backward
 * pass run by hand). The loss' own gradient is 1 there, so (1/n)·(2·(outputs − targets)) becomes
 * (outputs − targets)·(2/n): the same float32 numbers, since 2·d is exact, the float32 2/n is twice
 * the float32 1/n, and rounding 2/n from a double to float32 gives the correctly rounded quotient
 * (53 ≥ 2·24 + 2 bits); two kernels instead of five.
 */
export function meanSquaredErrorWithGradient(outputs: tf.Tensor2D, targets: tf.Tensor2D): { value: tf.Scalar; gradient: tf.Tensor2D } {
  const value = tf.mean<tf.Scalar>(tf.squaredDifference(outputs, targets));
  return { value, gradient: tf.mul(tf.sub(outputs, targets), 2 / outputs.size) };
}
