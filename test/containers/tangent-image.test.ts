import { describe, expect, inject, it } from 'vitest';
import { produceRecords } from '../../src/demo/produce.js';
import { syntheticRecords } from '../../src/demo/record-sources.js';
import { defaultFriedmanOptions } from '../../src/demo/friedman.js';
import { deadLetterTopicOf } from '../../src/config/pipeline-config.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import { testContainerLabel } from '../integration/broker.js';
import { committedAndEndOffsets, sampleValue, testConfig, testKafka, uniqueName, waitFor } from '../integration/kafka-helpers.js';
import { tangentImage } from './images.js';

/**
 * tangent's CPU image (Dockerfile), built once per run by the suite's setup, run
 * as in production: tini as PID 1, the non-root user, its HEALTHCHECK healthy,
 * consuming from the Kafka container, /metrics scraped, and a clean drain on
 * SIGTERM that commits every offset. Host networking reaches the Kafka
 * container's published port, and publishes /metrics on TANGENT_IMAGE_METRICS_PORT.
 */
const runtime = inject('containerRuntime');
const build = inject('tangentImageBuild');
const metricsPort = Number(process.env.TANGENT_IMAGE_METRICS_PORT || 29465);

async function metricsText(): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) });
  return response.text();
}

describe(`tangent's image (${tangentImage})`, () => {
  it.skipIf(!runtime.available)('builds, runs non-root under tini, turns healthy, learns from the Kafka container and drains on SIGTERM', async () => {
    expect(build.ok, `image build failed:\n${build.tail}`).toBe(true);
    const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
    const topic = uniqueName('image');
    const { kafka: kafkaConfig } = testConfig(topic);
    const groupId = kafkaConfig.groupId;
    const kafka = testKafka();
    await ensureTopics(kafka, [topic, deadLetterTopicOf(kafkaConfig)], 3);
    const records = [
      ...syntheticRecords(3_000, {
        friedman: { ...defaultFriedmanOptions, drift: 'none', seed: 3 },
        malformedFraction: 0.05,
        maxRecordBytes: kafkaConfig.maxRecordBytes,
      }),
    ];
    const bad = records.filter((r) => r.expectedReason !== undefined).length;
    await produceRecords(kafka, records, { topic, rate: 0 });

    const started = Date.now();
    const container = await new GenericContainer(tangentImage)
      .withNetworkMode('host')
      .withEnvironment({
        KAFKA_BROKERS: inject('kafkaBrokers'),
        TANGENT_TOPIC: topic,
        TANGENT_GROUP_ID: groupId,
        TANGENT_METRICS_PORT: String(metricsPort),
      })
      .withLabels({ [testContainerLabel]: 'tangent' })
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(300_000)
      .start();
    try {
      const client = await getContainerRuntimeClient();
      const inspect = await client.container.inspect(client.container.getById(container.getId()));
      expect(inspect.State.Health?.Status).toBe('healthy');
      expect(inspect.Config.User).toBe('10001:10001');
      const uid = await container.exec(['id', '-u']);
      expect(uid.output.trim()).toBe('10001');
      const pid1 = await container.exec(['cat', '/proc/1/cmdline']);
      expect(pid1.output.split('\0')[0]).toBe('/usr/bin/tini');
      console.log(`[containers] ${tangentImage} healthy ${((Date.now() - started) / 1000).toFixed(1)} s after start; user ${uid.output.trim()}; PID 1 ${pid1.output.split('\0').join(' ').trim()}`);

      let metrics = '';
      await waitFor(async () => {
        metrics = await metricsText().catch(() => '');
        const learned = sampleValue(metrics, 'tangent_records_total', { result: 'learned' }) ?? 0;
        const dead = sampleValue(metrics, 'tangent_records_total', { result: 'dead_lettered' }) ?? 0;
        return learned + dead >= records.length;
      }, 300_000, 'the container to learn or dead-letter every record');
      expect(sampleValue(metrics, 'tangent_records_total', { result: 'learned' })).toBe(records.length - bad);
      expect(sampleValue(metrics, 'tangent_records_total', { result: 'dead_lettered' })).toBe(bad);
      const backend = metrics.split('\n').find((l) => l.startsWith('tangent_backend_info'));
      expect(backend).toContain('backend="tensorflow"');
      console.log(`[containers] /metrics from the container: ${metrics.split('\n').filter((l) => /^tangent_(records_total|backend_info)/.test(l)).join('; ')}`);

      // testcontainers takes the grace period in milliseconds; tini forwards the SIGTERM to tangent.
      const stopStarted = Date.now();
      const stopped = await container.stop({ timeout: 60_000, remove: false });
      const exited = await client.container.inspect(client.container.getById(stopped.getId()));
      expect(exited.State.ExitCode, 'exit code after SIGTERM').toBe(0);
      const { committed, end } = await committedAndEndOffsets(topic, groupId);
      expect(committed).toEqual(end);
      console.log(`[containers] SIGTERM: exit ${exited.State.ExitCode} after ${((Date.now() - stopStarted) / 1000).toFixed(1)} s; committed offsets ${JSON.stringify(committed)} = end offsets`);
      await client.container.remove(client.container.getById(stopped.getId()), { removeVolumes: true });
    } finally {
      await container.stop().catch(() => {});
    }
  });
});
