import { from, map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { batch } from '../../../src/pipeline/batch.js';
import { decodeRecord } from '../../../src/pipeline/decode-record.js';
import type { Batch, Decoded } from '../../../src/pipeline/records.js';
import { goodValue, sourceRecord } from './helpers.js';

const decodeOptions = { inputDim: 3, maxRecordBytes: 1024 };
const good = (partition = 0, offset?: string): Decoded =>
  decodeRecord(sourceRecord(goodValue(), { partition, ...(offset ? { offset } : {}) }), decodeOptions);
const bad = (): Decoded => decodeRecord(sourceRecord('{'), decodeOptions);

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** A batch as "accepted+rejected" so marble expectations stay readable. */
const sizes = map((b: Batch) => `${b.accepted.length}+${b.rejected.length}`);

describe('batch', () => {
  it('cuts batches by count, good and bad records alike, and flushes the rest on completion', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('gbgg-gbg|', { g: good(), b: bad() });
      expectObservable(source.pipe(batch({ size: 3, lingerMs: 0 }), sizes)).toBe('--x---y-(z|)', {
        x: '2+1',
        y: '2+1',
        z: '1+0',
      });
    });
  });

  it('flushes a partial batch lingerMs after its first record', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('gg 10ms g 50ms |', { g: good() });
      // first batch: records at 0 and 1, flushed at 0 + 5; second: record at 12, flushed at 17
      expectObservable(source.pipe(batch({ size: 10, lingerMs: 5 }), sizes), '^ 30ms !').toBe('----- x 11ms y', {
        x: '2+0',
        y: '1+0',
      });
    });
  });

  it('emits nothing for an empty stream', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<Decoded>('---|').pipe(batch({ size: 3, lingerMs: 2 }))).toBe('---|');
    });
  });

  it('remembers the next offset of every partition in the batch', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('abc|', { a: good(0, '10'), b: good(1, '4'), c: good(0, '11') });
      const offsets = map((b: Batch) => [...b.nextOffsets.values()]);
      expectObservable(source.pipe(batch({ size: 3, lingerMs: 0 }), offsets)).toBe('--x|', {
        x: [
          { topic: 'records', partition: 0, offset: '12' },
          { topic: 'records', partition: 1, offset: '5' },
        ],
      });
    });
  });

  it('forms the same batches on replay (count-based, no linger)', () => {
    const records = Array.from({ length: 50 }, (_, i) => (i % 7 === 0 ? bad() : good()));
    const cut = (): string[] => {
      const cuts: string[] = [];
      from(records)
        .pipe(batch({ size: 8, lingerMs: 0 }))
        .subscribe((b) => cuts.push(`${b.sequence}:${[...b.nextOffsets.values()].map((o) => o.offset).join()}`));
      return cuts;
    };
    const first = cut();
    expect(first).toHaveLength(7);
    expect(cut()).toEqual(first);
  });

  it('passes errors downstream', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('g#', { g: good() });
      expectObservable(source.pipe(batch({ size: 5, lingerMs: 0 }))).toBe('-#');
    });
  });

  it('cancels its linger timer on unsubscribe', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('g 20ms |', { g: good() });
      expectObservable(source.pipe(batch({ size: 5, lingerMs: 10 }), sizes), '^ 5ms !').toBe('');
    });
  });
});

describe('batch warm-up (cold start)', () => {
  it('forms batches of 1, 2, 4, ... records up to size, then size', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('gggggggggggggggggg|', { g: good() });
      expectObservable(source.pipe(batch({ size: 4, lingerMs: 0, warmup: true }), sizes)).toBe('x-y---z---w---v---(u|)', {
        x: '1+0',
        y: '2+0',
        z: '4+0',
        w: '4+0',
        v: '4+0',
        u: '3+0',
      });
    });
  });

  it('continues the warm-up sizes after a restart from the batches already formed', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('gggggg|', { g: good() });
      expectObservable(source.pipe(batch({ size: 8, lingerMs: 0, warmup: true, formedBefore: 2 }), sizes)).toBe('---x--(y|)', {
        x: '4+0',
        y: '2+0',
      });
    });
  });
});
