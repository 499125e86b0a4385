import { compareOffsets } from './offset-order.js';
import type { LearnedBatch, SourceCoordinates } from './records.js';

/**
 * One scored record's prediction, as published on the predictions topic
 * (docs/serving.md). Everything in it is fixed by the record and the model
 * state that scored it, so a record scored again after a crash gives the
 * identical message.
 */
export interface Prediction {
  readonly task: string;
  readonly source: SourceCoordinates;
  /** The network's prediction of y. */
  readonly nn: number;
  /** The NTK-GP's predictive mean and standard deviation of y; null when the baseline is off. */
  readonly ntkgp: { readonly mean: number; readonly sd: number } | null;
  /** Minibatches the model had learned when it scored the record. */
  readonly modelVersion: number;
  /** The record had a label (`y`). */
  readonly labeled: boolean;
  /** The record had a label and the network learned it (false: unlabeled, or the step was rejected). */
  readonly learned: boolean;
  /** The record's event time, epoch ms (its `ts`, else the broker timestamp). */
  readonly ts: number;
}

function compareCoordinates(a: SourceCoordinates, b: SourceCoordinates): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  if (a.partition !== b.partition) return a.partition - b.partition;
  return compareOffsets(a.offset, b.offset);
}

/**
 * The predictions of a scored (and learned) batch, labeled and unlabeled
 * records alike, in source order within each partition. They are read from
 * the score stage's output, so they are exactly the scores the metrics use.
 */
export function predictionsOf(batch: LearnedBatch): Prediction[] {
  const network = batch.scores.find((s) => s.model === 'nn');
  const baseline = batch.scores.find((s) => s.model === 'ntkgp');
  const networkLearned = batch.learned.find((l) => l.model === 'nn')?.applied ?? false;
  const records = [...batch.accepted, ...batch.unlabeled];
  const predictions = records.map(({ source, example, labeled }, i): Prediction => ({
    task: example.task,
    source: { topic: source.topic, partition: source.partition, offset: source.offset },
    nn: network ? network.predictions[i]! : Number.NaN,
    ntkgp: baseline ? { mean: baseline.predictions[i]!, sd: baseline.standardDeviations?.[i] ?? Number.NaN } : null,
    modelVersion: batch.modelVersion,
    labeled,
    learned: labeled && networkLearned,
    ts: example.ts,
  }));
  return predictions.sort((a, b) => compareCoordinates(a.source, b.source));
}
