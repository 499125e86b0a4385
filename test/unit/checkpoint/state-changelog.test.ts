import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeChangelogValue, encodeChangelogValue, type ChangelogEntry } from '../../../src/checkpoint/state-changelog.js';

function compacted(...writes: Awaited<ReturnType<typeof encodeChangelogValue>>[]): (key: string) => ChangelogEntry | undefined {
  const latest = new Map<string, ChangelogEntry>();
  for (const messages of writes) for (const m of messages) latest.set(m.key, { value: m.value, headers: m.headers });
  return (key) => latest.get(key);
}

describe('state changelog records', () => {
  it('round-trips a small value in one gzipped record', async () => {
    const value = { task: 'a', weights: [1, 2, 3] };
    const messages = await encodeChangelogValue('a', value, 1_048_588);
    expect(messages).toHaveLength(1);
    expect(decodeChangelogValue('a', compacted(messages))).toEqual(value);
  });

  it('splits a value over the record limit into chunks, each under it, and reassembles it', async () => {
    // Random bytes do not compress: about 400 kB of base64 against a 64 kB limit.
    const value = { task: 'big', blob: randomBytes(300_000).toString('base64') };
    const limit = 64 * 1024;
    const messages = await encodeChangelogValue('big', value, limit);
    expect(messages.length).toBeGreaterThan(5);
    for (const m of messages) expect(m.value.length + Buffer.byteLength(m.key)).toBeLessThan(limit);
    expect(messages[messages.length - 1]!.key).toBe('big');
    expect(decodeChangelogValue('big', compacted(messages))).toEqual(value);
  });

  it('never mixes in chunks of an older, larger version', async () => {
    const limit = 64 * 1024;
    const older = await encodeChangelogValue('t', { blob: randomBytes(300_000).toString('base64') }, limit);
    const newer = { blob: randomBytes(100_000).toString('base64') };
    const messages = await encodeChangelogValue('t', newer, limit);
    expect(messages.length).toBeLessThan(older.length);
    expect(decodeChangelogValue('t', compacted(older, messages))).toEqual(newer);
  });

  it('refuses a value whose chunk is missing or corrupt', async () => {
    const limit = 64 * 1024;
    const messages = await encodeChangelogValue('t', { blob: randomBytes(200_000).toString('base64') }, limit);
    const missing = messages.filter((_, i) => i !== 1);
    expect(() => decodeChangelogValue('t', compacted(missing))).toThrow(/missing/);
    const corrupt = messages.map((m, i) => (i === 0 ? { ...m, value: Buffer.concat([m.value.subarray(1), Buffer.from([0])]) } : m));
    expect(() => decodeChangelogValue('t', compacted(corrupt))).toThrow(/SHA-256/);
  });

  it("compresses to the very bytes of node's default gzip, whatever the value's size, so records written before still decode alike", async () => {
    // A trunk record's size (~40 kB of JSON), one past the output buffer's cap, and one of a few bytes.
    for (const bytes of [30_000, 1_500_000, 10]) {
      const value = { blob: randomBytes(bytes).toString('base64'), moments: Array.from({ length: 640 }, () => Math.random()) };
      const messages = await encodeChangelogValue('t', value, 64 * 1024 * 1024);
      expect(messages).toHaveLength(1);
      expect(messages[0]!.value.equals(gzipSync(JSON.stringify(value)))).toBe(true);
      expect(decodeChangelogValue('t', compacted(messages))).toEqual(value);
    }
  });

  it('knows nothing of a key never written', () => {
    expect(decodeChangelogValue('none', compacted())).toBeUndefined();
  });
});
