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

/** Averaging and distance as first written, decoding every trunk afresh: what the sync must still compute, bit for bit. */
function referenceAverage(trunks: readonly (readonly LayerState[])[]): LayerState[] {
  return trunks[0]!.map((_, layer) => {
    const mean = (field: 'weight' | 'bias'): string => {
      const arrays = trunks.map((t) => decodeFloat32(t[layer]![field]));
      const sum = new Float64Array(arrays[0]!.length);
      for (const array of arrays) for (let i = 0; i < sum.length; i++) sum[i]! += array[i]!;
      return encodeFloat32(Float32Array.from(sum, (v) => v / arrays.length));
    };
    return { weight: mean('weight'), bias: mean('bias') };
  });
}

function referenceDistance(a: readonly LayerState[], b: readonly LayerState[]): number {
  let squared = 0;
  a.forEach((layer, i) => {
    for (const field of ['weight', 'bias'] as const) {
      const x = decodeFloat32(layer[field]);
      const y = decodeFloat32(b[i]![field]);
      for (let k = 0; k < x.length; k++) squared += (x[k]! - y[k]!) ** 2;
    }
  });
  return Math.sqrt(squared);
}

describe('a sync', () => {
  const wide: ArchitectureSpec = { ...spec, hidden: [3, 5] };
  let seed = 7;
  const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31 - 0.5) * 10 ** ((seed % 7) - 3);
  const randomTrunk = (): LayerState[] =>
    [
      [6, 3],
      [15, 5],
    ].map(([w, b]) => ({ weight: encodeFloat32(Float32Array.from({ length: w! }, random)), bias: encodeFloat32(Float32Array.from({ length: b! }, random)) }));

  it("asks for its peers' publications only, and for none when it is alone", () => {
    const asked: string[][] = [];
    let peers = new Set(['a']);
    const sync = new TrunkSync(wide, 1, 500, {
      self: () => 'a',
      peers: () => peers,
      published: (members) => (asked.push([...members].sort()), []),
      trunk: randomTrunk,
      loadTrunk: () => {},
      featureMoments: () => moments(1),
      publish: () => {},
      now: () => 0,
    });
    sync.sync();
    peers = new Set(['c', 'a', 'b']);
    sync.sync();
    expect(asked).toEqual([['b', 'c']]);
  });

  it('merges and measures its movement to the very bits of decoding every trunk afresh', () => {
    let trunk = randomTrunk();
    let peers = new Set(['a']);
    let records: TrunkRecord[] = [];
    const sync = new TrunkSync(wide, 1, 500, {
      self: () => 'a',
      peers: () => peers,
      published: () => records,
      trunk: () => trunk,
      loadTrunk: (t) => (trunk = t),
      featureMoments: () => moments(1),
      publish: () => {},
      now: () => 1000,
    });
    let previous: LayerState[] | undefined;
    let movement = 0;
    for (let round = 0; round < 6; round++) {
      trunk = round === 0 ? trunk : randomTrunk();
      if (previous) movement = Math.max(movement, referenceDistance(previous, trunk));
      peers = round % 3 === 1 ? new Set(['a']) : new Set(['a', 'b', 'c']);
      records = [record('c', randomTrunk(), 900), record('b', randomTrunk(), 950), record('a', randomTrunk(), 990)];
      const expected = peers.size > 1 ? referenceAverage([trunk, records[1]!.trunk, records[0]!.trunk]) : trunk;
      sync.sync();
      expect(trunk).toEqual(expected);
      expect(sync.maxPeriodMovement).toBe(movement);
      previous = trunk;
    }
    expect(movement).toBeGreaterThan(0);
    expect(sync.merges).toBe(4);
    const trunks = [randomTrunk(), randomTrunk(), randomTrunk()];
    expect(averageTrunks(trunks)).toEqual(referenceAverage(trunks));
    expect(trunkDistance(trunks[0]!, trunks[1]!)).toBe(referenceDistance(trunks[0]!, trunks[1]!));
  });
});
