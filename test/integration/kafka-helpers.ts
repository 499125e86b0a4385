import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { inject } from 'vitest';
import { pino } from 'pino';
import { parsePipelineConfig } from '../../src/config/load-pipeline-config.js';
import type { PipelineConfig } from '../../src/config/pipeline-config.js';

export const quietLogger = pino({ level: process.env.TANGENT_LOG_LEVEL ?? 'warn' });

export function brokers(): string[] {
  return inject('kafkaBrokers').split(',');
}

export function testKafka(): Kafka {
  return new Kafka({ clientId: 'tangent-test', brokers: brokers(), logLevel: logLevel.NOTHING });
}

/** A fresh topic and group per test, so tests never see each other's records. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
}

export function testConfig(topic: string, overrides: Record<string, unknown> = {}): PipelineConfig {
  return parsePipelineConfig(
    {
      kafka: { topic, groupId: `${topic}-group` },
      metrics: { port: 0 },
      checkpoint: { dir: mkdtempSync(join(tmpdir(), 'tangent-checkpoints-')) },
      summaryIntervalSeconds: 0,
      ...overrides,
    },
    { KAFKA_BROKERS: brokers().join(',') },
  );
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Reads every message of a topic from the beginning until `expected` have arrived. */
export async function readTopic(topic: string, expected: number, timeoutMs = 60_000): Promise<KafkaMessage[]> {
  const consumer = testKafka().consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 100 });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
    await waitFor(() => messages.length >= expected, timeoutMs, `${expected} messages on ${topic}`);
    // A little longer, so a surplus (duplicates) would be seen too.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

/**
 * A group's committed offsets and the end offsets of every partition. Retries
 * kafkajs' retriable errors: right after a broker (re)starts, the group
 * coordinator may still be loading or moving.
 */
export async function committedAndEndOffsets(topic: string, groupId: string): Promise<{ committed: Record<number, string>; end: Record<number, string> }> {
  for (let attempt = 1; ; attempt++) {
    const admin = testKafka().admin();
    try {
      await admin.connect();
      const [group] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const end = await admin.fetchTopicOffsets(topic);
      return {
        committed: Object.fromEntries(group!.partitions.map((p) => [p.partition, p.offset])),
        end: Object.fromEntries(end.map((p) => [p.partition, p.high])),
      };
    } catch (error) {
      if (attempt >= 40 || !(error as { retriable?: boolean }).retriable) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    } finally {
      await admin.disconnect();
    }
  }
}

export async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  return response.text();
}

/** The value of one sample in Prometheus text format, e.g. metric{label="v"}. */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const sampleLabels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => sampleLabels[k] === v)) return Number(match[3]);
  }
  return undefined;
}
