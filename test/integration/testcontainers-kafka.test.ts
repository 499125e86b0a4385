import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { defaultKafkaImage, probeContainerRuntime, startKafkaContainer } from './broker.js';
import { uniqueName, waitFor } from './kafka-helpers.js';

/**
 * The testcontainers path of the harness, for real: a cp-kafka container in
 * KRaft mode, a round trip through it on the mapped client port. Skipped, with
 * the reason printed, only when no container runtime answers.
 */
const runtime = await probeContainerRuntime();
if (!runtime.available) console.log(`[integration] testcontainers Kafka test skipped: ${runtime.reason}`);

describe('Kafka in a container (@testcontainers/kafka)', () => {
  it.skipIf(!runtime.available)(`starts ${process.env.TANGENT_KAFKA_IMAGE || defaultKafkaImage} and round-trips a record on the mapped port`, async () => {
    const broker = await startKafkaContainer(process.env.TANGENT_KAFKA_IMAGE || defaultKafkaImage);
    try {
      const kafka = new Kafka({ clientId: 'tangent-testcontainers', brokers: [broker.brokers], logLevel: logLevel.NOTHING });
      const topic = uniqueName('tc-roundtrip');
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
      expect((await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions).toHaveLength(3);
      await admin.disconnect();

      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'sensor-1', value: '{"task":"sensor-1","x":[1],"y":2}' }] });
      await producer.disconnect();

      const received: string[] = [];
      const consumer = kafka.consumer({ groupId: uniqueName('tc-group') });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void received.push(message.value!.toString()) });
      await waitFor(() => received.length === 1, 60_000, 'the record back from the container');
      await consumer.disconnect();
      expect(JSON.parse(received[0]!)).toEqual({ task: 'sensor-1', x: [1], y: 2 });
    } finally {
      await broker.stop();
    }
  });
});
