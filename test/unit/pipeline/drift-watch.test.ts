import { describe, expect, it } from 'vitest';
import { DriftWatch, type DriftEvent } from '../../../src/pipeline/drift-watch.js';
import type { LearnedBatch } from '../../../src/pipeline/records.js';
import { SeededRandom } from '../../../src/math/seeded-random.js';
import { sourceRecord } from './helpers.js';

/** A learned batch whose network error on every record is |error|, for one task. */
function batchWithErrors(errors: readonly number[], task = 'a'): LearnedBatch {
  const accepted = errors.map((_, i) => ({
    ok: true as const,
    labeled: true as const,
    source: sourceRecord('{}', { offset: String(i) }),
    example: { task, x: new Float32Array(1), y: 0, ts: 0 },
  }));
  return {
    sequence: 0,
    accepted,
    unlabeled: [],
    rejected: [],
    nextOffsets: new Map(),
    formedAt: 0,
    scores: [
      { model: 'nn', predictions: Float32Array.from(errors) },
      { model: 'ntkgp', predictions: new Float32Array(errors.length) },
    ],
    scoreSeconds: 0,
    modelVersion: 0,
    learned: [],
  };
}

function errorStream(seed: number, length: number, shiftAt: number): number[] {
  const random = SeededRandom.fromSeed(seed);
  return Array.from({ length }, (_, i) => Math.abs(random.normal()) + (i >= shiftAt ? 3 : 0));
}

describe('DriftWatch', () => {
  it('reports a jump in a model\'s error stream once per detector, with the record that completed it', () => {
    const events: DriftEvent[] = [];
    const watch = new DriftWatch([{ kind: 'adwin' }, { kind: 'page-hinkley' }], ['nn', 'ntkgp'], (e) => events.push(...e));
    const errors = errorStream(1, 3000, 2000);
    for (let start = 0; start < errors.length; start += 100) watch.observe(batchWithErrors(errors.slice(start, start + 100)));
    const nn = events.filter((e) => e.model === 'nn');
    expect(new Set(nn.map((e) => e.detector))).toEqual(new Set(['adwin', 'page-hinkley']));
    for (const detector of ['adwin', 'page-hinkley']) {
      const first = nn.find((e) => e.detector === detector)!;
      expect(first.recordsSeen).toBeGreaterThan(2000);
      expect(first.recordsSeen).toBeLessThan(2200);
    }
    expect(events.filter((e) => e.model === 'ntkgp')).toEqual([]);
  });

  it('watches only the configured models', () => {
    const events: DriftEvent[] = [];
    const watch = new DriftWatch([{ kind: 'page-hinkley' }], ['ntkgp'], (e) => events.push(...e));
    watch.observe(batchWithErrors(errorStream(2, 3000, 1000)));
    expect(events).toEqual([]);
  });

  it('continues identically after a serialise/restore round trip', () => {
    const run = (restoreAt: number | undefined): DriftEvent[] => {
      const events: DriftEvent[] = [];
      const configs = [{ kind: 'adwin' as const }, { kind: 'kswin' as const, seed: 5 }];
      let watch = new DriftWatch(configs, ['nn'], (e) => events.push(...e));
      const errors = errorStream(3, 4000, 2500);
      for (let start = 0; start < errors.length; start += 200) {
        if (start === restoreAt) watch = new DriftWatch(configs, ['nn'], (e) => events.push(...e), JSON.parse(JSON.stringify(watch.toJSON())));
        watch.observe(batchWithErrors(errors.slice(start, start + 200)));
      }
      return events.map((e) => ({ ...e, detectedAt: '' }));
    };
    const uninterrupted = run(undefined);
    expect(uninterrupted.length).toBeGreaterThan(0);
    expect(run(2000)).toEqual(uninterrupted);
  });
});
