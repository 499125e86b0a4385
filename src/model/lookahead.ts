import { preparedKernel, preparePoints } from '../ntk/kernel.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';

/** Earlier records of its batch a record looks back over: O(rows · this) kernel entries per batch. */
const lookaheadMaxRows = 128;

/**
 * The in-batch look-ahead: a minibatch is scored before it is learned, so
 * without it record i of a batch is predicted by a model that has not seen
 * the records just before it in the same batch — up to `batch.size − 1`
 * records stale, which costs most on ordered streams (a level that moves
 * with time). The NTK linearisation says what the head would predict had
 * it taken one SGD step on a single earlier record j with residual r_j:
 * its output at x_i moves by η_j·2·K(x_i, x_j)·r_j, K the kernel of the
 * parameters the step moves. With the one-record rate η_j = gain/(2·K(x_j, x_j))
 * the output at x_j itself moves by gain·r_j (normalised LMS of step `gain`),
 * so each record is scored as if the head had taken such a step on every
 * earlier labelled record of its batch, in order:
 *
 *   f_i ← f_i + gain · Σ_{j<i} K(x_i, x_j)/K(x_j, x_j) · r_j,   r_j = y_j − f_j (after its own correction).
 *
 * Nothing is learned: the network still takes its one minibatch step after
 * scoring. Only targets of records before i enter f_i, so the order stays
 * prequential (test-then-train record by record, as the NTK-GP scores).
 *
 * @param X the task's rows of the batch in arrival order (rows × inputDim)
 * @param outputs the head's outputs on those rows (standardised units), corrected in place
 * @param targets standardised targets, NaN for a record without a label (it corrects nothing)
 * @param kind the kernel of a head step: the read-out's NNGP kernel for a linear head, the NTK otherwise
 */
export function lookahead(
  spec: ArchitectureSpec,
  X: Float64Array,
  outputs: Float32Array,
  targets: Float64Array,
  gain: number,
  kind: 'nngp' | 'ntk',
  maxRows = lookaheadMaxRows,
): void {
  const rows = targets.length;
  if (gain <= 0 || rows < 2) return;
  const points = preparePoints(spec, X);
  // gain · r_j / K(x_j, x_j): the weight of record j in every later record's correction.
  const weights = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let correction = 0;
    for (let j = Math.max(0, i - maxRows); j < i; j++) {
      if (weights[j] !== 0) correction += weights[j]! * preparedKernel(spec, points, i, points, j, kind);
    }
    outputs[i] = outputs[i]! + correction;
    const y = targets[i]!;
    if (!Number.isNaN(y)) {
      const weight = (gain * (y - outputs[i]!)) / preparedKernel(spec, points, i, points, i, kind);
      // A non-finite output (a diverged head) must not spread to the batch's later records.
      weights[i] = Number.isFinite(weight) ? weight : 0;
    }
  }
}
