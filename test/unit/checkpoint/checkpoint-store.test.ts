import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../../src/checkpoint/checkpoint-store.js';
import { validateLearningState } from '../../../src/checkpoint/learning-state.js';
import { ModelError } from '../../../src/errors.js';

const fresh = (): string => mkdtempSync(join(tmpdir(), 'tangent-store-'));

describe('CheckpointStore', () => {
  it('reads back the newest checkpoint and keeps only the last K', async () => {
    const dir = fresh();
    const store = new CheckpointStore<{ n: number }>(dir, 2);
    for (let n = 1; n <= 4; n++) await store.write({ n });
    expect(store.loadLatest()?.state).toEqual({ n: 4 });
    expect(readdirSync(dir).sort()).toEqual(['checkpoint-000000000003.json', 'checkpoint-000000000004.json', 'store-id']);
  });

  it('falls back to the previous checkpoint when the newest is torn or corrupt, and says so', async () => {
    const dir = fresh();
    const skipped: string[] = [];
    const store = new CheckpointStore<{ n: number }>(dir, 3, (file, reason) => skipped.push(`${file}: ${reason}`));
    await store.write({ n: 1 });
    await store.write({ n: 2 });
    const third = await store.write({ n: 3 });
    const text = readFileSync(third.file, 'utf8');
    writeFileSync(third.file, text.slice(0, text.length / 2));
    expect(store.loadLatest()?.state).toEqual({ n: 2 });
    const second = join(dir, 'checkpoint-000000000002.json');
    writeFileSync(second, readFileSync(second, 'utf8').replace('\\"n\\":2', '\\"n\\":7'));
    expect(store.loadLatest()?.state).toEqual({ n: 1 });
    expect(skipped).toHaveLength(3);
    expect(skipped.some((s) => s.includes('checksum mismatch'))).toBe(true);
  });

  it('continues numbering after the newest file, even a corrupt one', async () => {
    const dir = fresh();
    const store = new CheckpointStore<{ n: number }>(dir, 5);
    await store.write({ n: 1 });
    writeFileSync(join(dir, 'checkpoint-000000000002.json'), 'garbage');
    expect((await store.write({ n: 3 })).sequence).toBe(3);
    expect(store.loadLatest()?.state).toEqual({ n: 3 });
  });

  it('leaves no temporary files behind', async () => {
    const dir = fresh();
    const store = new CheckpointStore<{ n: number }>(dir, 5);
    await store.write({ n: 1 });
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('refuses a checkpoint made for another architecture instead of skipping it', async () => {
    const dir = fresh();
    const spec = { inputDim: 3, hidden: [8], headHidden: [], activation: 'relu' as const, sigmaW2: 2, sigmaB2: 0.1 };
    const store = new CheckpointStore<unknown>(dir, 3);
    await store.write({ spec, position: { offsets: [] }, network: {}, featureMoments: {} });
    expect(() => store.loadLatest(validateLearningState({ ...spec, hidden: [16] }))).toThrow(ModelError);
    expect(() => store.loadLatest(validateLearningState({ ...spec, hidden: [16] }))).toThrow(/hidden|16/);
  });
});
