import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../src/model/backend.js';
import { meanSquaredError, meanSquaredErrorWithGradient } from '../../../src/model/mean-squared-error.js';

describe('meanSquaredError', () => {
  beforeAll(async () => {
    await selectBackend('auto');
  });

  it('gives the loss and the gradient of tfjs autodiff bit for bit, with fewer kernels', async () => {
    // 37 rows: 1/n is not a power of two, so a different order of the division would show.
    const weights = tf.variable(tf.randomNormal<tf.Rank.R2>([5, 1], 0, 1, 'float32', 1), true, 'mse-test/w');
    const x = tf.randomNormal<tf.Rank.R2>([37, 5], 0, 3, 'float32', 2);
    const targets = tf.randomNormal<tf.Rank.R2>([37, 1], 0, 1, 'float32', 3);
    const ours = (): tf.Scalar => meanSquaredError(tf.matMul(x, weights), targets);
    const theirs = (): tf.Scalar => tf.mean(tf.squaredDifference(tf.matMul(x, weights), targets));
    const run = (loss: () => tf.Scalar): [number, Float32Array] =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(loss, [weights]);
        return [value.dataSync()[0]!, grads[weights.name]!.dataSync() as Float32Array];
      });
    const [ourLoss, ourGradient] = run(ours);
    const [theirLoss, theirGradient] = run(theirs);
    expect(ourLoss).toBe(theirLoss);
    expect(ourGradient).toEqual(theirGradient);
    expect(ourGradient.every((g) => g !== 0)).toBe(true);
    const kernels = async (loss: () => tf.Scalar): Promise<number> =>
      (await tf.profile(() => tf.tidy(() => void tf.variableGrads(loss, [weights])))).kernels.filter((k) => k.name !== 'Identity').length;
    expect(await kernels(ours)).toBeLessThan(await kernels(theirs));
    weights.dispose();
    x.dispose();
    targets.dispose();
  });

  it('keeps what its gradient reads when the targets are made inside the differentiated function', () => {
    const weights = tf.variable(tf.ones<tf.Rank.R2>([2, 1]), true, 'mse-test/inner');
    const gradient = tf.tidy(() => {
      const { grads } = tf.variableGrads(() => meanSquaredError(tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), weights), tf.tensor2d([[0], [1]])), [weights]);
      return grads[weights.name]!.dataSync();
    });
    // outputs 3 and 7, errors 3 and 6: d/dw = 2/2 · (3·[1, 2] + 6·[3, 4]).
    expect([...gradient]).toEqual([21, 30]);
    weights.dispose();
  });

  it('off the tape, gives the loss and the gradient of the taped one bit for bit, for every batch size up to 130', () => {
    for (let rows = 1; rows <= 130; rows++) {
      const outputs = tf.randomNormal<tf.Rank.R2>([rows, 1], 0, 3, 'float32', rows);
      const targets = tf.randomNormal<tf.Rank.R2>([rows, 1], 0, 1, 'float32', 1000 + rows);
      const [ourLoss, ourGradient] = tf.tidy(() => {
        const { value, gradient } = meanSquaredErrorWithGradient(outputs, targets);
        return [value.dataSync()[0]!, gradient.dataSync() as Float32Array] as const;
      });
      const [tapedLoss, tapedGradient] = tf.tidy(() => {
        const { value, grad } = tf.valueAndGrad((predicted: tf.Tensor) => meanSquaredError(predicted as tf.Tensor2D, targets))(outputs);
        return [value.dataSync()[0]!, grad.dataSync() as Float32Array] as const;
      });
      expect(ourLoss).toBe(tapedLoss);
      expect(ourGradient).toEqual(tapedGradient);
      tf.dispose([outputs, targets]);
    }
  });
});
