import { statSync } from 'node:fs';
import type { TangentMetrics } from '../metrics/metrics.js';
import { stepsOwed } from '../model/replay-debt.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { LearningState } from './learning-state.js';
import type { TaskState } from './task-state.js';

/** What a checkpoint captures: the member's whole state (the local cache) and each task's (the changelog). */
export interface Snapshot {
  readonly state: LearningState;
  readonly tasks: TaskState[];
}

export interface CheckpointWriterParts {
  readonly store: CheckpointStore<LearningState>;
  /** Batches learned up to the newest stored checkpoint when the writer starts (0 without one). */
  readonly storedBatches: number;
  /** Replay steps that checkpoint's deferred phases owed (0 without one). */
  readonly storedReplayOwed?: number;
  readonly capture: () => Snapshot;
  /** The task states' changelog, when there is one: only the tasks of partitions this member owns are published. */
  readonly changelog?: {
    readonly owns: (topic: string, partition: number) => boolean;
    /** @returns the bytes published */
    readonly publish: (tasks: readonly TaskState[]) => Promise<number>;
  };
  readonly metrics: TangentMetrics;
}

/**
 * The one checkpoint writer: the pipeline, the idle timer, a rebalance handover and stop each wait
 * for the write before theirs. The local file first (a cache: fast restarts), then the task states
 * of the partitions this member owns to the changelog; offsets are committed by the caller only
 * after both.
 */
export class CheckpointWriter {
  private storing: Promise<unknown> = Promise.resolve();
  private stored: number;
  private storedOwed: number;

  constructor(private readonly parts: CheckpointWriterParts) {
    this.stored = parts.storedBatches;
    this.storedOwed = parts.storedReplayOwed ?? 0;
  }

  /** Batches learned up to the newest stored checkpoint. */
  get storedBatches(): number {
    return this.stored;
  }

  /**
   * Replay steps the newest stored checkpoint's deferred phases owed: paying them moves the model
   * without a batch, so a state owing fewer at the same batch count is newer than the stored one.
   */
  get storedReplayOwed(): number {
    return this.storedOwed;
  }

  capture(): Snapshot {
    return this.parts.capture();
  }

  store(snapshot: Snapshot): Promise<void> {
    const stored = this.storing.then(() => this.write(snapshot));
    this.storing = stored.catch(() => undefined);
    return stored;
  }

  private async write({ state, tasks }: Snapshot): Promise<void> {
    const { store, changelog, metrics } = this.parts;
    const started = performance.now();
    const { file } = await store.write(state);
    this.stored = state.position.batches;
    this.storedOwed = replayStepsOwed(state);
    if (changelog) {
      const owned = tasks.filter((t) => changelog.owns(t.source.topic, t.source.partition));
      metrics.stateBytesPublished.inc(await changelog.publish(owned));
      metrics.stateTasksPublished.inc(owned.length);
    }
    metrics.checkpointDuration.observe((performance.now() - started) / 1000);
    metrics.checkpoints.inc();
    metrics.checkpointBytes.set(statSync(file).size);
    metrics.lastCheckpointAt = Date.now();
  }
}

/** Replay steps a state's deferred fine-tuning phases still owe. */
export function replayStepsOwed(state: LearningState): number {
  return stepsOwed(state.network?.replayOwed?.phases ?? []);
}
