import { createHash } from 'node:crypto';
import type { IHeaders, Message, Producer } from 'kafkajs';
import type { Rejected } from '../pipeline/records.js';

/** Header names on dead-lettered records; documented in docs/architecture.md. */
export const deadLetterHeaders = {
  reason: 'tangent-reason',
  detail: 'tangent-detail',
  sourceTopic: 'tangent-source-topic',
  sourcePartition: 'tangent-source-partition',
  sourceOffset: 'tangent-source-offset',
  sourceTimestamp: 'tangent-source-timestamp',
  /** Set on a record whose value (or key, or original headers) had to be cut to fit the broker's limit. */
  truncated: 'tangent-truncated',
  originalValueBytes: 'tangent-original-value-bytes',
  originalValueSha256: 'tangent-original-value-sha256',
} as const;

/**
 * Bytes a record batch and one record's framing take beyond its key, value
 * and header bytes (Kafka's v2 record format: 61-byte batch header, varint
 * lengths per record and per header). Generous, so an estimate never falls
 * short of what the broker counts.
 */
const batchOverheadBytes = 128;
const recordOverheadBytes = 32;
const headerOverheadBytes = 16;

function headerBytes(headers: IHeaders): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const part of Array.isArray(value) ? value : [value]) bytes += headerOverheadBytes + Buffer.byteLength(name) + Buffer.byteLength(part);
  }
  return bytes;
}

/** What one message adds to a record batch, as the broker counts it (upper bound). */
function messageBytes(message: Pick<Message, 'key' | 'value' | 'headers'>): number {
  const length = (v: Buffer | string | null | undefined): number => (v === null || v === undefined ? 0 : Buffer.byteLength(v));
  return recordOverheadBytes + length(message.key) + length(message.value) + headerBytes(message.headers ?? {});
}

/**
 * The dead-letter message of one rejected record: its key and value bytes
 * unchanged, its original headers, and tangent's headers (reason, detail,
 * source coordinates) on top. When it would not fit in `maxBytes` — the
 * broker's per-batch limit — the value is cut to what fits and the original
 * size and SHA-256 are recorded, so the record is still kept, identified and
 * traceable to its source offset, and the pipeline never fails on it.
 */
function deadLetterMessage({ source, reason, detail }: Rejected, maxBytes: number): Message {
  const tangent: IHeaders = {
    [deadLetterHeaders.reason]: reason,
    [deadLetterHeaders.detail]: detail.length > 1024 ? `${detail.slice(0, 1024)}…` : detail,
    [deadLetterHeaders.sourceTopic]: source.topic,
    [deadLetterHeaders.sourcePartition]: String(source.partition),
    [deadLetterHeaders.sourceOffset]: source.offset,
    [deadLetterHeaders.sourceTimestamp]: String(source.timestamp),
  };
  const whole: Message = { key: source.key, value: source.value, headers: { ...source.headers, ...tangent } };
  const budget = maxBytes - batchOverheadBytes;
  if (messageBytes(whole) <= budget) return whole;

  const value = source.value ?? Buffer.alloc(0);
  const marks: IHeaders = {
    [deadLetterHeaders.truncated]: 'true',
    [deadLetterHeaders.originalValueBytes]: String(value.length),
    [deadLetterHeaders.originalValueSha256]: createHash('sha256').update(value).digest('hex'),
  };
  // Original headers are kept when they fit beside tangent's; a key larger than a quarter of the budget is cut too.
  const keyRoom = Math.floor(budget / 4);
  const key = source.key && source.key.length > keyRoom ? source.key.subarray(0, keyRoom) : source.key;
  const withOriginalHeaders: IHeaders = { ...source.headers, ...tangent, ...marks };
  const headers = messageBytes({ key, value: null, headers: withOriginalHeaders }) <= budget / 2 ? withOriginalHeaders : { ...tangent, ...marks };
  const room = Math.max(0, budget - messageBytes({ key, value: null, headers }));
  return { key, value: value.subarray(0, room), headers };
}

/** Splits messages into consecutive groups whose estimated size stays within `maxBytes` each. */
function splitToLimit(messages: readonly Message[], maxBytes: number): Message[][] {
  const groups: Message[][] = [];
  let group: Message[] = [];
  let bytes = batchOverheadBytes;
  for (const message of messages) {
    const size = messageBytes(message);
    if (group.length > 0 && bytes + size > maxBytes) {
      groups.push(group);
      group = [];
      bytes = batchOverheadBytes;
    }
    group.push(message);
    bytes += size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * Sends rejected records to the dead-letter topic (see deadLetterMessage),
 * in as many requests as the broker's message size limit (`maxBytes`, the
 * topic's `max.message.bytes`) needs, in order. Resolves once every one is
 * acknowledged by all in-sync replicas.
 */
export function deadLetterPublisher(producer: Producer, topic: string, maxBytes: number): (rejected: readonly Rejected[]) => Promise<void> {
  return async (rejected) => {
    if (rejected.length === 0) return;
    const messages = rejected.map((r) => deadLetterMessage(r, maxBytes));
    for (const group of splitToLimit(messages, maxBytes)) await producer.send({ topic, acks: -1, messages: group });
  };
}
