import type { Producer } from 'kafkajs';
import type { Rejected } from '../pipeline/records.js';

/** Header names on dead-lettered records; documented in docs/architecture.md. */
export const deadLetterHeaders = {
  reason: 'tangent-reason',
  detail: 'tangent-detail',
  sourceTopic: 'tangent-source-topic',
  sourcePartition: 'tangent-source-partition',
  sourceOffset: 'tangent-source-offset',
  sourceTimestamp: 'tangent-source-timestamp',
} as const;

/**
 * Sends rejected records to the dead-letter topic unchanged (same key and
 * value bytes), with headers naming the reason and the source coordinates,
 * so nothing is lost and a fixed record can be replayed.
 */
export function deadLetterPublisher(producer: Producer, topic: string): (rejected: readonly Rejected[]) => Promise<void> {
  return async (rejected) => {
    if (rejected.length === 0) return;
    await producer.send({
      topic,
      acks: -1,
      messages: rejected.map(({ source, reason, detail }) => ({
        key: source.key,
        value: source.value,
        headers: {
          [deadLetterHeaders.reason]: reason,
          [deadLetterHeaders.detail]: detail,
          [deadLetterHeaders.sourceTopic]: source.topic,
          [deadLetterHeaders.sourcePartition]: String(source.partition),
          [deadLetterHeaders.sourceOffset]: source.offset,
          [deadLetterHeaders.sourceTimestamp]: String(source.timestamp),
        },
      })),
    });
  };
}
