import type { Kafka } from 'kafkajs';
import { KafkaError } from '../errors.js';

/** Creates the topics that are missing; existing topics are left as they are. */
export async function ensureTopics(kafka: Kafka, topics: readonly string[], partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: -1 })),
      });
    }
  } catch (cause) {
    throw new KafkaError(`cannot create topics ${topics.join(', ')}`, {}, { retriable: true, cause });
  } finally {
    await admin.disconnect();
  }
}
