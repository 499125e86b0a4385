import { describe, expect, it } from 'vitest';
import { CoalescedSends } from '../../../src/kafka/coalesced-sends.js';

/** A send function whose sends finish only when the test says so. */
function controlledSends(): { sent: number[][]; finish: (error?: Error) => void; sendAll: (items: readonly number[]) => Promise<void> } {
  const sent: number[][] = [];
  const finishers: ((error?: Error) => void)[] = [];
  return {
    sent,
    finish: (error) => finishers.shift()!(error),
    sendAll: (items) => {
      sent.push([...items]);
      return new Promise<void>((resolve, reject) => finishers.push((error) => (error ? reject(error) : resolve())));
    },
  };
}

const settledSoon = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('CoalescedSends', () => {
  it('sends one at a time, in order, and sends what queued meanwhile together, up to the limit', async () => {
    const broker = controlledSends();
    const sends = new CoalescedSends(broker.sendAll, 5);
    const done: string[] = [];
    const first = sends.send([1, 2]).then(() => done.push('a'));
    const second = sends.send([3, 4]).then(() => done.push('b'));
    const third = sends.send([5]).then(() => done.push('c'));
    const fourth = sends.send([6, 7, 8]).then(() => done.push('d'));
    expect(broker.sent).toEqual([[1, 2]]);
    broker.finish();
    await settledSoon();
    // [3, 4] and [5] fit in 5 items; [6, 7, 8] would not.
    expect(broker.sent).toEqual([[1, 2], [3, 4, 5]]);
    expect(done).toEqual(['a']);
    broker.finish();
    await settledSoon();
    expect(done).toEqual(['a', 'b', 'c']);
    expect(broker.sent).toEqual([[1, 2], [3, 4, 5], [6, 7, 8]]);
    broker.finish();
    await Promise.all([first, second, third, fourth]);
    expect(done).toEqual(['a', 'b', 'c', 'd']);
  });

  it('sends a request larger than the limit whole, on its own', async () => {
    const broker = controlledSends();
    const sends = new CoalescedSends(broker.sendAll, 2);
    const big = sends.send([1, 2, 3]);
    const small = sends.send([4]);
    broker.finish();
    await big;
    expect(broker.sent).toEqual([[1, 2, 3], [4]]);
    broker.finish();
    await small;
  });

  it('after a failed send, fails what went with it, what waited and whatever is asked later, sending none of it', async () => {
    const broker = controlledSends();
    const sends = new CoalescedSends(broker.sendAll, 100);
    const first = sends.send([1]);
    const waiting = sends.send([2]);
    broker.finish(new Error('broker gone'));
    await expect(first).rejects.toThrow('broker gone');
    await expect(waiting).rejects.toThrow('broker gone');
    await expect(sends.send([3])).rejects.toThrow('broker gone');
    expect(broker.sent).toEqual([[1]]);
  });
});
