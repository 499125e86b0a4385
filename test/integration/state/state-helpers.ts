import { gunzipSync } from 'node:zlib';
import type { KafkaMessage } from 'kafkajs';
import type { RunningConsumer } from '../../../src/consumer-app.js';
import { trunkDistance } from '../../../src/checkpoint/trunk-sync.js';
import type { BatchObserver } from '../../../src/pipeline/observe.js';
import type { LearnedBatch } from '../../../src/pipeline/records.js';
import { testKafka, uniqueName, waitFor } from '../kafka-helpers.js';

/**
 * Watches every learned batch of every member: which records were learned
 * (by topic:partition:offset, to find any learned twice) and each task's
 * prequential absolute errors of the network.
 */
export class LearnedLedger implements BatchObserver {
  readonly learned = new Map<string, number>();
  readonly absoluteErrors = new Map<string, { sum: number; count: number; recent: number[] }>();
  /** The partitions each task's records came from. */
  readonly partitionsOf = new Map<string, Set<number>>();

  observe(batch: LearnedBatch): void {
    const nn = batch.scores.find((s) => s.model === 'nn')!;
    batch.accepted.forEach(({ example, source }, i) => {
      const key = `${source.partition}:${source.offset}`;
      if (!this.partitionsOf.has(example.task)) this.partitionsOf.set(example.task, new Set());
      this.partitionsOf.get(example.task)!.add(source.partition);
      this.learned.set(key, (this.learned.get(key) ?? 0) + 1);
      let task = this.absoluteErrors.get(example.task);
      if (!task) this.absoluteErrors.set(example.task, (task = { sum: 0, count: 0, recent: [] }));
      const error = Math.abs(nn.predictions[i]! - example.y);
      task.sum += error;
      task.count += 1;
    });
  }

  get total(): number {
    let total = 0;
    for (const n of this.learned.values()) total += n;
    return total;
  }

  get twice(): number {
    let twice = 0;
    for (const n of this.learned.values()) if (n > 1) twice += n - 1;
    return twice;
  }

  /** The MAE over every task's records together. */
  pooledMae(): number {
    let sum = 0;
    let count = 0;
    for (const e of this.absoluteErrors.values()) {
      sum += e.sum;
      count += e.count;
    }
    return sum / count;
  }

  maeByTask(): Record<string, number> {
    return Object.fromEntries([...this.absoluteErrors].sort(([a], [b]) => (a < b ? -1 : 1)).map(([task, e]) => [task, e.sum / e.count]));
  }
}

/** The newest record of every key of a compacted topic, read from the beginning. */
export async function readCompacted(topic: string): Promise<Map<string, KafkaMessage>> {
  const admin = testKafka().admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const end = offsets.reduce((sum, p) => sum + Number(p.high), 0);
  const consumer = testKafka().consumer({ groupId: uniqueName('compacted-reader'), maxWaitTimeInMs: 100 });
  const latest = new Map<string, KafkaMessage>();
  let read = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        read = Number(message.offset) + 1;
        if (message.key) latest.set(message.key.toString(), message);
      },
    });
    await waitFor(() => read >= end, 60_000, `${topic} read to its end`);
  } finally {
    await consumer.disconnect();
  }
  return latest;
}

/** Bytes each task's newest state takes in the changelog (its record plus any chunks). */
export function stateBytesPerTask(latest: Map<string, KafkaMessage>): Record<string, number> {
  const bytes: Record<string, number> = {};
  for (const [key, message] of latest) {
    const task = key.split('\u0000')[0]!;
    bytes[task] = (bytes[task] ?? 0) + (message.value?.length ?? 0);
  }
  return bytes;
}

/** The learned count of each task's state in the changelog (unchunked states only: small models). */
export function learnedInChangelog(latest: Map<string, KafkaMessage>): Record<string, number> {
  const learned: Record<string, number> = {};
  for (const [key, message] of latest) {
    if (key.includes('\u0000') || !message.value) continue;
    const state = JSON.parse(gunzipSync(message.value).toString('utf8')) as { learned: number };
    learned[key] = state.learned;
  }
  return learned;
}

/** Largest pairwise distance between the running members' trunks. */
export function maxTrunkDistance(members: readonly RunningConsumer[]): number {
  const trunks = members.map((m) => m.session.network.network.trunkState());
  let max = 0;
  for (let i = 0; i < trunks.length; i++) for (let j = i + 1; j < trunks.length; j++) max = Math.max(max, trunkDistance(trunks[i]!, trunks[j]!));
  return max;
}
