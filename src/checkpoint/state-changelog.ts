import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { constants as zlibConstants, gunzipSync, gzip, type ZlibOptions } from 'node:zlib';

const gzipped = promisify<Buffer, ZlibOptions, Buffer>(gzip);

/**
 * The output buffer size for compressing `bytes` of JSON: every time zlib fills
 * one, the thread pool hands it back to the event loop and is asked for more,
 * so node's 16 KiB default takes two or three round trips for a trunk record
 * (~26 KB gzipped). As large as the input, the output almost always fits in
 * one; capped so that a large task state does not allocate its size at once.
 * The compressed bytes do not depend on it.
 */
function gzipChunkSize(bytes: number): number {
  return Math.min(Math.max(bytes + 1024, zlibConstants.Z_DEFAULT_CHUNK), 1 << 20);
}

/**
 * The record format of the state changelog (`<groupId>.state`, compacted,
 * keyed by task): one task's state as gzipped JSON. A state whose gzipped
 * form exceeds the topic's record limit is split into chunks under their own
 * keys (`<task>\u0000<i>`), written before the task's own record, which then
 * holds a manifest naming the chunks by the SHA-256 of the whole; a reader
 * assembles only chunks carrying that digest, so chunks left over from an
 * older, larger state are never mixed in.
 */
export interface ChangelogMessage {
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Record<string, string>;
}

/** A stored record as a reader sees it: its value and headers (strings). */
export interface ChangelogEntry {
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

const encodingHeader = 'tangent-encoding';
const digestHeader = 'tangent-sha256';
const chunksHeader = 'tangent-chunks';
/** Room left in each record for its key, headers and Kafka's record framing. */
const recordOverheadBytes = 1024;

function chunkKey(key: string, index: number): string {
  return `${key}\u0000${index}`;
}

/**
 * One value (any JSON) as changelog messages under `key`: gzipped, and split
 * when it would not fit in `maxRecordBytes`. The key's own message comes last.
 * Compressed on libuv's thread pool: a task's state with its GP window is
 * tens of kilobytes, and every checkpoint publishes them all.
 */
export async function encodeChangelogValue(key: string, value: unknown, maxRecordBytes: number): Promise<ChangelogMessage[]> {
  const text = Buffer.from(JSON.stringify(value), 'utf8');
  const packed = await gzipped(text, { chunkSize: gzipChunkSize(text.length) });
  const sha256 = createHash('sha256').update(packed).digest('hex');
  const room = maxRecordBytes - recordOverheadBytes - Buffer.byteLength(key) * 2;
  if (room <= 0) throw new RangeError(`record limit ${maxRecordBytes} bytes leaves no room for a state record`);
  if (packed.length <= room) return [{ key, value: packed, headers: { [encodingHeader]: 'gzip-json', [digestHeader]: sha256 } }];
  const chunks: ChangelogMessage[] = [];
  for (let start = 0, i = 0; start < packed.length; start += room, i++) {
    chunks.push({ key: chunkKey(key, i), value: packed.subarray(start, start + room), headers: { [encodingHeader]: 'gzip-json-chunk', [digestHeader]: sha256 } });
  }
  const manifest = { key, value: Buffer.from(JSON.stringify({ chunks: chunks.length })), headers: { [encodingHeader]: 'gzip-json-chunked', [digestHeader]: sha256, [chunksHeader]: String(chunks.length) } };
  return [...chunks, manifest];
}

/**
 * The value stored under `key`, assembled from its chunks when it was split;
 * undefined when there is none. Throws when the stored bytes do not match
 * their digest or a chunk is missing.
 */
export function decodeChangelogValue(key: string, lookup: (key: string) => ChangelogEntry | undefined): unknown {
  const entry = lookup(key);
  if (!entry) return undefined;
  const sha256 = entry.headers[digestHeader];
  let packed: Buffer;
  if (entry.headers[encodingHeader] === 'gzip-json') {
    packed = entry.value;
  } else if (entry.headers[encodingHeader] === 'gzip-json-chunked') {
    const count = Number(entry.headers[chunksHeader]);
    const parts: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const chunk = lookup(chunkKey(key, i));
      if (!chunk || chunk.headers[digestHeader] !== sha256) throw new Error(`chunk ${i} of ${count} of "${key}" is missing or from another version`);
      parts.push(chunk.value);
    }
    packed = Buffer.concat(parts);
  } else {
    throw new Error(`"${key}" has an unknown encoding ${JSON.stringify(entry.headers[encodingHeader])}`);
  }
  if (createHash('sha256').update(packed).digest('hex') !== sha256) throw new Error(`"${key}" does not match its SHA-256 (corrupt record)`);
  return JSON.parse(gunzipSync(packed).toString('utf8')) as unknown;
}

/** Whether an entry holds its whole value rather than a manifest of chunks: then it alone decides what it decodes to. */
export function holdsWholeValue(entry: ChangelogEntry): boolean {
  return entry.headers[encodingHeader] === 'gzip-json';
}

/** Whether a key names a chunk rather than a task. */
export function isChunkKey(key: string): boolean {
  return key.includes('\u0000');
}
