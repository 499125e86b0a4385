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

describe('internal state matches River between detections, bit for bit', () => {
  it.each(riverVectors.traces.map((trace) => [trace.config.kind, trace.stream, trace] as const))(
    '%s on %s',
    (_kind, streamName, trace) => {
      const detector = createDetector(trace.config);
      const values = streamNamed(streamName).values;
      const [, ...fields] = trace.columns;
      let next = 0;
      values.forEach((value, index) => {
        detector.update(value);
        const row = trace.rows[next];
        if (row === undefined || row[0] !== index) return;
        next += 1;
        const state = detector.toJSON() as unknown as Record<string, unknown>;
        const ours = fields.map((field) => state[field]);
        expect(ours, `${trace.config.kind} state after index ${index}`).toEqual(row.slice(1));
      });
      expect(next).toBe(trace.rows.length);
    },
  );
});
