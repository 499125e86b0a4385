import { Partitioners, type Kafka } from 'kafkajs';
import type { OutgoingRecord } from './record-sources.js';

export interface ProduceOptions {
  readonly topic: string;
  /** Records per second; 0 = as fast as the broker takes them. */
  readonly rate: number;
  /** Messages per producer request. */
  readonly chunkSize?: number;
  readonly onProgress?: (sent: number) => void;
  readonly signal?: AbortSignal;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes records to a topic at a steady rate; returns how many were sent. */
export async function produceRecords(
  kafka: Kafka,
  records: Iterable<OutgoingRecord> | AsyncIterable<OutgoingRecord>,
  options: ProduceOptions,
): Promise<number> {
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const chunkSize = options.chunkSize ?? (options.rate > 0 ? Math.max(1, Math.min(500, Math.ceil(options.rate / 20))) : 500);
  const started = performance.now();
  let sent = 0;
  let chunk: OutgoingRecord[] = [];
  const flush = async (): Promise<void> => {
    if (chunk.length === 0) return;
    await producer.send({ topic: options.topic, acks: -1, messages: chunk.map((r) => ({ key: r.key, value: r.value })) });
    sent += chunk.length;
    chunk = [];
    options.onProgress?.(sent);
    if (options.rate > 0) {
      const due = (sent / options.rate) * 1000 - (performance.now() - started);
      if (due > 0) await sleep(due);
    }
  };
  try {
    for await (const record of records) {
      if (options.signal?.aborted) break;
      chunk.push(record);
      if (chunk.length >= chunkSize) await flush();
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
  return sent;
}
