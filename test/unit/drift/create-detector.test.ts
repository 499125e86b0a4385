import { describe, expect, it } from 'vitest';

import { Adwin, ADWIN_DEFAULTS } from '../../../src/drift/adwin.js';
import { createDetector, restoreDetector } from '../../../src/drift/create-detector.js';
import { DetectorStateError } from '../../../src/drift/detector-errors.js';
import type { DetectorConfig } from '../../../src/drift/create-detector.js';
import { Kswin, KSWIN_DEFAULTS } from '../../../src/drift/kswin.js';
import { PAGE_HINKLEY_DEFAULTS, PageHinkley } from '../../../src/drift/page-hinkley.js';
import { ConfigError } from '../../../src/errors.js';
import { riverVectors } from './river-vectors.js';

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

describe('defaults', () => {
  it.each([
    ['adwin', ADWIN_DEFAULTS],
    ['page-hinkley', PAGE_HINKLEY_DEFAULTS],
  ] as const)('%s: every parameter defaults to River’s value', (kind, ours) => {
    const river = riverVectors.riverDefaults[kind];
    expect(Object.fromEntries(Object.entries(ours).map(([name, value]) => [snakeCase(name), value]))).toEqual(river);
  });

  it('kswin: River’s defaults, except a fixed seed where River has none (unseeded)', () => {
    const { seed, window, ...river } = riverVectors.riverDefaults.kswin;
    expect(seed).toBeNull();
    expect(window).toBeNull();
    const { seed: ourSeed, ...ours } = KSWIN_DEFAULTS;
    expect(Number.isInteger(ourSeed)).toBe(true);
    expect(Object.fromEntries(Object.entries(ours).map(([name, value]) => [snakeCase(name), value]))).toEqual(river);
  });

  it('fills omitted parameters with the defaults', () => {
    expect((createDetector({ kind: 'adwin' }) as Adwin).params).toEqual(ADWIN_DEFAULTS);
    expect((createDetector({ kind: 'page-hinkley', threshold: 10 }) as PageHinkley).params).toEqual({
      ...PAGE_HINKLEY_DEFAULTS,
      threshold: 10,
    });
    expect((createDetector({ kind: 'kswin', seed: 9 }) as Kswin).params).toEqual({ ...KSWIN_DEFAULTS, seed: 9 });
  });
});

describe('createDetector', () => {
  it('builds the class of the kind', () => {
    expect(createDetector({ kind: 'adwin' })).toBeInstanceOf(Adwin);
    expect(createDetector({ kind: 'page-hinkley' })).toBeInstanceOf(PageHinkley);
    expect(createDetector({ kind: 'kswin' })).toBeInstanceOf(Kswin);
  });

  it.each<[string, DetectorConfig]>([
    ['adwin.delta', { kind: 'adwin', delta: 0 }],
    ['adwin.delta', { kind: 'adwin', delta: 1 }],
    ['adwin.clock', { kind: 'adwin', clock: 0 }],
    ['adwin.maxBuckets', { kind: 'adwin', maxBuckets: 2.5 }],
    ['adwin.minWindowLength', { kind: 'adwin', minWindowLength: 0 }],
    ['adwin.gracePeriod', { kind: 'adwin', gracePeriod: -1 }],
    ['page-hinkley.minInstances', { kind: 'page-hinkley', minInstances: 0 }],
    ['page-hinkley.delta', { kind: 'page-hinkley', delta: -0.1 }],
    ['page-hinkley.threshold', { kind: 'page-hinkley', threshold: 0 }],
    ['page-hinkley.alpha', { kind: 'page-hinkley', alpha: 1.5 }],
    ['page-hinkley.alpha', { kind: 'page-hinkley', alpha: Number.NaN }],
    ['kswin.alpha', { kind: 'kswin', alpha: 0 }],
    ['kswin.statSize', { kind: 'kswin', windowSize: 50, statSize: 30 }],
    ['kswin.windowSize', { kind: 'kswin', windowSize: 1 }],
    ['kswin.seed', { kind: 'kswin', seed: 0.5 }],
  ])('rejects a bad %s with a non-retriable ConfigError', (field, config) => {
    let thrown: unknown;
    try {
      createDetector(config);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).field).toBe(field);
    expect((thrown as ConfigError).retriable).toBe(false);
  });

  it('rejects an unknown mode and an unknown kind', () => {
    expect(() => createDetector({ kind: 'page-hinkley', mode: 'sideways' } as unknown as DetectorConfig)).toThrow(ConfigError);
    expect(() => createDetector({ kind: 'ddm' } as unknown as DetectorConfig)).toThrow(ConfigError);
  });
});

describe('restoreDetector', () => {
  const saved = () => {
    const detector = createDetector({ kind: 'adwin' });
    for (let i = 0; i < 100; i += 1) detector.update(i % 3);
    return detector.toJSON() as unknown as Record<string, unknown>;
  };

  it('rejects what is not a saved detector', () => {
    expect(() => restoreDetector(null)).toThrow(DetectorStateError);
    expect(() => restoreDetector('adwin')).toThrow(DetectorStateError);
    expect(() => restoreDetector({ kind: 'ddm' })).toThrow(DetectorStateError);
  });

  it('rejects another version, a missing field or a malformed bucket row', () => {
    expect(() => restoreDetector({ ...saved(), version: 2 })).toThrow(DetectorStateError);
    const { width: _width, ...withoutWidth } = saved();
    expect(() => restoreDetector(withoutWidth)).toThrow(DetectorStateError);
    expect(() => restoreDetector({ ...saved(), rows: [{ totals: [1, 2], variances: [0] }] })).toThrow(DetectorStateError);
    expect(() => restoreDetector({ ...saved(), rows: [] })).toThrow(DetectorStateError);
    expect(() => restoreDetector({ ...saved(), total: 'NaN' })).toThrow(DetectorStateError);
  });

  it('rejects invalid parameters inside a saved state as a ConfigError', () => {
    expect(() => restoreDetector({ ...saved(), params: { ...ADWIN_DEFAULTS, delta: 2 } })).toThrow(ConfigError);
  });

  it('rejects a KSWIN window longer than its window size or a PRNG state beyond 32 bits', () => {
    const kswin = createDetector({ kind: 'kswin', windowSize: 10, statSize: 3 });
    const state = kswin.toJSON() as unknown as Record<string, unknown>;
    expect(() => restoreDetector({ ...state, window: Array.from({ length: 11 }, () => 0) })).toThrow(DetectorStateError);
    expect(() => restoreDetector({ ...state, rngState: 2 ** 32 })).toThrow(DetectorStateError);
  });

  it('keeps Page-Hinkley’s +Infinity running minimum through JSON as null', () => {
    const fresh = createDetector({ kind: 'page-hinkley' });
    expect(fresh.toJSON()).toMatchObject({ minIncrease: null });
    const restored = restoreDetector(JSON.parse(JSON.stringify(fresh.toJSON())));
    restored.update(1);
    fresh.update(1);
    expect(restored.toJSON()).toEqual(fresh.toJSON());
    expect(restored.toJSON()).toMatchObject({ minIncrease: -PAGE_HINKLEY_DEFAULTS.delta });
  });
});
