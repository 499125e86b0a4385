import type { LearnResult, ModelName } from '../model/online-model.js';
import type { Example, Query } from '../spec/example.js';

/**
 * The types that flow through the pipeline, left to right. Each stage narrows
 * or enriches them; none carries I/O handles.
 */

/** Where a record came from: enough to commit, dead-letter or replay it. */
export interface SourceCoordinates {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offsets are int64; kept as the string kafkajs gives. */
  readonly offset: string;
}

/** A raw Kafka message as the source emits it. */
export interface SourceRecord extends SourceCoordinates {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Broker timestamp, epoch ms. */
  readonly timestamp: number;
  /** The record's own Kafka headers, kept for the dead-letter topic. */
  readonly headers?: Readonly<Record<string, Buffer | string | (Buffer | string)[] | undefined>>;
}

export type RejectReason =
  | 'empty'
  | 'too_large'
  | 'invalid_utf8'
  | 'invalid_json'
  | 'not_an_object'
  | 'missing_field'
  | 'unknown_field_type'
  | 'wrong_dimension'
  | 'non_finite'
  | 'task_limit';

/**
 * A decoded record: a labeled example (scored, then learned), an unlabeled
 * one (`y` absent or null: scored only) or a reject with its reason.
 */
export type Decoded =
  | {
      readonly ok: true;
      readonly labeled: true;
      readonly source: SourceRecord;
      readonly example: Example;
      /** The target as the record had it, when the scale stage clipped `example.y` (which is what is learned). */
      readonly observedY?: number;
    }
  | { readonly ok: true; readonly labeled: false; readonly source: SourceRecord; readonly example: Query }
  | { readonly ok: false; readonly source: SourceRecord; readonly reason: RejectReason; readonly detail: string };

export type Accepted = Extract<Decoded, { ok: true; labeled: true }>;
export type Unlabeled = Extract<Decoded, { ok: true; labeled: false }>;
export type Rejected = Extract<Decoded, { ok: false }>;

/** The target a record's errors are measured against: the one the user sent, not the clipped one learned. */
export function observedTarget(record: Accepted): number {
  return record.observedY ?? record.example.y;
}

/** A minibatch: consecutive decoded records, good and bad, in arrival order. */
export interface Batch {
  readonly sequence: number;
  /** Labeled records: scored, then learned. */
  readonly accepted: readonly Accepted[];
  /** Records without a label: scored and published, never learned. */
  readonly unlabeled: readonly Unlabeled[];
  readonly rejected: readonly Rejected[];
  /** Next offset to consume per "topic:partition", i.e. highest offset in the batch + 1. */
  readonly nextOffsets: ReadonlyMap<string, { topic: string; partition: number; offset: string }>;
  /** Time the batch was closed, epoch ms. */
  readonly formedAt: number;
}

/**
 * One model's prequential predictions for a batch, aligned with
 * `Batch.accepted` followed by `Batch.unlabeled` (so index i < accepted.length
 * is the i-th labeled record).
 */
export interface ModelScores {
  readonly model: ModelName;
  readonly predictions: Float32Array;
  /** Predictive standard deviation of y, same alignment, from models that have one (the NTK-GP). */
  readonly standardDeviations?: Float32Array;
}

export interface ScoredBatch extends Batch {
  readonly scores: readonly ModelScores[];
  readonly scoreSeconds: number;
  /** The model that scored the batch: how many minibatches it had learned (restored with checkpoints). */
  readonly modelVersion: number;
}

export interface ModelLearning extends LearnResult {
  readonly model: ModelName;
  readonly seconds: number;
}

export interface LearnedBatch extends ScoredBatch {
  readonly learned: readonly ModelLearning[];
}

/** A learned batch after the checkpoint stage: `checkpoint` is set when this batch closed one. */
export interface CheckpointedBatch<S = unknown> extends LearnedBatch {
  readonly checkpoint?: {
    readonly state: S;
    /** The next offset of every partition learned so far: what Kafka may be told once the state is stored. */
    readonly offsets: readonly { topic: string; partition: number; offset: string }[];
    readonly capturedAt: number;
  };
}
