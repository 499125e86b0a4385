import { map, type OperatorFunction } from 'rxjs';
import type { ClipPolicy, TargetBands } from '../model/outlier-clipping.js';
import type { RobustBand } from '../model/robust-band.js';
import type { RunningMoments } from '../model/running-moments.js';
import type { Accepted, Batch } from './records.js';

export interface ScaleParts {
  readonly featureMoments: RunningMoments;
  /** The robust band features are clipped to (robust-band.ts). */
  readonly featureBand: RobustBand;
  readonly targetBands: TargetBands;
  readonly policy: ClipPolicy;
  /** Told of each batch's tasks (one per record) as it arrives, before anything else. */
  readonly batched?: (tasks: readonly string[]) => void;
  /** Told how many feature and target values of a batch were clipped. */
  readonly onClipped?: (kind: 'feature' | 'target', count: number) => void;
}

/**
 * Stage: robust online standardisation of features, and clipping of
 * targets per task (see outlier-clipping.ts). The moments and bands are
 * model state (checkpointed with it), so they are passed in rather than
 * owned here. It runs on whole batches, after batching, so at every batch
 * boundary they hold exactly the records learned so far — which is what
 * makes a checkpoint exact. Each record is first clipped to the band, then
 * updates the moments (unless clipped), then is standardised with them, so
 * the very first record is well defined and no value can wreck the scale.
 *
 * The feature band is recomputed from its window at each batch's start, and
 * after every record while the window fills (robust-band.ts); a target band
 * before each target. A clipped record keeps its original target beside the
 * clipped one it is learned from, so its errors are measured against what
 * the user sent. Records without a label are clipped and standardised as
 * they stand after the batch's labeled records, as `POST /predict` would
 * between batches.
 */
export function scale(parts: ScaleParts): OperatorFunction<Batch, Batch> {
  const { featureMoments: moments, featureBand: band, targetBands, policy } = parts;
  const refresh = (): void => band.refresh(policy.sigmas, policy.warmup, (i) => moments.standardDeviation(i));
  return map((batch) => {
    parts.batched?.([...batch.accepted, ...batch.unlabeled].map((r) => r.example.task));
    let features = 0;
    let targets = 0;
    refresh();
    const accepted = batch.accepted.map((record): Accepted => {
      const { example } = record;
      // Pushed before it is clipped: the window holds what the stream sent (the band in force is not moved by a push).
      band.push(example.x);
      const clipped = band.clip(example.x);
      features += clipped;
      // A clipped record does not move the moments: a run of band-edge values would inflate them.
      if (clipped === 0) moments.update(example.x);
      if (band.filled < band.window) refresh();
      moments.standardize(example.x, example.x);
      const target = targetBands.clip(example.task, example.y);
      if (!target.clipped) return record;
      targets += 1;
      return { ...record, example: { ...example, y: target.y }, observedY: example.y };
    });
    // Unlabeled records are never learned, and the band and moments are learned state: they are only clipped and standardised.
    for (const { example } of batch.unlabeled) {
      features += band.clip(example.x);
      moments.standardize(example.x, example.x);
    }
    if (features > 0) parts.onClipped?.('feature', features);
    if (targets > 0) parts.onClipped?.('target', targets);
    return targets > 0 ? { ...batch, accepted } : batch;
  });
}
