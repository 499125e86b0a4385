import type { KafkaMessage } from 'kafkajs';
import type { SourceRecord } from '../pipeline/records.js';

/** A fetched kafkajs message as the pipeline's record, with its coordinates. */
export function toSourceRecord(topic: string, partition: number, message: KafkaMessage): SourceRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    timestamp: Number(message.timestamp),
    headers: message.headers,
  };
}
