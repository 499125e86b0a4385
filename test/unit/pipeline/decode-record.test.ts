import { describe, expect, it } from 'vitest';
import { decodeRecord } from '../../../src/pipeline/decode-record.js';
import { SeededRandom } from '../../../src/math/seeded-random.js';
import { malformedMakers } from '../../../src/demo/malformed-records.js';
import { goodValue, sourceRecord } from './helpers.js';

const options = { inputDim: 3, maxRecordBytes: 1024 };

describe('decodeRecord', () => {
  it('decodes a good record into features, target and event time', () => {
    const decoded = decodeRecord(sourceRecord({ ...goodValue('sensor-7'), ts: 42 }), options);
    expect(decoded.ok && decoded.labeled).toBe(true);
    if (!decoded.ok || !decoded.labeled) return;
    expect(decoded.example.task).toBe('sensor-7');
    expect(Array.from(decoded.example.x)).toEqual([0, 0.1, 0.2].map(Math.fround));
    expect(decoded.example.y).toBe(1.5);
    expect(decoded.example.ts).toBe(42);
  });

  it('falls back to the broker timestamp when ts is absent', () => {
    const decoded = decodeRecord(sourceRecord(goodValue(), { timestamp: 7 }), options);
    expect(decoded.ok && decoded.example.ts).toBe(7);
  });

  it.each([{}, { y: null }])('decodes a record with %j as its label into an unlabeled query', (label) => {
    const decoded = decodeRecord(sourceRecord({ task: 'a', x: [1, 2, 3], ts: 9, ...label }), options);
    expect(decoded.ok && !decoded.labeled).toBe(true);
    if (!decoded.ok || decoded.labeled) return;
    expect(decoded.example).toEqual({ task: 'a', x: Float32Array.from([1, 2, 3]), ts: 9 });
    expect('y' in decoded.example).toBe(false);
  });

  it('still rejects a malformed record without a label', () => {
    const reasons = [
      { task: 'a', x: [1, 2] },
      { task: 'a', x: [1, 'NaN', 3] },
      { x: [1, 2, 3] },
      { task: 'a', x: [1, 2, 3], ts: 'now' },
    ].map((value) => decodeRecord(sourceRecord(value), options)).map((d) => (d.ok ? 'ok' : d.reason));
    expect(reasons).toEqual(['wrong_dimension', 'non_finite', 'missing_field', 'unknown_field_type']);
  });

  it.each([
    ['{"task":', 'invalid_json'],
    ['[1,2,3]', 'not_an_object'],
    ['"text"', 'not_an_object'],
    [JSON.stringify({ x: [1, 2, 3], y: 1 }), 'missing_field'],
    [JSON.stringify({ task: 'a', y: 1 }), 'missing_field'],
    [JSON.stringify({ task: 'a', x: [1, 2], y: 1 }), 'wrong_dimension'],
    [JSON.stringify({ task: 'a', x: [1, 'NaN', 3], y: 1 }), 'non_finite'],
    [JSON.stringify({ task: 'a', x: [1, null, 3], y: 1 }), 'non_finite'],
    [JSON.stringify({ task: 'a', x: [1, 2, 1e39], y: 1 }), 'non_finite'],
    [JSON.stringify({ task: 'a', x: [1, 2, 3], y: 'Infinity' }), 'non_finite'],
    [JSON.stringify({ task: 'a', x: [1, 2, 3], y: 1e300 }), 'non_finite'],
    [JSON.stringify({ task: 'a', x: [1, true, 3], y: 1 }), 'unknown_field_type'],
    [JSON.stringify({ task: 5, x: [1, 2, 3], y: 1 }), 'unknown_field_type'],
    [JSON.stringify({ task: 'a', x: '1,2,3', y: 1 }), 'unknown_field_type'],
    [JSON.stringify({ task: 'a', x: [1, 2, 3], y: 1, ts: 'yesterday' }), 'unknown_field_type'],
  ])('rejects %s as %s', (value, reason) => {
    const decoded = decodeRecord(sourceRecord(value), options);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.reason).toBe(reason);
      expect(decoded.detail.length).toBeGreaterThan(0);
    }
  });

  it('rejects empty, oversize and non-UTF-8 values', () => {
    const reasons = [
      decodeRecord(sourceRecord(Buffer.alloc(0)), options),
      decodeRecord(sourceRecord({ ...goodValue(), pad: 'x'.repeat(2000) }), options),
      decodeRecord(sourceRecord(Buffer.from([0xff, 0xfe, 0x00])), options),
    ].map((d) => (d.ok ? 'ok' : d.reason));
    expect(reasons).toEqual(['empty', 'too_large', 'invalid_utf8']);
  });

  it('gives every malformed kind of the load generator the reason it promises', () => {
    const random = SeededRandom.fromSeed(1);
    for (const [kind, make] of Object.entries(malformedMakers)) {
      for (let i = 0; i < 20; i++) {
        const bad = make(random, 3, 1024);
        const decoded = decodeRecord(sourceRecord(bad.value), options);
        expect(decoded.ok ? 'ok' : decoded.reason, kind).toBe(bad.expectedReason);
      }
    }
  });

  it('keeps the raw record of a reject so the dead-letter topic loses nothing', () => {
    const raw = sourceRecord('not json', { key: Buffer.from('k') });
    const decoded = decodeRecord(raw, options);
    expect(decoded.source).toBe(raw);
  });
});
