import { describe, expect, it } from 'vitest';
import { FlowControl } from '../../../src/kafka/flow-control.js';
import { PartitionOffsets } from '../../../src/kafka/partition-offsets.js';

describe('FlowControl', () => {
  it('pauses at the high-water mark and resumes only at the low one', () => {
    const flow = new FlowControl(100, 20);
    expect(flow.emitted(60)).toBeUndefined();
    expect(flow.emitted(40)).toBe('pause');
    expect(flow.emitted(30)).toBeUndefined();
    expect(flow.completed(64)).toBeUndefined();
    expect(flow.paused).toBe(true);
    expect(flow.completed(46)).toBe('resume');
    expect(flow.inFlight).toBe(20);
    expect(flow.paused).toBe(false);
    expect(flow.completed(64)).toBeUndefined();
    expect(flow.inFlight).toBe(0);
  });
});

describe('PartitionOffsets', () => {
  it('drops records already emitted (a refetch after a rebalance)', () => {
    const offsets = new PartitionOffsets();
    expect(['5', '6', '7'].map((o) => offsets.accept('t', 0, o))).toEqual([true, true, true]);
    expect(['6', '7', '8'].map((o) => offsets.accept('t', 0, o))).toEqual([false, false, true]);
    expect(offsets.accept('t', 1, '0')).toBe(true);
  });

  it('reports lag from the high-water mark and the committed offset', () => {
    const offsets = new PartitionOffsets();
    offsets.accept('t', 0, '10');
    offsets.seenHighWatermark('t', 0, '110');
    expect([...offsets.lag()]).toEqual([{ topic: 't', partition: 0, lag: 100 }]);
    offsets.committed('t', 0, '100');
    expect([...offsets.lag()]).toEqual([{ topic: 't', partition: 0, lag: 10 }]);
    offsets.retain(new Set());
    expect([...offsets.lag()]).toEqual([]);
  });

  it('counts the reads of the log end: unfetched records see arrivals only at a read', () => {
    const offsets = new PartitionOffsets();
    offsets.seenHighWatermark('t', 0, '100');
    offsets.accept('t', 0, '0');
    expect([offsets.unfetched(), offsets.logEndReadings]).toEqual([99, 1]);
    offsets.accept('t', 0, '1');
    expect([offsets.unfetched(), offsets.logEndReadings]).toEqual([98, 1]);
    offsets.seenHighWatermark('t', 0, '150');
    expect([offsets.unfetched(), offsets.logEndReadings]).toEqual([148, 2]);
  });

  it('tells whether its commits are behind a position', () => {
    const offsets = new PartitionOffsets();
    const position = [
      { topic: 't', partition: 0, offset: '100' },
      { topic: 't', partition: 1, offset: '40' },
    ];
    expect(offsets.commitsBehind(position)).toBe(true);
    offsets.committed('t', 0, '100');
    expect(offsets.commitsBehind(position)).toBe(true);
    offsets.committed('t', 1, '39');
    expect(offsets.commitsBehind(position)).toBe(true);
    offsets.committed('t', 1, '40');
    expect(offsets.commitsBehind(position)).toBe(false);
    expect(offsets.commitsBehind([])).toBe(false);
  });
});
