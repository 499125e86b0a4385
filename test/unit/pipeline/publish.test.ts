import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { decodeRecord } from '../../../src/pipeline/decode-record.js';
import type { Prediction } from '../../../src/pipeline/prediction.js';
import { publish } from '../../../src/pipeline/publish.js';
import type { Accepted, LearnedBatch } from '../../../src/pipeline/records.js';
import { sourceRecord } from './helpers.js';

function learnedBatch(sequence: number, offsets: readonly number[]): LearnedBatch {
  const accepted = offsets.map((offset) => {
    const decoded = decodeRecord(sourceRecord({ task: 'a', x: [offset, 0], y: 1 }, { partition: 0, offset: String(offset) }), { inputDim: 2, maxRecordBytes: 1024 });
    if (!decoded.ok || !decoded.labeled) throw new Error('expected a labeled record');
    return decoded as Accepted;
  });
  return {
    sequence,
    accepted,
    unlabeled: [],
    rejected: [],
    nextOffsets: new Map(),
    formedAt: 0,
    scores: [{ model: 'nn', predictions: Float32Array.from(offsets) }],
    scoreSeconds: 0,
    modelVersion: sequence,
    learned: [{ model: 'nn', applied: true, loss: 0, seconds: 0 }],
  };
}

const settledSoon = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('publish', () => {
  it("starts each batch's send as it arrives, and passes batches on in order, each once its own send has ended", async () => {
    const sends: { offsets: string[]; finish: (error?: Error) => void }[] = [];
    const send = (predictions: readonly Prediction[]): Promise<void> =>
      new Promise((resolve, reject) => sends.push({ offsets: predictions.map((p) => p.source.offset), finish: (error) => (error ? reject(error) : resolve()) }));
    const batches = new Subject<LearnedBatch>();
    const passed: number[] = [];
    let failure: unknown;
    batches.pipe(publish(send)).subscribe({ next: (b) => passed.push(b.sequence), error: (error: unknown) => (failure = error) });

    batches.next(learnedBatch(0, [1, 2]));
    batches.next(learnedBatch(1, [3]));
    batches.next(learnedBatch(2, [4]));
    // All three are out at once: none waits for the one before it to be acknowledged.
    expect(sends.map((s) => s.offsets)).toEqual([['1', '2'], ['3'], ['4']]);
    sends[1]!.finish();
    await settledSoon();
    expect(passed).toEqual([]);
    sends[0]!.finish();
    await settledSoon();
    expect(passed).toEqual([0, 1]);
    // A later batch's failure fails the stage when its turn comes, without an unhandled rejection before.
    sends[2]!.finish(new Error('broker gone'));
    await settledSoon();
    expect(passed).toEqual([0, 1]);
    expect((failure as Error).message).toBe('broker gone');
  });
});
