import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileRecords } from '../../../src/demo/record-sources.js';
import { decodeRecord } from '../../../src/pipeline/decode-record.js';

async function replay(csv: string): Promise<{ key: string | null; value: Record<string, unknown> }[]> {
  const file = join(mkdtempSync(join(tmpdir(), 'tangent-csv-')), 'data.csv');
  writeFileSync(file, csv);
  const records = [];
  for await (const record of fileRecords(file)) records.push({ key: record.key, value: JSON.parse(record.value.toString()) as Record<string, unknown> });
  return records;
}

describe('CSV replay (csv-parse)', () => {
  it('keeps a quoted task with a comma whole, and the feature values in header order', async () => {
    const records = await replay('task,x1,x0,y\n"plant, north",2,1,3.5\nplain,"4",5,6\n');
    expect(records.map((r) => r.key)).toEqual(['plant, north', 'plain']);
    expect(records[0]!.value).toMatchObject({ task: 'plant, north', x: [1, 2], y: 3.5 });
    expect(records[1]!.value).toMatchObject({ task: 'plain', x: [5, 4], y: 6 });
  });

  it('turns a short or non-numeric row into a record the consumer rejects, never into zeros', async () => {
    const records = await replay('task,x0,x1,y\na,1\nb,1,two,3\nc,1,2,\n');
    const options = { inputDim: 2, maxRecordBytes: 65536 };
    const decoded = records.map((r) => decodeRecord({ topic: 't', partition: 0, offset: '0', key: null, value: Buffer.from(JSON.stringify(r.value)), timestamp: 0 }, options));
    expect(decoded[0]!.ok).toBe(false);
    expect(decoded[1]!.ok).toBe(false);
    // An empty y is an unlabeled record (scored, not learned), not y = 0.
    expect(records[2]!.value.y).toBeNull();
  });
});
