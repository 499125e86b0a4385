import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/math/seeded-random.js';
import { bandWindow, TargetBands } from '../../../src/model/outlier-clipping.js';
import { RobustBand, robustCenterAndScale } from '../../../src/model/robust-band.js';
import { RunningMoments } from '../../../src/model/running-moments.js';

const policy = { sigmas: 6, warmup: 8 };

function seededRandom(seed: number): () => number {
  const random = SeededRandom.fromSeed(seed);
  return () => random.nextFloat();
}

/** Roughly normal values (sum of 12 uniforms − 6) with mean `mean` and sd `sd`. */
function normals(count: number, mean: number, sd: number, seed: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => mean + sd * (Array.from({ length: 12 }, random).reduce((a, b) => a + b, 0) - 6));
}

/** The band's centre and scale the plain way — two sorts — as the reference for the incremental window. */
function sortedTwice(values: number[], fallbackScale: number): { center: number; scale: number } {
  const quantile = (sorted: Float64Array, q: number): number => {
    const position = q * (sorted.length - 1);
    const below = Math.floor(position);
    const above = Math.min(below + 1, sorted.length - 1);
    return sorted[below]! + (position - below) * (sorted[above]! - sorted[below]!);
  };
  const sorted = Float64Array.from(values).sort();
  const center = quantile(sorted, 0.5);
  const spread90 = quantile(sorted, 0.95) - quantile(sorted, 0.05);
  const mad = quantile(sorted.map((v) => Math.abs(v - center)).sort(), 0.5);
  if (mad > 0) return { center, scale: 1.4826 * mad };
  if (spread90 > 0) return { center, scale: Math.max(spread90 / 3.2897, fallbackScale) };
  return { center, scale: Math.max(fallbackScale, Math.abs(center), 1) };
}

describe('robust band (median ± k·MAD of the last values)', () => {
  it('keeps its window sorted as values come and go: each refresh equals sorting the window afresh, ties, zeros of both signs and restores included', () => {
    const random = seededRandom(11);
    const window = 16;
    let band = new RobustBand(2, window);
    const history: number[][] = [];
    for (let step = 0; step < 400; step++) {
      // Few distinct values (many ties, ±0) on the first coordinate, continuous ones on the second.
      const tied = [0, -0, 1, -1, 2][Math.floor(random() * 5)]!;
      const values = [tied, (random() - 0.5) * 10 ** Math.floor(random() * 6)];
      band.push(values);
      history.push(values);
      if (step % 97 === 50) band = RobustBand.fromJSON(JSON.parse(JSON.stringify(band.toJSON())), window);
      band.refresh(3, 4, () => 0.5);
      const last = history.slice(-window);
      if (last.length < 4) continue;
      for (let i = 0; i < 2; i++) {
        const { center, scale } = sortedTwice(last.map((v) => v[i]!), 0.5);
        expect(band.low[i], `step ${step}, coordinate ${i}`).toBe(center - 3 * scale);
        expect(band.high[i], `step ${step}, coordinate ${i}`).toBe(center + 3 * scale);
      }
    }
  });

  it('gives the centre and scale of sorting afresh, bit for bit, for every window size and shape of data', () => {
    const random = seededRandom(5);
    const shapes: Record<string, () => number> = {
      continuous: () => (random() - 0.5) * 100,
      skewed: () => Math.exp(6 * random()),
      // Ties on both sides of the median and at it, where the deviations below and above are equal.
      ties: () => [-2, -1, 0, 0, 1, 2, 3][Math.floor(random() * 7)]!,
      'mostly one value': () => (random() < 0.8 ? 5 : 5 + Math.floor(random() * 3)),
    };
    for (const [shape, draw] of Object.entries(shapes)) {
      for (const size of [1, 2, 3, 4, 5, 8, 9, 16, 33, 64, 65]) {
        for (let trial = 0; trial < 20; trial++) {
          const values = Array.from({ length: size }, draw);
          const band = new RobustBand(1, size);
          for (const v of values) band.push([v]);
          band.refresh(1, 1, () => 0.5);
          const { center, scale } = sortedTwice(values, 0.5);
          const context = `${shape}, ${size} values: ${values.join(', ')}`;
          expect(band.low[0], context).toBe(center - scale);
          expect(band.high[0], context).toBe(center + scale);
          expect(robustCenterAndScale(Float64Array.from(values), 0.5), context).toEqual({ center, scale });
        }
      }
    }
  });

  it('estimates a normal stream’s centre and standard deviation', () => {
    const { center, scale } = robustCenterAndScale(Float64Array.from(normals(4000, 10, 3, 1)), 1);
    expect(center).toBeCloseTo(10, 0);
    expect(scale).toBeGreaterThan(2.7);
    expect(scale).toBeLessThan(3.3);
  });

  it('is not moved by extreme values that are a minority of the window, however many arrive over time', () => {
    const targets = new TargetBands(policy);
    const values = normals(3000, 14, 5, 2);
    const random = seededRandom(3);
    let extremes = 0;
    let worstLearned = 0;
    values.forEach((y, i) => {
      // From the 20th value on, 30% of the values are ±1e30 or ±2e9.
      const extreme = i >= 20 && random() < 0.3;
      if (extreme) extremes += 1;
      const sent = extreme ? (random() < 0.5 ? -1 : 1) * (random() < 0.5 ? 1e30 : 2e9) : y;
      const { y: learned, clipped } = targets.clip('a', sent);
      if (extreme) expect(clipped).toBe(true);
      worstLearned = Math.max(worstLearned, Math.abs(learned));
    });
    expect(extremes).toBeGreaterThan(800);
    // The band stays where the normal values are (mean 14, sd 5: ±6 sd is −16…44), widened by the 30% share of outliers
    // (they shift the median and raise the MAD by about half) but never towards them.
    expect(worstLearned).toBeLessThan(120);
    const { band } = targets.toJSON().a!;
    expect(band.low[0]!).toBeGreaterThan(-100);
    expect(band.high[0]!).toBeLessThan(120);
  });

  it('follows a genuine level shift within half a window', () => {
    const targets = new TargetBands(policy);
    for (const y of normals(500, 0, 1, 4)) targets.clip('a', y);
    const shifted = normals(bandWindow, 100, 1, 5);
    const clippedAt = shifted.map((y) => targets.clip('a', y).clipped);
    expect(clippedAt.slice(0, 10).every(Boolean)).toBe(true);
    expect(clippedAt.slice(bandWindow / 2 + 2).some(Boolean)).toBe(false);
  });

  it('does not clip the rare values of a mostly-zero feature (the MAD is 0 there)', () => {
    const band = new RobustBand(1, bandWindow);
    const moments = new RunningMoments(1);
    const random = seededRandom(6);
    let clipped = 0;
    for (let i = 0; i < 5000; i++) {
      band.refresh(policy.sigmas, policy.warmup, () => moments.standardDeviation(0));
      const value = Float64Array.of(random() < 0.03 ? 1 : 0);
      const raw = Float64Array.from(value);
      const c = band.clip(value);
      clipped += c;
      band.push(raw);
      if (c === 0) moments.update(value);
    }
    expect(clipped).toBe(0);
  });

  it('saved and restored, clips the following values exactly as the band that went on', () => {
    const going = new RobustBand(2, bandWindow);
    const values = normals(300, 0, 1, 7);
    const step = (band: RobustBand, i: number): Float64Array => {
      band.refresh(policy.sigmas, policy.warmup, () => 1);
      const v = Float64Array.of(values[i]! * (i % 17 === 0 ? 1e6 : 1), values[(i * 7) % values.length]!);
      band.clip(v);
      band.push(Float64Array.of(values[i]!, values[(i * 7) % values.length]!));
      return v;
    };
    for (let i = 0; i < 150; i++) step(going, i);
    const restored = RobustBand.fromJSON(JSON.parse(JSON.stringify(going.toJSON())), bandWindow);
    for (let i = 150; i < 300; i++) expect(Array.from(step(restored, i))).toEqual(Array.from(step(going, i)));
    expect(restored.toJSON()).toEqual(going.toJSON());
  });
});
