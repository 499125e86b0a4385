import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { SeededRandom } from '../../../src/math/seeded-random.js';

function draws(random: SeededRandom, count: number): number[] {
  return Array.from({ length: count }, () => random.nextUint32());
}

describe('SeededRandom (mulberry32)', () => {
  it('repeats its sequence for the same seed and differs across seeds', () => {
    expect(draws(SeededRandom.fromSeed(42), 100)).toEqual(draws(SeededRandom.fromSeed(42), 100));
    expect(draws(SeededRandom.fromSeed(42), 100)).not.toEqual(draws(SeededRandom.fromSeed(43), 100));
  });

  it('matches the reference mulberry32 for seed 1', () => {
    // Reference: the published 5-line C/JS mulberry32, first three outputs × 2^-32.
    const random = SeededRandom.fromSeed(1);
    expect([random.nextFloat(), random.nextFloat(), random.nextFloat()]).toEqual([
      0.6270739405881613, 0.002735721180215478, 0.5274470399599522,
    ]);
  });

  it('continues the same sequence from a saved state', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.nat(50), (seed, skip) => {
        const original = SeededRandom.fromSeed(seed);
        draws(original, skip);
        const resumed = SeededRandom.fromState(original.state);
        expect(draws(resumed, 20)).toEqual(draws(original, 20));
      }),
    );
  });

  it('draws integers below the bound, covering every value about equally', () => {
    const random = SeededRandom.fromSeed(7);
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 70_000; i += 1) counts[random.integerBelow(7)] += 1;
    // Each cell ~ Binomial(70000, 1/7): sd ≈ 93, so ±500 is over 5 sd.
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it('samples distinct indices in range, each index equally likely', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.integer({ min: 1, max: 80 }), fc.nat(80), (seed, size, k) => {
        const count = Math.min(k, size);
        const sample = SeededRandom.fromSeed(seed).sampleIndices(size, count);
        expect(sample).toHaveLength(count);
        expect(new Set(sample).size).toBe(count);
        for (const index of sample) expect(index >= 0 && index < size).toBe(true);
      }),
    );
    const random = SeededRandom.fromSeed(9);
    const hits = new Array<number>(70).fill(0);
    for (let i = 0; i < 7000; i += 1) for (const index of random.sampleIndices(70, 30)) hits[index] += 1;
    // Each index is in a sample with probability 30/70: expected 3000, sd ≈ 41.
    for (const hit of hits) expect(Math.abs(hit - 3000)).toBeLessThan(250);
  });

  it('rejects malformed seeds, states and requests', () => {
    expect(() => SeededRandom.fromSeed(1.5)).toThrow(RangeError);
    expect(() => SeededRandom.fromState(-1)).toThrow(RangeError);
    expect(() => SeededRandom.fromState(2 ** 32)).toThrow(RangeError);
    expect(() => SeededRandom.fromSeed(1).integerBelow(0)).toThrow(RangeError);
    expect(() => SeededRandom.fromSeed(1).sampleIndices(5, 6)).toThrow(RangeError);
  });
});
