import { describe, expect, it } from 'vitest';

import { createDetector } from '../../../src/drift/create-detector.js';
import { detectionIndices } from './detections.js';
import { riverVectors, streamNamed } from './river-vectors.js';

// KSWIN draws its sub-sample with a different PRNG than River, so only ADWIN
// and Page-Hinkley can match River index for index; KSWIN is checked
// behaviourally in kswin.test.ts.
const exactRuns = riverVectors.runs.filter((run) => run.config.kind !== 'kswin');

describe(`parity with River ${riverVectors.versions.river}`, () => {
  it('covers every stream with default and non-default parameters of both exact detectors', () => {
    expect(riverVectors.versions.river).toBe('0.26.1');
    for (const stream of riverVectors.streams) {
      const kinds = exactRuns.filter((run) => run.stream === stream.name).map((run) => run.config.kind);
      expect(kinds.filter((kind) => kind === 'adwin').length).toBeGreaterThanOrEqual(2);
      expect(kinds.filter((kind) => kind === 'page-hinkley').length).toBeGreaterThanOrEqual(2);
    }
  });

  it.each(exactRuns.map((run) => [run.stream, run.riverCall, run] as const))(
    '%s: %s detects at River’s indices',
    (streamName, _call, run) => {
      const detector = createDetector(run.config);
      expect(detectionIndices(detector, streamNamed(streamName).values)).toEqual(run.detections);
    },
  );
});
