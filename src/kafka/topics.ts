import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { ConfigError, KafkaError, errorMessage } from '../errors.js';
import { retrying } from './retrying.js';

/** Creates the topics that are missing; existing topics are left as they are. */
export async function ensureTopics(
  kafka: Kafka,
  topics: readonly string[],
  partitions: number,
  configEntries: readonly { name: string; value: string }[] = [],
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // A broker that has just started may refuse a request it takes a moment later: retriable errors are retried.
    let attempted = false;
    await retrying(async () => {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t));
      if (missing.length === 0) {
        // An earlier attempt may have created them and failed before their leaders were elected.
        if (attempted) await waitForLeaders(admin, topics);
        return;
      }
      attempted = true;
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: -1, configEntries: [...configEntries] })),
        });
      } catch (cause) {
        // Members starting together race to create the same topics: the loser finds them created and waits for their leaders.
        const now = new Set(await admin.listTopics());
        if (!missing.every((t) => now.has(t))) throw cause;
        await waitForLeaders(admin, missing);
      }
    });
  } catch (cause) {
    throw new KafkaError(`cannot create topics ${topics.join(', ')}: ${errorMessage(cause)}`, {}, { retriable: true, cause });
  } finally {
    await admin.disconnect();
  }
}

/** Resolves once every partition of `topics` has a leader (a topic another client just created may not have them yet). */
async function waitForLeaders(admin: Admin, topics: readonly string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: described } = await admin.fetchTopicMetadata({ topics: [...topics] });
      if (described.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (error) {
      if (Date.now() >= deadline) throw error;
    }
    if (Date.now() >= deadline) throw new Error(`no leaders for ${topics.join(', ')} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Compacted topics keep the newest record of every key: what a changelog needs. */
export const compactedTopicConfig = [{ name: 'cleanup.policy', value: 'compact' }] as const;

/** The broker's default `max.message.bytes` (1 MiB + 12): what a topic without its own setting accepts per record batch. */
const defaultMaxMessageBytes = 1_048_588;

/**
 * The largest record batch a topic accepts (its `max.message.bytes`, which
 * falls back to the broker's `message.max.bytes`), read from the cluster so
 * producers can size their requests to it.
 */
export async function topicMaxMessageBytes(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }],
    });
    const value = Number(described.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
    return Number.isInteger(value) && value > 0 ? value : defaultMaxMessageBytes;
  } catch (cause) {
    throw new KafkaError(`cannot read max.message.bytes of ${topic}`, { topic }, { retriable: true, cause });
  } finally {
    await admin.disconnect();
  }
}

export interface TopicPlan {
  /** The topic tangent learns from. */
  readonly input: string;
  /** Create the input topic when missing (`kafka.createTopics`); otherwise a missing one is a config error. */
  readonly createInput: boolean;
  /** Topics tangent writes (dead letters, drift events): created when missing. */
  readonly outputs: readonly string[];
  readonly partitions: number;
}

/**
 * Checks the input topic exists (or creates it when asked) and creates the
 * missing output topics. Returns the input topic's partition count.
 */
export async function prepareTopics(admin: Admin, plan: TopicPlan, brokers: readonly string[]): Promise<number> {
  const existing = new Set(await admin.listTopics());
  if (!existing.has(plan.input) && !plan.createInput) {
    throw new ConfigError(
      'kafka.topic',
      `topic "${plan.input}" does not exist on ${brokers.join(', ')}: create it, or set kafka.createTopics: true to let tangent create it`,
    );
  }
  const missing = [plan.input, ...plan.outputs].filter((t) => !existing.has(t));
  if (missing.length > 0) {
    try {
      await retrying(() =>
        admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({ topic, numPartitions: plan.partitions, replicationFactor: -1 })),
        }),
      );
    } catch (cause) {
      throw new KafkaError(`cannot create topics ${missing.join(', ')}: ${errorMessage(cause)}`, {}, { retriable: true, cause });
    }
  }
  const metadata = await admin.fetchTopicMetadata({ topics: [plan.input] });
  return metadata.topics[0]?.partitions.length ?? 0;
}
