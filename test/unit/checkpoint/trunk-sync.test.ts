import { describe, expect, it } from 'vitest';
import { averageTrunks, newestMergedTrunk, TrunkSync, trunkDistance, type TrunkRecord } from '../../../src/checkpoint/trunk-sync.js';
import { decodeFloat32, encodeFloat32 } from '../../../src/math/float-codec.js';
import type { ArchitectureSpec } from '../../../src/spec/architecture-spec.js';
import type { LayerState } from '../../../src/model/trunk-heads-network.js';

const spec: ArchitectureSpec = { inputDim: 2, hidden: [2], headHidden: [], activation: 'relu', sigmaW2: 2, sigmaB2: 0.1 };
const layer = (w: number[], b: number[]): LayerState[] => [{ weight: encodeFloat32(Float32Array.from(w)), bias: encodeFloat32(Float32Array.from(b)) }];
const moments = (count: number) => ({ count, mean: [0, 0], m2: [0, 0] });
const record = (member: string, trunk: LayerState[], publishedAt: number, count = 1): TrunkRecord => ({
  format: 'tangent.trunk/1',
  spec,
  member,
  round: 1,
  publishedAt,
  trunk,
  featureMoments: moments(count),
});

describe('trunk averaging', () => {
  it('is the element-wise mean', () => {
    const mean = averageTrunks([layer([1, 2, 3, 4], [0, 2]), layer([3, 2, 1, 0], [2, 0])]);
    expect(Array.from(decodeFloat32(mean[0]!.weight))).toEqual([2, 2, 2, 2]);
    expect(Array.from(decodeFloat32(mean[0]!.bias))).toEqual([1, 1]);
    expect(trunkDistance(layer([0, 0, 0, 0], [0, 0]), layer([3, 4, 0, 0], [0, 0]))).toBe(5);
  });

  it('merges only current members no older than the bound, and leaves a lone member alone', () => {
    let trunk = layer([0, 0, 0, 0], [0, 0]);
    const published: TrunkRecord[] = [record('b', layer([4, 4, 4, 4], [4, 4]), 1000), record('gone', layer([100, 100, 100, 100], [0, 0]), 1000), record('c', layer([8, 8, 8, 8], [8, 8]), 0)];
    let peers = new Set(['a']);
    const sync = new TrunkSync(spec, 2, 500, {
      self: () => 'a',
      peers: () => peers,
      published: () => published,
      trunk: () => trunk,
      loadTrunk: (t) => (trunk = t),
      featureMoments: () => moments(1),
      publish: (r) => published.push(r),
      now: () => 1200,
    });
    sync.observe();
    expect(published).toHaveLength(3);
    sync.observe();
    expect(published.at(-1)!.member).toBe('a');
    expect(sync.merges).toBe(0);
    peers = new Set(['a', 'b', 'c']);
    expect(sync.sync()).toBe(1); // c is too old, "gone" is no member
    expect(Array.from(decodeFloat32(trunk[0]!.weight))).toEqual([2, 2, 2, 2]);
  });

  it('a joining member starts from the mean of the newest generation, with the widest feature moments', () => {
    const merged = newestMergedTrunk([record('x', layer([2, 2, 2, 2], [0, 0]), 10_000, 50), record('y', layer([4, 4, 4, 4], [0, 0]), 9_500, 70), record('old', layer([99, 99, 99, 99], [0, 0]), 1_000)], 1000)!;
    expect(Array.from(decodeFloat32(merged.trunk[0]!.weight))).toEqual([3, 3, 3, 3]);
    expect(merged.featureMoments.count).toBe(70);
    expect(newestMergedTrunk([], 1000)).toBeUndefined();
  });

  it('before a handover publishes the trunk as it is, merging nothing, so the next owner of its partitions starts from it', () => {
    const trunk = layer([5, 6, 7, 8], [1, 2]);
    const published: TrunkRecord[] = [record('b', layer([0, 0, 0, 0], [0, 0]), 1000)];
    let loaded = 0;
    const sync = new TrunkSync(spec, 20, 500, {
      self: () => 'a',
      peers: () => new Set(['a', 'b']),
      published: () => published,
      trunk: () => trunk,
      loadTrunk: () => (loaded += 1),
      featureMoments: () => moments(1),
      publish: (r) => published.push(r),
      now: () => 1200,
    });
    expect(sync.publishCurrent()).toBe(true);
    expect(published.at(-1)!.member).toBe('a');
    expect(published.at(-1)!.trunk).toEqual(trunk);
    expect(loaded).toBe(0);
    expect(sync.merges).toBe(0);
    const joined = newestMergedTrunk([published.at(-1)!], 500)!;
    expect(joined.trunk).toEqual(trunk);
  });
});
