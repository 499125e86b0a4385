import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CheckpointNow } from '../../../src/app/checkpoint-now.js';
import { CheckpointStore } from '../../../src/checkpoint/checkpoint-store.js';
import { CheckpointWriter } from '../../../src/checkpoint/checkpoint-writer.js';
import type { LearningState } from '../../../src/checkpoint/learning-state.js';
import { StreamPosition } from '../../../src/checkpoint/stream-position.js';
import { PartitionOffsets } from '../../../src/kafka/partition-offsets.js';
import { TangentMetrics } from '../../../src/metrics/metrics.js';

type Offsets = { topic: string; partition: number; offset: string }[];

/**
 * A member that learned `batches` batches up to offset 40 of partition 0 and 7 of partition 1, whose
 * newest stored checkpoint holds `storedBatches`; commits are recorded (or fail with `commitFails`) and
 * `events` keeps the order of trunk publications, stores and commits.
 */
function member(options: { batches: number; storedBatches: number; owned?: number[]; commitFails?: boolean; storedReplayOwed?: number; replayOwed?: number }) {
  const dir = mkdtempSync(join(tmpdir(), 'tangent-checkpoint-now-'));
  const events: string[] = [];
  const commits: Offsets[] = [];
  const warnings: string[] = [];
  const position = new StreamPosition({
    offsets: [
      { topic: 'in', partition: 0, offset: '40' },
      { topic: 'in', partition: 1, offset: '7' },
    ],
    learned: 47,
    deadLettered: 0,
    batches: options.batches,
  });
  let replayOwed = options.replayOwed ?? 0;
  const store = new CheckpointStore<LearningState>(dir, 5);
  const writer = new CheckpointWriter({
    store,
    storedBatches: options.storedBatches,
    storedReplayOwed: options.storedReplayOwed ?? 0,
    capture: () => {
      events.push(`capture ${position.batches}`);
      const phases = replayOwed > 0 ? [{ steps: replayOwed + 1, taken: 1 }] : [];
      return { state: { position: position.toJSON(), network: { replayOwed: { phases } } } as unknown as LearningState, tasks: [] };
    },
    metrics: new TangentMetrics({ lag: () => [] }),
  });
  const offsets = new PartitionOffsets();
  const owned = new Set(options.owned ?? [0, 1]);
  const checkpoints = new CheckpointNow({
    writer,
    source: {
      offsets,
      owns: (_topic, partition) => owned.has(partition),
      commit: async (next) => {
        const list = [...next];
        events.push('commit');
        if (options.commitFails) throw new Error('broker gone');
        commits.push(list);
        for (const o of list) offsets.committed(o.topic, o.partition, o.offset);
        return true;
      },
    },
    position,
    replayOwed: () => replayOwed,
    publishTrunk: async () => {
      events.push('trunk');
    },
    logger: pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line).msg) }),
  });
  const files = (): number => readdirSync(dir).filter((name) => name.startsWith('checkpoint-')).length;
  const payReplaySteps = (steps: number): void => {
    replayOwed -= steps;
  };
  return { checkpoints, writer, events, commits, warnings, files, offsets, payReplaySteps };
}

describe('CheckpointNow', () => {
  it('at a handover publishes the trunk, stores what was learned since the newest checkpoint, then commits its position', async () => {
    const m = member({ batches: 12, storedBatches: 10 });
    expect(await m.checkpoints.handover()).toBe(true);
    expect(m.events).toEqual(['trunk', 'capture 12', 'commit']);
    expect(m.files()).toBe(1);
    expect(m.writer.storedBatches).toBe(12);
    expect(m.commits).toEqual([
      [
        { topic: 'in', partition: 0, offset: '40' },
        { topic: 'in', partition: 1, offset: '7' },
      ],
    ]);
  });

  it('at a handover with the model as the newest checkpoint holds it commits its position without storing again', async () => {
    const m = member({ batches: 10, storedBatches: 10 });
    await m.checkpoints.handover();
    expect(m.events).toEqual(['trunk', 'commit']);
    expect(m.files()).toBe(0);
    expect(m.commits[0]).toEqual([
      { topic: 'in', partition: 0, offset: '40' },
      { topic: 'in', partition: 1, offset: '7' },
    ]);
  });

  it('at a handover with replay steps paid since the newest checkpoint stores again, so the changelog holds the heads of the trunk it published', async () => {
    const m = member({ batches: 10, storedBatches: 10, storedReplayOwed: 7, replayOwed: 7 });
    await m.checkpoints.handover();
    expect(m.files()).toBe(0);
    m.payReplaySteps(3);
    await m.checkpoints.handover();
    expect(m.files()).toBe(1);
    expect(m.writer.storedReplayOwed).toBe(4);
    await m.checkpoints.handover();
    expect(m.files()).toBe(1);
  });

  it('at stop stores even with nothing new (replay steps may have moved the trunk it just published)', async () => {
    const m = member({ batches: 10, storedBatches: 10 });
    expect(await m.checkpoints.stop()).toBe(true);
    expect(m.events).toEqual(['trunk', 'capture 10', 'commit']);
    expect(m.files()).toBe(1);
  });

  it('at stop a failed commit is logged and reported, after the checkpoint is stored', async () => {
    const m = member({ batches: 12, storedBatches: 10, commitFails: true });
    expect(await m.checkpoints.stop()).toBe(false);
    expect(m.files()).toBe(1);
    expect(m.warnings).toEqual(['final commit failed']);
  });

  it('when idle stores and commits what was learned, without publishing the trunk', async () => {
    const m = member({ batches: 12, storedBatches: 10 });
    await m.checkpoints.idle();
    expect(m.events).toEqual(['capture 12', 'commit']);
    expect(m.files()).toBe(1);
  });

  it('when idle does not store again for replay steps paid after the last batch (a restore pays what a checkpoint owes)', async () => {
    const m = member({ batches: 10, storedBatches: 10, storedReplayOwed: 2, replayOwed: 2 });
    m.payReplaySteps(2);
    await m.checkpoints.idle();
    expect(m.files()).toBe(0);
    expect(m.writer.storedReplayOwed).toBe(2);
  });

  it('when idle with nothing new commits again only the owned partitions whose commit is behind, and nothing once caught up', async () => {
    const m = member({ batches: 10, storedBatches: 10, owned: [0] });
    m.offsets.committed('in', 0, '32');
    await m.checkpoints.idle();
    expect(m.commits).toEqual([[{ topic: 'in', partition: 0, offset: '40' }]]);
    expect(m.files()).toBe(0);
    await m.checkpoints.idle();
    expect(m.commits).toHaveLength(1);
    expect(m.events).not.toContain('trunk');
  });
});
