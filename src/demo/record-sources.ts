import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
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
 */
export async function* fileRecords(path: string): AsyncGenerator<OutgoingRecord> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let header: string[] | undefined;
  const csv = path.endsWith('.csv');
  for await (const line of lines) {
    if (line.trim() === '') continue;
    if (!csv) {
      let key: string | null = null;
      try {
        const task = (JSON.parse(line) as { task?: unknown }).task;
        if (typeof task === 'string') key = task;
      } catch {
        // Replayed as is: the consumer dead-letters it with its reason.
      }
      yield { key, value: Buffer.from(line) };
      continue;
    }
    const cells = line.split(',').map((c) => c.trim());
    if (!header) {
      header = cells;
      continue;
    }
    const row = Object.fromEntries(header.map((name, i) => [name, cells[i]]));
    const featureNames = header.filter((h) => /^x\d+$/.test(h));
    const record = { task: row.task ?? 'default', x: featureNames.map((n) => Number(row[n])), y: Number(row.y) };
    yield { key: record.task, value: Buffer.from(JSON.stringify({ ...record, ts: Date.now() })) };
  }
}
