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

/**
 * A batch's predictions column by column, one entry per record in source
 * order within each partition: what the learning thread hands the
 * predictions thread. Typed arrays and two string lists cross the thread
 * boundary as a few copies, where a list of {@link Prediction} objects is
 * serialised property by property (names included) for every record; the
 * predictions thread makes the messages ({@link predictionsFromColumns}).
 */
export interface PredictionColumns {
  /** The distinct tasks and topics of the batch; `task` and `topic` index into it. */
  readonly names: readonly string[];
  readonly task: Int32Array;
  readonly topic: Int32Array;
  readonly partition: Int32Array;
  readonly offset: readonly string[];
  /** The network's predictions (NaN without the network). */
  readonly nn: Float64Array;
  /** The NTK-GP's means and standard deviations; null when the baseline is off. */
  readonly ntkgp: { readonly mean: Float64Array; readonly sd: Float64Array } | null;
  readonly modelVersion: number;
  /** 1 for a record with a label. */
  readonly labeled: Uint8Array;
  /** 1 for a record the network learned. */
  readonly learned: Uint8Array;
  readonly ts: Float64Array;
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
export function predictionColumnsOf(batch: LearnedBatch): PredictionColumns {
  const network = batch.scores.find((s) => s.model === 'nn');
  const baseline = batch.scores.find((s) => s.model === 'ntkgp');
  const networkLearned = batch.learned.find((l) => l.model === 'nn')?.applied ?? false;
  const records = [...batch.accepted, ...batch.unlabeled];
  const order = records.map((_, i) => i).sort((i, j) => compareCoordinates(records[i]!.source, records[j]!.source));
  const count = records.length;
  const names: string[] = [];
  const nameIndex = new Map<string, number>();
  const indexOf = (name: string): number => {
    let index = nameIndex.get(name);
    if (index === undefined) nameIndex.set(name, (index = names.push(name) - 1));
    return index;
  };
  const columns = {
    names,
    task: new Int32Array(count),
    topic: new Int32Array(count),
    partition: new Int32Array(count),
    offset: new Array<string>(count),
    nn: new Float64Array(count),
    ntkgp: baseline ? { mean: new Float64Array(count), sd: new Float64Array(count) } : null,
    modelVersion: batch.modelVersion,
    labeled: new Uint8Array(count),
    learned: new Uint8Array(count),
    ts: new Float64Array(count),
  };
  order.forEach((i, k) => {
    const { source, example, labeled } = records[i]!;
    columns.task[k] = indexOf(example.task);
    columns.topic[k] = indexOf(source.topic);
    columns.partition[k] = source.partition;
    columns.offset[k] = source.offset;
    columns.nn[k] = network ? network.predictions[i]! : Number.NaN;
    if (columns.ntkgp && baseline) {
      columns.ntkgp.mean[k] = baseline.predictions[i]!;
      columns.ntkgp.sd[k] = baseline.standardDeviations?.[i] ?? Number.NaN;
    }
    columns.labeled[k] = labeled ? 1 : 0;
    columns.learned[k] = labeled && networkLearned ? 1 : 0;
    columns.ts[k] = example.ts;
  });
  return columns;
}

/** The predictions, one object per record, as the predictions topic publishes them. */
export function predictionsFromColumns(columns: PredictionColumns): Prediction[] {
  const { names, ntkgp } = columns;
  const predictions = new Array<Prediction>(columns.task.length);
  for (let k = 0; k < predictions.length; k++) {
    predictions[k] = {
      task: names[columns.task[k]!]!,
      source: { topic: names[columns.topic[k]!]!, partition: columns.partition[k]!, offset: columns.offset[k]! },
      nn: columns.nn[k]!,
      ntkgp: ntkgp ? { mean: ntkgp.mean[k]!, sd: ntkgp.sd[k]! } : null,
      modelVersion: columns.modelVersion,
      labeled: columns.labeled[k] === 1,
      learned: columns.learned[k] === 1,
      ts: columns.ts[k]!,
    };
  }
  return predictions;
}
