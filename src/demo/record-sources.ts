import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { SeededRandom } from '../math/seeded-random.js';
import { FriedmanStream, type FriedmanOptions } from './friedman.js';
import { randomMalformedRecord, type MalformedRecord } from './malformed-records.js';

/** One message for the load generator: key (task) and value bytes, plus what the consumer must do with it. */
export interface OutgoingRecord {
  readonly key: string | null;
  readonly value: Buffer;
  /** Set for deliberately bad records: the reason the consumer must give. */
  readonly expectedReason?: MalformedRecord['expectedReason'];
}

export interface SyntheticOptions {
  readonly friedman: FriedmanOptions;
  readonly malformedFraction: number;
  readonly maxRecordBytes: number;
  /** Share of good records sent without `y` (they only want a prediction); default 0. */
  readonly unlabeledFraction?: number;
}

/** The drifting Friedman stream with an optional share of malformed records mixed in. */
export function* syntheticRecords(count: number, options: SyntheticOptions): Generator<OutgoingRecord> {
  const stream = new FriedmanStream(options.friedman);
  const random = SeededRandom.fromSeed(options.friedman.seed ^ 0xbad);
  for (let i = 0; i < count; i++) {
    if (random.nextFloat() < options.malformedFraction) {
      const bad = randomMalformedRecord(random, 10, options.maxRecordBytes);
      yield { key: null, value: bad.value, expectedReason: bad.expectedReason };
      continue;
    }
    const record = stream.next();
    const unlabeled = (options.unlabeledFraction ?? 0) > 0 && random.nextFloat() < options.unlabeledFraction!;
    const value = unlabeled ? { task: record.task, x: record.x, ts: Date.now() } : { ...record, ts: Date.now() };
    yield { key: record.task, value: Buffer.from(JSON.stringify(value)) };
  }
}

/**
 * Replays a file: JSONL (one record object per line, passed through as is)
 * or CSV with a header `task,x0..xN,y` (turned into the JSON record format).
 * CSV goes through csv-parse: quoted fields may hold commas, quotes and line
 * breaks; a row with a missing or non-numeric cell becomes a record the
 * consumer dead-letters with its reason.
 */
export async function* fileRecords(path: string): AsyncGenerator<OutgoingRecord> {
  if (path.endsWith('.csv')) {
    yield* csvRecords(path);
    return;
  }
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let key: string | null = null;
    try {
      const task = (JSON.parse(line) as { task?: unknown }).task;
      if (typeof task === 'string') key = task;
    } catch {
      // Replayed as is: the consumer dead-letters it with its reason.
    }
    yield { key, value: Buffer.from(line) };
  }
}

async function* csvRecords(path: string): AsyncGenerator<OutgoingRecord> {
  const rows = createReadStream(path).pipe(
    parseCsv({ columns: true, trim: true, skip_empty_lines: true, relax_column_count: true, bom: true }),
  ) as AsyncIterable<Record<string, string | undefined>>;
  let featureNames: string[] | undefined;
  for await (const row of rows) {
    featureNames ??= Object.keys(row)
      .filter((h) => /^x\d+$/.test(h))
      .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
    const task = row.task === undefined || row.task === '' ? 'default' : row.task;
    const record = { task, x: featureNames.map((n) => cellNumber(row[n])), y: cellNumber(row.y) };
    yield { key: task, value: Buffer.from(JSON.stringify({ ...record, ts: Date.now() })) };
  }
}

/**
 * A number cell; an empty cell is null, never 0 (an empty `y` is an unlabeled
 * record; an empty feature is rejected), and text stays text, which the
 * consumer rejects with its reason.
 */
function cellNumber(cell: string | undefined): number | string | null {
  if (cell === undefined || cell === '') return null;
  const value = Number(cell);
  return Number.isFinite(value) ? value : cell;
}
