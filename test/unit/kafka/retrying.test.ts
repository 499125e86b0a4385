import { KafkaJSProtocolError, KafkaJSNonRetriableError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { retrying } from '../../../src/kafka/retrying.js';

const notLeader = (): KafkaJSProtocolError =>
  // As kafkajs builds it from the broker's error code 6.
  new KafkaJSProtocolError(
    Object.assign(new Error('This server is not the leader for that topic-partition'), { type: 'NOT_LEADER_FOR_PARTITION', code: 6, retriable: true }),
  );

describe('retrying', () => {
  it('retries a partition without an elected leader until the read succeeds', async () => {
    let calls = 0;
    const offsets = await retrying(
      async () => {
        calls += 1;
        if (calls < 3) throw notLeader();
        return [{ partition: 0, low: '0', high: '42' }];
      },
      { pauseMs: 1 },
    );
    expect(offsets).toEqual([{ partition: 0, low: '0', high: '42' }]);
    expect(calls).toBe(3);
  });

  it('throws a non-retriable error at once', async () => {
    let calls = 0;
    const failing = retrying(
      async () => {
        calls += 1;
        throw new KafkaJSNonRetriableError('topic authorization failed');
      },
      { pauseMs: 1 },
    );
    await expect(failing).rejects.toThrow('topic authorization failed');
    expect(calls).toBe(1);
  });

  it('gives up after the last attempt with the broker error', async () => {
    let calls = 0;
    const failing = retrying(
      async () => {
        calls += 1;
        throw notLeader();
      },
      { attempts: 4, pauseMs: 1 },
    );
    await expect(failing).rejects.toThrow('not the leader');
    expect(calls).toBe(4);
  });
});
