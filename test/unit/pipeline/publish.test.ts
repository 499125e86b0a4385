import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { decodeRecord } from '../../../src/pipeline/decode-record.js';
import type { PredictionColumns } from '../../../src/pipeline/prediction.js';
import { publish } from '../../../src/pipeline/publish.js';
import type { Accepted, CheckpointedBatch } from '../../../src/pipeline/records.js';
import { UnstoredCheckpoints } from '../../../src/pipeline/unstored-checkpoints.js';
import { sourceRecord } from './helpers.js';

function learnedBatch(sequence: number, offsets: readonly number[], checkpointed = false): CheckpointedBatch {
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
    ...(checkpointed ? { checkpoint: { state: undefined, offsets: [], capturedAt: 0 } } : {}),
  };
}

interface PendingSend {
  readonly offsets: string[];
  finish(error?: Error): void;
}

function recordingSend(sends: PendingSend[]): (predictions: PredictionColumns) => Promise<void> {
  return (predictions) =>
    new Promise((resolve, reject) => sends.push({ offsets: [...predictions.offset], finish: (error) => (error ? reject(error) : resolve()) }));
}

const settledSoon = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('publish', () => {
  it("starts each batch's send as it arrives, and passes batches on in order, each once its own send has ended", async () => {
    const sends: PendingSend[] = [];
    const batches = new Subject<CheckpointedBatch>();
    const passed: number[] = [];
    let failure: unknown;
    batches.pipe(publish(recordingSend(sends), new UnstoredCheckpoints())).subscribe({ next: (b) => passed.push(b.sequence), error: (error: unknown) => (failure = error) });

    batches.next(learnedBatch(0, [1, 2]));
    batches.next(learnedBatch(1, [3]));
    batches.next(learnedBatch(2, [4]));
    await settledSoon();
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

  it('holds the predictions of the batches after a checkpoint until that checkpoint is stored, then sends them in order', async () => {
    const sends: PendingSend[] = [];
    const batches = new Subject<CheckpointedBatch>();
    const unstored = new UnstoredCheckpoints();
    batches.pipe(publish(recordingSend(sends), unstored)).subscribe();

    batches.next(learnedBatch(0, [1], true));
    batches.next(learnedBatch(1, [2]));
    batches.next(learnedBatch(2, [3], true));
    batches.next(learnedBatch(3, [4]));
    await settledSoon();
    // The checkpoint batch's own predictions go out (they must precede its storing); the ones after it wait.
    expect(sends.map((s) => s.offsets)).toEqual([['1']]);
    unstored.stored();
    await settledSoon();
    expect(sends.map((s) => s.offsets)).toEqual([['1'], ['2'], ['3']]);
    unstored.stored();
    await settledSoon();
    expect(sends.map((s) => s.offsets)).toEqual([['1'], ['2'], ['3'], ['4']]);
  });
});
