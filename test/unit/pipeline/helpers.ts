import type { SourceRecord } from '../../../src/pipeline/records.js';

let nextOffset = 0;

/** A raw record as the source would emit it, with consecutive offsets unless given. */
export function sourceRecord(value: unknown, overrides: Partial<SourceRecord> = {}): SourceRecord {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  return {
    topic: 'records',
    partition: 0,
    offset: String(nextOffset++),
    key: null,
    value: bytes,
    timestamp: 1_764_150_000_000,
    ...overrides,
  };
}

export function goodValue(task = 'a', dim = 3, y = 1.5): { task: string; x: number[]; y: number } {
  return { task, x: Array.from({ length: dim }, (_, i) => i / 10), y };
}
