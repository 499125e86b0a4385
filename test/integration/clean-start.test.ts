import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../src/config/load-pipeline-config.js';
import { startConsumer } from '../../src/consumer-app.js';
import { ConfigError, KafkaError } from '../../src/errors.js';
import { quietLogger, testConfig, testKafka, uniqueName, waitFor } from './kafka-helpers.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

async function status(url: string): Promise<number | string> {
  return fetch(url).then(
    (r) => r.status,
    (e: unknown) => String(e),
  );
}

describe('a clean start', () => {
  it('with no broker: /healthz answers and /readyz does not while the brokers are tried, then one error naming them after connectTimeoutMs', async () => {
    const [port, deadBroker] = await Promise.all([freePort(), freePort()]);
    const config = parsePipelineConfig({
      kafka: { brokers: [`127.0.0.1:${deadBroker}`], topic: uniqueName('nobroker'), connectTimeoutMs: 4000 },
      metrics: { port },
      // Any free port: the default, the metrics port + 1, may be some other process's by now (EADDRINUSE failed this test once).
      serving: { port: 0 },
      summaryIntervalSeconds: 0,
    });
    const started = performance.now();
    const outcome = startConsumer(config, quietLogger).then(
      () => undefined,
      (error: unknown) => error,
    );
    const probes: { healthz: number | string; readyz: number | string }[] = [];
    for (let i = 0; i < 6; i++) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      probes.push({ healthz: await status(`http://127.0.0.1:${port}/healthz`), readyz: await status(`http://127.0.0.1:${port}/readyz`) });
    }
    const error = await outcome;
    const seconds = (performance.now() - started) / 1000;
    console.log(`[clean-start] probes while connecting: ${JSON.stringify(probes.slice(-1))}; failed after ${seconds.toFixed(1)} s: ${(error as Error).message}`);
    expect(probes.some((p) => p.healthz === 200 && p.readyz === 503)).toBe(true);
    expect(error).toBeInstanceOf(KafkaError);
    expect((error as Error).message).toContain(`cannot reach the Kafka brokers 127.0.0.1:${deadBroker} within 4 s (kafka.connectTimeoutMs)`);
    expect(seconds).toBeGreaterThanOrEqual(3.5);
    // The server is closed with the failure: the port is free again.
    expect(typeof (await status(`http://127.0.0.1:${port}/healthz`))).toBe('string');
  });

  it('refuses a missing input topic by name (a typo is not silently created), and creates it with kafka.createTopics', async () => {
    const topic = uniqueName('missing');
    const error = await startConsumer(testConfig(topic), quietLogger).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe('kafka.topic');
    expect((error as Error).message).toContain(`topic "${topic}" does not exist on`);
    const admin = testKafka().admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).not.toContain(topic);
      const consumer = await startConsumer(testConfig(topic, { kafka: { topic, groupId: `${topic}-group`, createTopics: true } }), quietLogger);
      const readyz = `http://127.0.0.1:${consumer.metricsAddress.port}/readyz`;
      await waitFor(async () => (await status(readyz)) === 200, 60_000, 'the partition assignment');
      await consumer.stop();
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(metadata.topics[0]!.partitions).toHaveLength(3);
    } finally {
      await admin.disconnect();
    }
  });
});
