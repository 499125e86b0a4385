import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../../src/checkpoint/checkpoint-store.js';

describe('checkpoint store after a kill -9', () => {
  it('removes the temp files of writers that died before their rename, keeps those of live ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tangent-stale-temp-'));
    const store = new CheckpointStore<{ n: number }>(dir, 3);
    await store.write({ n: 1 });
    // A pid that cannot be running (above the kernel's pid_max), and one that is (this process's parent).
    const dead = join(dir, 'checkpoint-000000000002.json.tmp-99999999');
    const live = join(dir, `checkpoint-000000000002.json.tmp-${process.ppid}`);
    writeFileSync(dead, '{"torn":');
    writeFileSync(live, '{"being written":');
    const reopened = new CheckpointStore<{ n: number }>(dir, 3);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(reopened.loadLatest()?.state).toEqual({ n: 1 });
  });
});
