/**
 * Kafka pieces shared by the broker benchmarks: clients, fresh topics, the
 * consumer configuration, a raw kafkajs consumer (the ceiling) and a paced
 * producer that stamps `ts` at send time.
 */
import { fork } from 'node:child_process';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { pino, type Logger } from 'pino';
import { parsePipelineConfig } from '../../src/config/load-pipeline-config.js';
import { deadLetterTopicOf, type PipelineConfig } from '../../src/config/pipeline-config.js';
import { createKafka } from '../../src/kafka/kafka-client.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import type { BatchObserver } from '../../src/pipeline/observe.js';
import type { LearnedBatch } from '../../src/pipeline/records.js';
import { join } from 'node:path';
import { benchDir, contextFromEnv, type BenchContext } from './common.js';

/** Where the benchmark consumers checkpoint (removed by bench/lib/child.ts when the benchmark ends). */
export const checkpointDir = (): string => join(contextFromEnv().rawDir, 'checkpoints');

export const quietLogger: Logger = pino({ level: process.env.TANGENT_LOG_LEVEL ?? 'warn' }, pino.destination(2));

export function brokersOf(ctx: BenchContext): string[] {
  if (!ctx.brokers) throw new Error('this benchmark needs Kafka: run it through bench/run.ts or set KAFKA_BROKERS');
  return ctx.brokers.split(',');
}

export function benchKafka(brokers: readonly string[]): Kafka {
  return new Kafka({ clientId: 'tangent-bench', brokers: [...brokers], logLevel: logLevel.NOTHING });
}

export function uniqueName(prefix: string): string {
  return `bench-${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
}

/** Topic and dead-letter topic with tangent's own partition count (3). */
export async function freshTopic(brokers: readonly string[], prefix: string): Promise<string> {
  const topic = uniqueName(prefix);
  await ensureTopics(benchKafka(brokers), [topic, `${topic}.dlq`], 3);
  return topic;
}

/**
 * tangent's defaults plus what a benchmark sets; metrics on an ephemeral port, no summary line,
 * checkpoints (on, as by default) under the gitignored raw dir instead of ./checkpoints.
 */
export function benchConfig(brokers: readonly string[], topic: string, groupId: string, overrides: Record<string, unknown> = {}): PipelineConfig {
  const { kafka, checkpoint, ...rest } = overrides as { kafka?: Record<string, unknown>; checkpoint?: Record<string, unknown> };
  const config = parsePipelineConfig({
    kafka: { brokers: [...brokers], topic, groupId, ...(kafka ?? {}) },
    metrics: { port: 0 },
    summaryIntervalSeconds: 0,
    checkpoint: { dir: checkpointDir(), ...(checkpoint ?? {}) },
    ...rest,
  });
  if (deadLetterTopicOf(config.kafka) !== `${topic}.dlq`) throw new Error('unexpected dead-letter topic');
  return config;
}

/** Times learned batches: first/last observation and totals, plus where the time went. */
export class BatchClock implements BatchObserver {
  first = 0;
  firstCount = 0;
  last = 0;
  learned = 0;
  /** Records dead-lettered (e.g. a new task's first record once half the task slots are taken). */
  rejected = 0;
  batches = 0;
  scoreSeconds = 0;
  readonly learnSeconds: Record<string, number> = {};

  observe(batch: LearnedBatch): void {
    const now = performance.now();
    if (this.batches === 0) {
      this.first = now;
      this.firstCount = batch.accepted.length;
    }
    this.last = now;
    this.batches += 1;
    this.learned += batch.accepted.length;
    this.rejected += batch.rejected.length;
    this.scoreSeconds += batch.scoreSeconds;
    for (const l of batch.learned) {
      this.learnSeconds[l.model] = (this.learnSeconds[l.model] ?? 0) + l.seconds;
    }
  }

  /** Records/s from the first learned batch to the last (excludes start-up and group join). */
  steadyRate(): number {
    return (this.learned - this.firstCount) / ((this.last - this.first) / 1000);
  }
}

export interface CeilingResult {
  readonly records: number;
  /** All records over the time from the first fetch request to the last batch handed to eachBatch. */
  readonly recordsPerSecond: number;
  readonly secondsFirstToLast: number;
  readonly secondsIncludingJoin: number;
  /** eachBatch calls (one per partition per fetch). */
  readonly batches: number;
}

/**
 * The ceiling: a plain kafkajs group consumer of the same topic with tangent's
 * client and fetch settings, `eachBatch` counting messages and nothing else.
 */
export async function rawConsumeRate(
  config: PipelineConfig,
  expected: number,
  onProgress: (seen: number) => void,
): Promise<CeilingResult> {
  const kafka = createKafka(config.kafka, quietLogger);
  const consumer = kafka.consumer({
    groupId: config.kafka.groupId,
    sessionTimeout: config.kafka.sessionTimeoutMs,
    heartbeatInterval: Math.floor(config.kafka.sessionTimeoutMs / 3),
    maxWaitTimeInMs: config.kafka.maxWaitTimeMs,
    allowAutoTopicCreation: false,
  });
  const started = performance.now();
  await consumer.connect();
  let seen = 0;
  let last = 0;
  let batches = 0;
  // The clock starts when the first fetch is sent (after the group join), not when its data arrives.
  let firstFetchStart = 0;
  const removeListener = consumer.on(consumer.events.FETCH_START, () => {
    if (firstFetchStart === 0) firstFetchStart = performance.now();
  });
  try {
    await consumer.subscribe({ topic: config.kafka.topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            batches += 1;
            seen += batch.messages.length;
            last = performance.now();
            onProgress(seen);
            if (seen >= expected) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    removeListener();
    await consumer.disconnect();
  }
  return {
    records: seen,
    recordsPerSecond: seen / ((last - firstFetchStart) / 1000),
    secondsFirstToLast: (last - firstFetchStart) / 1000,
    secondsIncludingJoin: (last - started) / 1000,
    batches,
  };
}

export interface PacedProducerOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  /** Records per second. */
  readonly rate: number;
  readonly count: number;
  readonly seed: number;
  /** Send tick, ms: records due are sent every tick, each stamped `ts` right before its send. */
  readonly tickMs?: number;
}

export interface PacedProducerResult {
  readonly sent: number;
  readonly seconds: number;
  readonly achievedRate: number;
  readonly sends: number;
  /** The longest send (request to acknowledgement), and when it began (seconds after the first send): a broker stall shows here. */
  readonly slowestSend?: { readonly ms: number; readonly atSecond: number; readonly records: number };
}

/**
 * Runs the paced producer in its own process (bench/lib/paced-producer.ts), so
 * tangent's synchronous learning never delays a send or its timestamp.
 */
export function startPacedProducer(
  options: PacedProducerOptions,
  onProgress: (sent: number) => void = () => undefined,
): Promise<PacedProducerResult> {
  return new Promise((resolve, reject) => {
    const child = fork(`${benchDir}/lib/paced-producer.ts`, [JSON.stringify(options)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    let result: PacedProducerResult | undefined;
    child.on('message', (m: { type: string; sent?: number; result?: PacedProducerResult }) => {
      if (m.type === 'progress' && m.sent !== undefined) onProgress(m.sent);
      if (m.type === 'done') result = m.result;
    });
    child.on('error', reject);
    child.on('exit', (code) => (result && code === 0 ? resolve(result) : reject(new Error(`paced producer exited with ${code}`))));
  });
}

/** Producer with tangent's settings (acks all, default partitioner: key = task). */
export function benchProducer(kafka: Kafka) {
  return kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
}
