import type { Decoded, RejectReason, SourceRecord } from './records.js';
import type { Example, Query } from '../spec/example.js';

export interface DecodeOptions {
  readonly inputDim: number;
  readonly maxRecordBytes: number;
}

/**
 * A record's fields once validated: a labeled example, an unlabeled query
 * (`y` absent or null), or the reason it is bad.
 */
export type RecordFields =
  | { readonly ok: true; readonly labeled: true; readonly example: Example }
  | { readonly ok: true; readonly labeled: false; readonly example: Query }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

function bad(reason: RejectReason, detail: string): RecordFields {
  return { ok: false, reason, detail };
}

/** A module-level function, not a closure made per record: the decoder runs for every record on the hot path. */
function rejected(source: SourceRecord, reason: RejectReason, detail: string): Decoded {
  return { ok: false, source, reason, detail };
}

/**
 * Parses and validates one record against DESIGN §2. Pure: never throws, a
 * bad record becomes a `Rejected` with a reason and a human-readable detail.
 */
export function decodeRecord(source: SourceRecord, options: DecodeOptions): Decoded {
  const value = source.value;
  if (value === null || value.length === 0) return rejected(source, 'empty', 'record has no value');
  if (value.length > options.maxRecordBytes) return rejected(source, 'too_large', `value is ${value.length} bytes, limit ${options.maxRecordBytes}`);
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    return rejected(source, 'invalid_utf8', 'value is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return rejected(source, 'invalid_json', (error as Error).message);
  }
  const fields = validateRecordFields(parsed, options.inputDim, source.timestamp);
  return { ...fields, source };
}

/**
 * Validates a parsed record value (a JSON object with `task`, `x`, optional
 * `y` and `ts`): the one set of rules for records from Kafka and for
 * `POST /predict`. `defaultTs` is the event time when the record has no `ts`.
 */
export function validateRecordFields(parsed: unknown, inputDim: number, defaultTs: number): RecordFields {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return bad('not_an_object', 'value must be a JSON object');
  const { task, x, y, ts } = parsed as Record<string, unknown>;

  if (task === undefined) return bad('missing_field', 'field "task" is missing');
  if (typeof task !== 'string' || task.length === 0 || task.length > 256) {
    return bad('unknown_field_type', 'field "task" must be a non-empty string of at most 256 characters');
  }
  if (x === undefined) return bad('missing_field', 'field "x" is missing');
  if (!Array.isArray(x)) return bad('unknown_field_type', 'field "x" must be an array of numbers');
  if (x.length !== inputDim) return bad('wrong_dimension', `field "x" has ${x.length} values, expected ${inputDim}`);
  const features = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v: unknown = x[i];
    // JSON cannot encode NaN/Infinity, but producers write them as strings or nulls.
    if (typeof v !== 'number') {
      const nonFinite = v === null || v === 'NaN' || v === 'Infinity' || v === '-Infinity';
      return nonFinite ? bad('non_finite', `x[${i}] is ${JSON.stringify(v)}`) : bad('unknown_field_type', `x[${i}] is a ${typeof v}, expected a number`);
    }
    if (!Number.isFinite(v) || Math.abs(v) > 3.4e38) return bad('non_finite', `x[${i}] is not a finite float32`);
    features[i] = v;
  }
  if (ts !== undefined && (typeof ts !== 'number' || !Number.isFinite(ts))) {
    return bad('unknown_field_type', 'field "ts" must be a number (epoch ms) when present');
  }
  const eventTime = typeof ts === 'number' ? ts : defaultTs;
  // No label: the record only wants a prediction.
  if (y === undefined || y === null) return { ok: true, labeled: false, example: { task, x: features, ts: eventTime } };
  if (typeof y !== 'number') {
    return y === 'NaN' || y === 'Infinity' || y === '-Infinity'
      ? bad('non_finite', `y is ${JSON.stringify(y)}`)
      : bad('unknown_field_type', `y is a ${typeof y}, expected a number`);
  }
  // The model computes in float32: a target beyond its range would be infinite there.
  if (!Number.isFinite(y) || Math.abs(y) > 3.4e38) return bad('non_finite', 'y is not a finite float32');
  return { ok: true, labeled: true, example: { task, x: features, y, ts: eventTime } };
}
