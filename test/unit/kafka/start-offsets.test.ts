import { describe, expect, it } from 'vitest';
import { startOffset, type PartitionFacts } from '../../../src/kafka/start-offsets.js';

const facts = (over: Partial<PartitionFacts>): PartitionFacts => ({
  partition: 0,
  position: 500n,
  committed: 500n,
  committedByThisMember: true,
  logStart: 0n,
  logEnd: 1_000n,
  ...over,
});

describe('startOffset: where a partition starts after joining', () => {
  it('starts at the position when this member committed it', () => {
    expect(startOffset(facts({}))).toEqual({ partition: 0, offset: 500n });
    expect(startOffset(facts({ committed: 400n }))).toEqual({ partition: 0, offset: 500n });
  });

  it("learns again what a lost newer checkpoint of this member held, instead of skipping to its commit", () => {
    expect(startOffset(facts({ committed: 600n }))).toEqual({ partition: 0, offset: 500n, warning: 'relearning_lost_checkpoint', records: 100n });
  });

  it("skips to another member's commit ahead of the position: that member learned those records", () => {
    expect(startOffset(facts({ committed: 600n, committedByThisMember: false }))).toEqual({ partition: 0, offset: 600n });
    expect(startOffset(facts({ committed: 300n, committedByThisMember: false }))).toEqual({ partition: 0, offset: 500n });
  });

  it('a position beyond the log end, or without any commit, means a new log: start at its beginning', () => {
    expect(startOffset(facts({ logEnd: 200n, committed: -1n }))).toMatchObject({ offset: 0n, warning: 'beyond_log_end' });
    expect(startOffset(facts({ committed: -1n }))).toMatchObject({ offset: 0n, warning: 'no_committed_offset', records: 500n });
    expect(startOffset(facts({ committed: -1n, position: 0n }))).toEqual({ partition: 0, offset: 0n });
  });

  it("a position from the group's state changelog without any commit: its writer stopped before committing, start at the position", () => {
    expect(startOffset(facts({ committed: -1n, committedByThisMember: false, positionFromChangelog: true }))).toEqual({ partition: 0, offset: 500n });
    expect(startOffset(facts({ committed: -1n, committedByThisMember: false, positionFromChangelog: true, logEnd: 200n }))).toMatchObject({ offset: 0n, warning: 'beyond_log_end' });
  });

  it('a position before the log start: retention deleted records before they were learned', () => {
    expect(startOffset(facts({ logStart: 700n, committed: 500n }))).toMatchObject({ offset: 700n, warning: 'before_log_start', records: 200n });
  });

  it('no state: the group decides, unless this member committed (its state was lost, learn from the start)', () => {
    expect(startOffset(facts({ position: undefined, committedByThisMember: false }))).toEqual({ partition: 0, offset: undefined });
    expect(startOffset(facts({ position: undefined, committed: -1n }))).toEqual({ partition: 0, offset: undefined });
    expect(startOffset(facts({ position: undefined, logStart: 100n }))).toMatchObject({ offset: 100n, warning: 'relearning_lost_state', records: 400n });
  });
});
