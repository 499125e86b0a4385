#!/usr/bin/env node
// Waits until a Kafka broker really answers: a kafkajs admin client connects,
// describes the cluster (≥ 1 broker) and lists topics. Retries until the timeout.
// Usage: node wait-ready.mjs [host:port] [timeoutSeconds]
// Prints one JSON line {clusterId, brokers, topics, ms} on success (exit 0);
// exit 1 on timeout, exit 3 when kafkajs cannot be loaded (caller falls back).
let Kafka, logLevel;
try {
  ({ Kafka, logLevel } = await import('kafkajs'));
} catch (e) {
  console.error(`[kafka] wait-ready: cannot load kafkajs (${e.code ?? e.message})`);
  process.exit(3);
}

const broker = process.argv[2] ?? `127.0.0.1:${process.env.KAFKA_PORT ?? 9092}`;
const timeoutMs = Number(process.argv[3] ?? 90) * 1000;
const t0 = Date.now();
let lastError = 'no attempt';

const kafka = new Kafka({
  clientId: 'tangent-kafka-wait-ready',
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 1000,
  requestTimeout: 3000,
  retry: { retries: 0 },
});

while (Date.now() - t0 < timeoutMs) {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (!cluster.brokers?.length) throw new Error('metadata lists no broker yet');
    const topics = await admin.listTopics();
    console.log(JSON.stringify({
      clusterId: cluster.clusterId,
      brokers: cluster.brokers.map((b) => `${b.host}:${b.port}`),
      topics: topics.length,
      ms: Date.now() - t0,
    }));
    await admin.disconnect().catch(() => {});
    process.exit(0);
  } catch (e) {
    lastError = e?.message ?? String(e);
    await admin.disconnect().catch(() => {});
    await new Promise((r) => setTimeout(r, 500));
  }
}
console.error(`[kafka] wait-ready: ${broker} not ready after ${timeoutMs / 1000} s: ${lastError}`);
process.exit(1);
