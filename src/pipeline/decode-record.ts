import type { Decoded, RejectReason, SourceRecord } from './records.js';

export interface DecodeOptions {
  readonly inputDim: number;
  readonly maxRecordBytes: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function reject(source: SourceRecord, reason: RejectReason, detail: string): Decoded {
  return { ok: false, source, reason, detail };
}

/**
 * Parses and validates one record against DESIGN §2. Pure: never throws, a
 * bad record becomes a `Rejected` with a reason and a human-readable detail.
 */
export function decodeRecord(source: SourceRecord, options: DecodeOptions): Decoded {
  const value = source.value;
  if (value === null || value.length === 0) return reject(source, 'empty', 'record has no value');
  if (value.length > options.maxRecordBytes) {
    return reject(source, 'too_large', `value is ${value.length} bytes, limit ${options.maxRecordBytes}`);
  }
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    return reject(source, 'invalid_utf8', 'value is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return reject(source, 'invalid_json', (error as Error).message);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return reject(source, 'not_an_object', 'value must be a JSON object');
  }
  const { task, x, y, ts } = parsed as Record<string, unknown>;

  if (task === undefined) return reject(source, 'missing_field', 'field "task" is missing');
  if (typeof task !== 'string' || task.length === 0 || task.length > 256) {
    return reject(source, 'unknown_field_type', 'field "task" must be a non-empty string of at most 256 characters');
  }
  if (x === undefined) return reject(source, 'missing_field', 'field "x" is missing');
  if (!Array.isArray(x)) return reject(source, 'unknown_field_type', 'field "x" must be an array of numbers');
  if (x.length !== options.inputDim) {
    return reject(source, 'wrong_dimension', `field "x" has ${x.length} values, expected ${options.inputDim}`);
  }
  const features = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v: unknown = x[i];
    // JSON cannot encode NaN/Infinity, but producers write them as strings or nulls.
    if (typeof v !== 'number') {
      const nonFinite = v === null || v === 'NaN' || v === 'Infinity' || v === '-Infinity';
      return nonFinite
        ? reject(source, 'non_finite', `x[${i}] is ${JSON.stringify(v)}`)
        : reject(source, 'unknown_field_type', `x[${i}] is a ${typeof v}, expected a number`);
    }
    if (!Number.isFinite(v) || Math.abs(v) > 3.4e38) return reject(source, 'non_finite', `x[${i}] is not a finite float32`);
    features[i] = v;
  }
  if (ts !== undefined && (typeof ts !== 'number' || !Number.isFinite(ts))) {
    return reject(source, 'unknown_field_type', 'field "ts" must be a number (epoch ms) when present');
  }
  const eventTime = typeof ts === 'number' ? ts : source.timestamp;
  // No label: the record only wants a prediction.
  if (y === undefined || y === null) return { ok: true, labeled: false, source, example: { task, x: features, ts: eventTime } };
  if (typeof y !== 'number') {
    return y === 'NaN' || y === 'Infinity' || y === '-Infinity'
      ? reject(source, 'non_finite', `y is ${JSON.stringify(y)}`)
      : reject(source, 'unknown_field_type', `y is a ${typeof y}, expected a number`);
  }
  // The model computes in float32: a target beyond its range would be infinite there.
  if (!Number.isFinite(y) || Math.abs(y) > 3.4e38) return reject(source, 'non_finite', 'y is not a finite float32');
  return { ok: true, labeled: true, source, example: { task, x: features, y, ts: eventTime } };
}
