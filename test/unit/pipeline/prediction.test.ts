import { lastValueFrom, of, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { decodeRecord } from '../../../src/pipeline/decode-record.js';
import { predictionColumnsOf, predictionsFromColumns, type Prediction } from '../../../src/pipeline/prediction.js';
import type { Accepted, Batch, LearnedBatch, Unlabeled } from '../../../src/pipeline/records.js';
import { score } from '../../../src/pipeline/score.js';
import { sourceRecord } from './helpers.js';

const options = { inputDim: 2, maxRecordBytes: 1024 };

/** The predictions as the predictions thread makes them: from the columns, after crossing to it by structured clone (what postMessage does). */
const predictionsOf = (batch: LearnedBatch): Prediction[] => predictionsFromColumns(structuredClone(predictionColumnsOf(batch)));

function decoded(value: object, partition: number, offset: number): Accepted | Unlabeled {
  const result = decodeRecord(sourceRecord(value, { partition, offset: String(offset) }), options);
  if (!result.ok) throw new Error(result.detail);
  return result;
}

/** A model whose prediction is a function of the record, so alignment mistakes show. */
const sumModel = { model: 'nn' as const, predict: (qs: readonly { x: Float32Array }[]) => Float32Array.from(qs.map((q) => q.x[0]! + q.x[1]!)) };
const gpModel = {
  model: 'ntkgp' as const,
  predict: () => new Float32Array(),
  predictWithUncertainty: (qs: readonly { x: Float32Array }[]) => ({
    mean: Float32Array.from(qs.map((q) => -q.x[0]!)),
    standardDeviation: Float32Array.from(qs.map((q) => q.x[1]!)),
  }),
};

describe('score and the predictions of a batch', () => {
  it('scores labeled and unlabeled records and lists their predictions in source order per partition', async () => {
    const records = [
      decoded({ task: 'b', x: [1, 2], y: 5 }, 1, 7),
      decoded({ task: 'a', x: [3, 4] }, 0, 3),
      decoded({ task: 'a', x: [5, 6], y: null, ts: 11 }, 0, 4),
      decoded({ task: 'a', x: [7, 8], y: 1 }, 0, 5),
      decoded({ task: 'b', x: [9, 10] }, 1, 8),
    ];
    const batch: Batch = {
      sequence: 0,
      accepted: records.filter((r): r is Accepted => r.labeled),
      unlabeled: records.filter((r): r is Unlabeled => !r.labeled),
      rejected: [],
      nextOffsets: new Map(),
      formedAt: 0,
    };
    const [scored] = await lastValueFrom(of(batch).pipe(score([sumModel, gpModel], () => 17), toArray()));
    // Labeled first, then unlabeled: the metrics read indices below accepted.length.
    expect(Array.from(scored!.scores[0]!.predictions)).toEqual([3, 15, 7, 11, 19]);
    expect(scored!.modelVersion).toBe(17);

    const learned: LearnedBatch = { ...scored!, learned: [{ model: 'nn', applied: true, loss: 0, seconds: 0 }] };
    const predictions = predictionsOf(learned);
    expect(predictions.map((p) => `${p.source.partition}:${p.source.offset}`)).toEqual(['0:3', '0:4', '0:5', '1:7', '1:8']);
    expect(predictions[1]).toEqual({
      task: 'a',
      source: { topic: 'records', partition: 0, offset: '4' },
      nn: 11,
      ntkgp: { mean: -5, sd: 6 },
      modelVersion: 17,
      labeled: false,
      learned: false,
      ts: 11,
    });
    expect(predictions.map((p) => [p.nn, p.labeled, p.learned])).toEqual([
      [7, false, false],
      [11, false, false],
      [15, true, true],
      [3, true, true],
      [19, false, false],
    ]);
    // A step the numerical guard rejected: labeled, but not learned.
    const rejected = predictionsOf({ ...learned, learned: [{ model: 'nn', applied: false, loss: Number.NaN, seconds: 0 }] });
    expect(rejected.filter((p) => p.learned)).toEqual([]);
    // Without the baseline: no NTK-GP part, and the message text names each field once per record, as before.
    const networkOnly = predictionsOf({ ...learned, scores: learned.scores.filter((s) => s.model === 'nn') });
    expect(networkOnly.map((p) => p.ntkgp)).toEqual([null, null, null, null, null]);
    expect(JSON.stringify(networkOnly[3])).toBe('{"task":"b","source":{"topic":"records","partition":1,"offset":"7"},"nn":3,"ntkgp":null,"modelVersion":17,"labeled":true,"learned":true,"ts":' + records[0]!.example.ts + '}');
  });
});

describe('score without uncertainty', () => {
  it('asks no model for its standard deviation, and gives the same means', async () => {
    let asked = 0;
    const counting = { ...gpModel, predict: (qs: readonly { x: Float32Array }[]) => Float32Array.from(qs.map((q) => -q.x[0]!)), predictWithUncertainty: (qs: readonly { x: Float32Array }[]) => ((asked += 1), gpModel.predictWithUncertainty(qs)) };
    const records = [decoded({ task: 'a', x: [1, 2], y: 5 }, 0, 1), decoded({ task: 'a', x: [3, 4] }, 0, 2)];
    const batch: Batch = {
      sequence: 0,
      accepted: records.filter((r): r is Accepted => r.labeled),
      unlabeled: records.filter((r): r is Unlabeled => !r.labeled),
      rejected: [],
      nextOffsets: new Map(),
      formedAt: 0,
    };
    const [plain] = await lastValueFrom(of(batch).pipe(score([counting], () => 0, false), toArray()));
    expect(asked).toBe(0);
    expect(plain!.scores[0]!.standardDeviations).toBeUndefined();
    const [full] = await lastValueFrom(of(batch).pipe(score([counting], () => 0, true), toArray()));
    expect(asked).toBe(1);
    expect(Array.from(full!.scores[0]!.predictions)).toEqual(Array.from(plain!.scores[0]!.predictions));
  });
});
