import { map, type OperatorFunction } from 'rxjs';
import type { RunningMoments } from '../model/running-moments.js';
import type { Batch } from './records.js';

/**
 * Stage: online standardisation of features. The moments are model state
 * (checkpointed with it), so they are passed in rather than owned here. It
 * runs on whole batches, after batching, so at every batch boundary the
 * moments hold exactly the records learned so far — which is what makes a
 * checkpoint exact. Each record first updates the moments, then is
 * standardised with them, so the very first record is well defined.
 * Records without a label are standardised with the moments at the end of
 * the batch's labeled records, as `POST /predict` would between batches.
 */
export function scale(moments: RunningMoments): OperatorFunction<Batch, Batch> {
  return map((batch) => {
    for (const { example } of batch.accepted) {
      moments.update(example.x);
      moments.standardize(example.x, example.x);
    }
    // Unlabeled records are never learned, and the feature moments are learned state: they are only standardised.
    for (const { example } of batch.unlabeled) moments.standardize(example.x, example.x);
    return batch;
  });
}
