import { createRequire } from 'node:module';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { brokersUnreachable, untilDelivered } from '../../../src/kafka/until-delivered.js';

const kafkajsErrors = createRequire(import.meta.url)('kafkajs/src/errors.js') as Record<string, new (message: unknown, options?: object) => Error>;

describe('brokersUnreachable', () => {
  it('is true of what kafkajs throws when no broker answers, however wrapped', async () => {
    const kafka = new Kafka({ clientId: 'unreachable', brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 10 } });
    const producer = kafka.producer();
    const refused = await producer.connect().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(Error);
    expect(brokersUnreachable(refused)).toBe(true);
    const connection = new kafkajsErrors.KafkaJSConnectionError!('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    expect(brokersUnreachable(new kafkajsErrors.KafkaJSNumberOfRetriesExceeded!(connection, { retryCount: 10, retryTime: 10_000 }))).toBe(true);
  });

  it('is false of a broker refusing the request, and of errors of ours', () => {
    expect(brokersUnreachable(new kafkajsErrors.KafkaJSNonRetriableError!('Invalid topic'))).toBe(false);
    expect(brokersUnreachable(new Error('message too large'))).toBe(false);
    expect(brokersUnreachable('ECONNREFUSED')).toBe(false);
  });
});

describe('untilDelivered', () => {
  it("sends again while the brokers are unreachable, then resolves with the send's result", async () => {
    let attempts = 0;
    const pauses: number[] = [];
    const bytes = await untilDelivered(
      async () => {
        attempts += 1;
        if (attempts < 4) throw new kafkajsErrors.KafkaJSConnectionError!('Connection error: connect ECONNREFUSED');
        return 1234;
      },
      { retrying: (_error, pauseMs) => pauses.push(pauseMs), maxPauseMs: 600 },
    );
    expect(bytes).toBe(1234);
    expect(attempts).toBe(4);
    expect(pauses).toEqual([250, 500, 600]);
  });

  it('throws any other error at once', async () => {
    let attempts = 0;
    const send = untilDelivered(
      async () => {
        attempts += 1;
        throw new kafkajsErrors.KafkaJSNonRetriableError!('Invalid topic');
      },
      { retrying: () => undefined },
    );
    await expect(send).rejects.toThrow('Invalid topic');
    expect(attempts).toBe(1);
  });
});
