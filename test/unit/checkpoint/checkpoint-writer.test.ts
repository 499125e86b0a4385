import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../../src/checkpoint/checkpoint-store.js';
import { CheckpointWriter, type Snapshot } from '../../../src/checkpoint/checkpoint-writer.js';
import type { LearningState } from '../../../src/checkpoint/learning-state.js';
import type { TaskState } from '../../../src/checkpoint/task-state.js';
import { TangentMetrics } from '../../../src/metrics/metrics.js';

/** Only what the writer reads of a state: its position's batch count (the store keeps the rest as it is). */
const snapshot = (batches: number, tasks: { task: string; partition: number }[] = []): Snapshot => ({
  state: { position: { batches, offsets: [] } } as unknown as LearningState,
  tasks: tasks.map(({ task, partition }) => ({ task, source: { topic: 'in', partition, offset: String(batches) } }) as unknown as TaskState),
});

const checkpointFiles = (dir: string): string[] => readdirSync(dir).filter((name) => name.startsWith('checkpoint-'));

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('CheckpointWriter', () => {
  it("writes one checkpoint after the other: the file, then the owned tasks' states, before the next begins", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tangent-writer-'));
    const metrics = new TangentMetrics({ lag: () => [] });
    const firstPublish = deferred();
    const published: string[][] = [];
    const writer = new CheckpointWriter({
      store: new CheckpointStore<LearningState>(dir, 5),
      storedBatches: 3,
      capture: () => snapshot(0),
      changelog: {
        owns: (_topic, partition) => partition !== 2,
        publish: async (tasks) => {
          published.push(tasks.map((t) => t.task));
          if (published.length === 1) await firstPublish.promise;
          return 100 * tasks.length;
        },
      },
      metrics,
    });
    expect(writer.storedBatches).toBe(3);
    const first = writer.store(snapshot(5, [{ task: 'a', partition: 0 }, { task: 'moved', partition: 2 }]));
    const second = writer.store(snapshot(7, [{ task: 'a', partition: 0 }, { task: 'b', partition: 1 }]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The first file is written and its changelog send is under way; the second waits for it.
    expect(checkpointFiles(dir)).toHaveLength(1);
    expect(published).toEqual([['a']]);
    expect(writer.storedBatches).toBe(5);
    firstPublish.resolve();
    await Promise.all([first, second]);
    expect(checkpointFiles(dir)).toHaveLength(2);
    expect(published).toEqual([['a'], ['a', 'b']]);
    expect(writer.storedBatches).toBe(7);
    expect((await metrics.checkpoints.get()).values[0]?.value).toBe(2);
    expect((await metrics.stateTasksPublished.get()).values[0]?.value).toBe(3);
    expect((await metrics.stateBytesPublished.get()).values[0]?.value).toBe(300);
  });

  it('a failed write fails its own caller, not the writes after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tangent-writer-'));
    let calls = 0;
    const writer = new CheckpointWriter({
      store: new CheckpointStore<LearningState>(dir, 5),
      storedBatches: 0,
      capture: () => snapshot(0),
      changelog: {
        owns: () => true,
        publish: async () => {
          calls += 1;
          if (calls === 1) throw new Error('broker gone');
          return 0;
        },
      },
      metrics: new TangentMetrics({ lag: () => [] }),
    });
    const failed = writer.store(snapshot(1, [{ task: 'a', partition: 0 }]));
    const next = writer.store(snapshot(2, [{ task: 'a', partition: 0 }]));
    await expect(failed).rejects.toThrow('broker gone');
    await expect(next).resolves.toBeUndefined();
    expect(writer.storedBatches).toBe(2);
  });

  it('without a changelog, stores the file alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tangent-writer-'));
    const writer = new CheckpointWriter({ store: new CheckpointStore<LearningState>(dir, 5), storedBatches: 0, capture: () => snapshot(4), metrics: new TangentMetrics({ lag: () => [] }) });
    await writer.store(writer.capture());
    expect(checkpointFiles(dir)).toHaveLength(1);
    expect(writer.storedBatches).toBe(4);
  });
});
