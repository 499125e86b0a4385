import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { startConsumer } from '../../../src/consumer-app.js';
import { deadLetterTopicOf } from '../../../src/config/pipeline-config.js';
import { ensureTopics } from '../../../src/kafka/topics.js';
import { quietLogger, testConfig, testKafka, uniqueName, waitFor } from '../kafka-helpers.js';

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const x = (i: number): number[] => Array.from({ length: 10 }, (_, k) => ((i * 7 + k * 3) % 10) / 10);

describe('junk task ids', () => {
  it('10,000 distinct junk ids arriving first cannot lock real tasks out', async () => {
    const topic = uniqueName('faults-junk-tasks');
    const config = testConfig(topic, { model: { backend: 'cpu', hidden: [16], maxTasks: 64 }, ntkgp: { enabled: false }, fineTune: { every: 0 } });
    await ensureTopics(testKafka(), [topic, deadLetterTopicOf(config.kafka)], 3);
    const producer = testKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
    const junkCount = 10_000;
    const realTasks = Array.from({ length: 20 }, (_, i) => `real-${i}`);
    const realCount = 3_000;
    try {
      // The junk first, all on partition 0.
      for (let i = 0; i < junkCount; i += 1_000) {
        await producer.send({
          topic,
          messages: Array.from({ length: 1_000 }, (_, k) => ({ partition: 0, key: `junk-${i + k}`, value: json({ task: `junk-${i + k}`, x: x(k), y: 1 }) })),
        });
      }
      // Then 20 real tasks, 150 records each, on partitions 1 and 2.
      const real = Array.from({ length: realCount }, (_, i) => {
        const task = realTasks[i % realTasks.length]!;
        return { partition: 1 + (i % 2), key: task, value: json({ task, x: x(i), y: (i % 13) / 3 }) };
      });
      await producer.send({ topic, messages: real });
    } finally {
      await producer.disconnect();
    }
    const consumer = await startConsumer(config, quietLogger);
    try {
      const processed = (): number => consumer.progress.totals.learned + consumer.progress.totals.deadLettered;
      await waitFor(() => processed() >= junkCount + realCount, 240_000, 'every record');
      const tasks = consumer.session.tasks.list();
      const admittedReal = realTasks.filter((t) => tasks.includes(t));
      const junkAdmitted = tasks.length - admittedReal.length;
      console.log(
        `[faults/junk-tasks] ${junkCount} distinct junk ids first, then ${realCount} records of ${realTasks.length} real tasks: ` +
          `${admittedReal.length} real tasks admitted, ${junkAdmitted} junk ids; learned ${consumer.progress.totals.learned}, dead-lettered ${consumer.progress.totals.deadLettered}`,
      );
      expect(admittedReal).toEqual(realTasks);
      // Each real task loses at most its first record (seen once) to admission.
      expect(consumer.progress.totals.learned - junkAdmitted).toBeGreaterThanOrEqual(realCount - realTasks.length);
    } finally {
      await consumer.stop();
    }
  });
});
