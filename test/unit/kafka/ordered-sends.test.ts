import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { OrderedSends } from '../../../src/kafka/ordered-sends.js';

describe('OrderedSends', () => {
  it('sends one after the other, logs a failed send and goes on with the next', async () => {
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line).msg) });
    const sends = new OrderedSends('in.events', logger, 'cannot publish drift events');
    const order: string[] = [];
    sends.send(async () => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      order.push('slow first');
    });
    sends.send(async () => {
      order.push('second');
      throw new Error('broker gone');
    });
    sends.send(async () => {
      order.push('third');
    });
    await sends.settled();
    expect(order).toEqual(['slow first', 'second', 'third']);
    expect(warnings).toEqual(['cannot publish drift events']);
  });
});
