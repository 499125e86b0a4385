import { map, type OperatorFunction } from 'rxjs';
import { decodeRecord, type DecodeOptions } from './decode-record.js';
import type { Decoded, SourceRecord } from './records.js';

/** Stage: raw Kafka records → decoded examples or rejects with a reason. */
export function decode(options: DecodeOptions): OperatorFunction<SourceRecord, Decoded> {
  return map((record) => decodeRecord(record, options));
}
