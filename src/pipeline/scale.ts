import { map, type OperatorFunction } from 'rxjs';
import { clipToBands, type ClipPolicy, type TargetBands } from '../model/outlier-clipping.js';
import type { RunningMoments } from '../model/running-moments.js';
import type { Accepted, Batch } from './records.js';

export interface ScaleParts {
  readonly featureMoments: RunningMoments;
  readonly targetBands: TargetBands;
  readonly policy: ClipPolicy;
  /** Told how many feature and target values of a batch were clipped. */
  readonly onClipped?: (kind: 'feature' | 'target', count: number) => void;
}

/**
 * Stage: robust online standardisation of features, and clipping of
 * targets per task (see outlier-clipping.ts). The moments are model state
 * (checkpointed with it), so they are passed in rather than owned here. It
 * runs on whole batches, after batching, so at every batch boundary the
 * moments hold exactly the records learned so far — which is what makes a
 * checkpoint exact. Each record is first clipped to the band of the
 * moments so far, then updates them, then is standardised with them, so
 * the very first record is well defined and no single value can wreck the
 * scale. Records without a label are clipped and standardised with the
 * moments at the end of the batch's labeled records, as `POST /predict`
 * would between batches.
 */
export function scale(parts: ScaleParts): OperatorFunction<Batch, Batch> {
  const { featureMoments: moments, targetBands, policy } = parts;
  return map((batch) => {
    let features = 0;
    let targets = 0;
    const accepted = batch.accepted.map((record): Accepted => {
      const { example } = record;
      const clipped = clipToBands(example.x, moments, policy);
      features += clipped;
      // A clipped record does not move the moments: band-edge values would widen the band a little
      // each time, and a run of extremes would widen it without bound.
      if (clipped === 0) moments.update(example.x);
      moments.standardize(example.x, example.x);
      const target = targetBands.clip(example.task, example.y);
      if (!target.clipped) return record;
      targets += 1;
      return { ...record, example: { ...example, y: target.y } };
    });
    // Unlabeled records are never learned, and the feature moments are learned state: they are only standardised.
    for (const { example } of batch.unlabeled) {
      features += clipToBands(example.x, moments, policy);
      moments.standardize(example.x, example.x);
    }
    if (features > 0) parts.onClipped?.('feature', features);
    if (targets > 0) parts.onClipped?.('target', targets);
    return targets > 0 ? { ...batch, accepted } : batch;
  });
}
