import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeChangelogValue, type ChangelogEntry } from '../../../src/checkpoint/state-changelog.js';
import type { TrunkRecord } from '../../../src/checkpoint/trunk-sync.js';
import { readTrunkRecords, type ChangelogView, type DecodedTrunkRecords } from '../../../src/kafka/task-state-topic.js';
import { encodeFloat32 } from '../../../src/math/float-codec.js';
import type { ArchitectureSpec } from '../../../src/spec/architecture-spec.js';

const topic = 'group.trunk';
const spec: ArchitectureSpec = { inputDim: 2, hidden: [2], headHidden: [], activation: 'relu', sigmaW2: 2, sigmaB2: 0.1 };

const record = (member: string, round: number, hidden = spec.hidden, padding?: string): TrunkRecord & { padding?: string } => ({
  format: 'tangent.trunk/1',
  spec: { ...spec, hidden },
  member,
  round,
  publishedAt: 1000 * round,
  trunk: [{ weight: encodeFloat32(Float32Array.of(round, 1, 2, 3)), bias: encodeFloat32(Float32Array.of(0, round)) }],
  featureMoments: { count: round, mean: [0, 0], m2: [0, 0] },
  ...(padding ? { padding } : {}),
});

/** A compacted topic's newest entry per key, written as the trunk publications write it. */
class CompactedTopic implements ChangelogView {
  private readonly latest = new Map<string, ChangelogEntry>();
  async publish(value: TrunkRecord, maxRecordBytes = 1_048_588): Promise<void> {
    for (const m of await encodeChangelogValue(value.member, value, maxRecordBytes)) this.latest.set(m.key, { value: m.value, headers: m.headers });
  }
  corrupt(key: string): void {
    const entry = this.latest.get(key)!;
    this.latest.set(key, { value: Buffer.concat([entry.value, Buffer.of(0)]), headers: entry.headers });
  }
  get(_topic: string, key: string): ChangelogEntry | undefined {
    return this.latest.get(key);
  }
  keys(): string[] {
    return [...this.latest.keys()];
  }
}

const byMember = (records: readonly TrunkRecord[]): Map<string, TrunkRecord> => new Map(records.map((r) => [r.member, r]));

describe('reading the trunk topic', () => {
  it('decodes an unchanged publication once, and a new one as soon as it arrives', async () => {
    const view = new CompactedTopic();
    await view.publish(record('a', 1));
    await view.publish(record('b', 1));
    const decoded: DecodedTrunkRecords = new WeakMap();
    const unreadable: string[] = [];
    const read = (): Map<string, TrunkRecord> => byMember(readTrunkRecords(view, topic, spec, (member) => unreadable.push(member), decoded));

    const first = read();
    expect(first.get('a')).toEqual(record('a', 1));
    expect(first.get('b')).toEqual(record('b', 1));
    await view.publish(record('b', 2));
    const second = read();
    // The very objects of the first read: neither decompressed nor parsed again.
    expect(second.get('a')).toBe(first.get('a'));
    expect(second.get('b')).toEqual(record('b', 2));
    // Without the cache every read decodes afresh, to equal records.
    const fresh = byMember(readTrunkRecords(view, topic, spec, () => {}));
    expect(fresh.get('a')).toEqual(first.get('a'));
    expect(fresh.get('a')).not.toBe(first.get('a'));
    expect(unreadable).toEqual([]);
  });

  it('decodes a publication split into chunks at every read, and still leaves out what cannot be read or is of another architecture', async () => {
    const view = new CompactedTopic();
    // Random bytes do not compress: about 130 kB of base64 against a 64 kB limit.
    await view.publish(record('big', 1, spec.hidden, randomBytes(100_000).toString('base64')), 64 * 1024);
    await view.publish(record('other', 1, [4]));
    await view.publish(record('bad', 1));
    view.corrupt('bad');
    const decoded: DecodedTrunkRecords = new WeakMap();
    const unreadable: string[] = [];
    const read = (): TrunkRecord[] => readTrunkRecords(view, topic, spec, (member) => unreadable.push(member), decoded);

    const first = read();
    const second = read();
    expect(first.map((r) => r.member)).toEqual(['big']);
    expect(second.map((r) => r.member)).toEqual(['big']);
    expect(second[0]).toEqual(first[0]);
    // A chunked value depends on entries besides its own, which may change under it: never cached.
    expect(second[0]).not.toBe(first[0]);
    expect(unreadable).toEqual(['bad', 'bad']);
  });

  it('given the members wanted, neither decodes nor reports anyone else', async () => {
    const view = new CompactedTopic();
    for (const member of ['a', 'b', 'self', 'gone']) await view.publish(record(member, 1));
    view.corrupt('gone');
    const decoded: DecodedTrunkRecords = new WeakMap();
    const unreadable: string[] = [];
    const records = readTrunkRecords(view, topic, spec, (member) => unreadable.push(member), decoded, new Set(['a', 'b', 'absent']));
    expect(records.map((r) => r.member).sort()).toEqual(['a', 'b']);
    expect(decoded.has(view.get(topic, 'self')!)).toBe(false);
    expect(unreadable).toEqual([]);
    // Without the members, every record is read (a joining member's start needs them all).
    expect(readTrunkRecords(view, topic, spec, (member) => unreadable.push(member), decoded).map((r) => r.member).sort()).toEqual(['a', 'b', 'self']);
    expect(unreadable).toEqual(['gone']);
  });
});
