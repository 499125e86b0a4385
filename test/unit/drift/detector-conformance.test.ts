import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { createDetector, restoreDetector } from '../../../src/drift/create-detector.js';
import { DetectorInputError } from '../../../src/drift/detector-errors.js';
import type { DetectorConfig } from '../../../src/drift/create-detector.js';
import type { DetectorKind, DriftDetector } from '../../../src/drift/drift-detector.js';
import { SeededRandom } from '../../../src/math/seeded-random.js';
import { detectionIndices } from './detections.js';
import { streamNamed } from './river-vectors.js';

// The conformance suite every detector passes, River `checks`-style: each
// entry below is run through every property. A new detector kind must be
// added here; the exhaustiveness check makes the compiler insist.
const everyKind = { adwin: true, 'page-hinkley': true, kswin: true } satisfies Record<DetectorKind, true>;

const configs: readonly DetectorConfig[] = [
  { kind: 'adwin' },
  { kind: 'adwin', delta: 0.05, clock: 1, maxBuckets: 3, minWindowLength: 10, gracePeriod: 50 },
  { kind: 'page-hinkley' },
  { kind: 'page-hinkley', minInstances: 10, delta: 0.01, threshold: 20, alpha: 0.999, mode: 'up' },
  { kind: 'kswin' },
  { kind: 'kswin', alpha: 0.001, windowSize: 200, statSize: 50, seed: 7 },
];

const cases = configs.map((config) => [JSON.stringify(config), config] as const);

/** A stream with several drifts, so saved states include the just-detected case. */
const driftingStream = streamNamed('gaussian-mean-shifts').values;

function signals(detector: DriftDetector, values: readonly number[]): boolean[] {
  return values.map((value) => detector.update(value).drift);
}

/** Through the same text a checkpoint file would hold. */
function roundTrip(detector: DriftDetector): DriftDetector {
  return restoreDetector(JSON.parse(JSON.stringify(detector.toJSON())));
}

describe('every detector kind is covered', () => {
  it('has at least one conformance config per kind', () => {
    const covered = new Set(configs.map((config) => config.kind));
    expect([...covered].sort()).toEqual(Object.keys(everyKind).sort());
  });
});

describe.each(cases)('drift detector conformance: %s', (_label, config) => {
  it('is named after its kind and starts with no drift', () => {
    const detector = createDetector(config);
    expect(detector.name).toBe(config.kind);
    expect(detector.driftDetected).toBe(false);
    expect(detector.toJSON().kind).toBe(config.kind);
  });

  it('actually detects something on the drifting stream (the suite is not vacuous)', () => {
    expect(detectionIndices(createDetector(config), driftingStream).length).toBeGreaterThan(0);
  });

  it('restored mid-stream, continues with identical outputs and identical state', () => {
    const drifts = detectionIndices(createDetector(config), driftingStream);
    // Before any value, early, right after a detection (the pending-reset case), and late.
    const cuts = [0, 1, 37, drifts[0] + 1, drifts[0] + 2, 2500, driftingStream.length - 1];
    const reference = createDetector(config);
    const expected = signals(reference, driftingStream);
    for (const cut of cuts) {
      const original = createDetector(config);
      const head = signals(original, driftingStream.slice(0, cut));
      const restored = roundTrip(original);
      expect(restored.driftDetected).toBe(original.driftDetected);
      expect(restored.toJSON()).toEqual(original.toJSON());
      const tail = signals(restored, driftingStream.slice(cut));
      expect([...head, ...tail], `restored after ${cut} values`).toEqual(expected);
      expect(restored.toJSON()).toEqual(reference.toJSON());
    }
  });

  it('restores identically at any point of any stream (property)', () => {
    const stream = fc
      .array(
        fc.record({
          level: fc.double({ min: -5, max: 5, noNaN: true }),
          length: fc.integer({ min: 1, max: 400 }),
        }),
        { minLength: 1, maxLength: 5 },
      )
      .chain((segments) =>
        fc.tuple(fc.constant(segments), fc.nat(), fc.integer({ min: 0, max: segments.reduce((n, s) => n + s.length, 0) })),
      );
    fc.assert(
      fc.property(stream, ([segments, noiseSeed, cut]) => {
        const noise = SeededRandom.fromSeed(noiseSeed);
        const values = segments.flatMap((s) => Array.from({ length: s.length }, () => s.level + noise.nextFloat() - 0.5));
        const expected = signals(createDetector(config), values);
        const original = createDetector(config);
        const head = signals(original, values.slice(0, cut));
        const tail = signals(roundTrip(original), values.slice(cut));
        expect([...head, ...tail]).toEqual(expected);
      }),
      { numRuns: 40 },
    );
  });

  it('after reset() behaves exactly as a fresh detector', () => {
    const used = createDetector(config);
    signals(used, driftingStream.slice(0, 1500));
    used.reset();
    const fresh = createDetector(config);
    expect(used.driftDetected).toBe(false);
    expect(used.toJSON()).toEqual(fresh.toJSON());
    expect(signals(used, driftingStream)).toEqual(signals(fresh, driftingStream));
  });

  it('is deterministic: two detectors built from the same config agree on every output', () => {
    const stream = streamNamed('gradual-ramp').values;
    expect(signals(createDetector(config), stream)).toEqual(signals(createDetector(config), stream));
  });

  it.each([0, 1, -3.75, 1e6])('raises no drift on a constant stream of %d', (constant) => {
    const detector = createDetector(config);
    for (let i = 0; i < 5000; i += 1) expect(detector.update(constant).drift).toBe(false);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    'rejects %d without changing its state',
    (bad) => {
      const detector = createDetector(config);
      signals(detector, driftingStream.slice(0, 300));
      const before = detector.toJSON();
      expect(() => detector.update(bad)).toThrow(DetectorInputError);
      expect(detector.toJSON()).toEqual(before);
    },
  );

  it('serialises to plain JSON that survives a text round trip unchanged', () => {
    const detector = createDetector(config);
    signals(detector, driftingStream.slice(0, 1234));
    const state = detector.toJSON();
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });
});
