import type { LearningSession } from '../learning-session.js';
import type { LearningTurns } from '../pipeline/learning-turns.js';
import type { BatchObserver } from '../pipeline/observe.js';
import type { LearnedBatch } from '../pipeline/records.js';
import { SnapshotSchedule } from '../serving/snapshot-schedule.js';
import type { SnapshotUpdate } from '../serving/snapshot-update.js';
import { SnapshotTaker } from '../serving/take-snapshot.js';

/**
 * The model as POST /predict answers from it: a snapshot of the session handed to the serving thread
 * between two minibatches (snapshot-schedule.ts decides when) and after every restore. As a batch
 * observer it must come after every observer that changes the model (the trunk merge).
 */
export class ServingSnapshots implements BatchObserver {
  /** Batches learned, the one whose observers run included (the position advances after them, in the checkpoint stage). */
  private learnedBatches: number;
  private readonly schedule: SnapshotSchedule;

  constructor(session: LearningSession, serving: { publish(update: SnapshotUpdate): void }, turns: LearningTurns) {
    this.learnedBatches = session.position.batches;
    const taker = new SnapshotTaker({
      spec: session.spec,
      featureMoments: session.featureMoments,
      featureBand: session.featureBand,
      network: session.network,
      baseline: session.baseline,
      modelVersion: () => this.learnedBatches,
    });
    this.schedule = new SnapshotSchedule(
      () => serving.publish(taker.take()),
      (work) => void turns.run(work),
    );
  }

  /** At start and after a restore. */
  now(): void {
    this.schedule.now();
  }

  observe(batch: LearnedBatch): void {
    this.learnedBatches = batch.modelVersion + 1;
    this.modelChanged();
  }

  /** The model changed (a batch learned, or learning between batches): handed over as soon as the schedule allows. */
  modelChanged(): void {
    this.schedule.afterBatch();
  }

  stop(): void {
    this.schedule.stop();
  }
}
