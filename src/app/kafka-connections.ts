import { Partitioners, type Admin, type Consumer, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { deadLetterTopicOf, eventsTopicOf, predictionsTopicOf, stateTopicOf, trunkTopicOf, type PipelineConfig } from '../config/pipeline-config.js';
import { CompactedTopicView } from '../kafka/compacted-topic-view.js';
import { connectWithin, createGroupConsumer, createKafka } from '../kafka/kafka-client.js';
import { PredictionsThread } from '../kafka/predictions-thread.js';
import { compactedTopicConfig, ensureTopics, prepareTopics, topicMaxMessageBytes } from '../kafka/topics.js';

/** Partitions for topics tangent creates itself (records, dead letters, events). */
const createdTopicPartitions = 3;

/** A topic this consumer writes, with the largest message it accepts. */
export interface OutputTopic {
  readonly name: string;
  readonly maxMessageBytes: number;
}

export interface KafkaConnections {
  readonly consumer: Consumer;
  readonly producer: Producer;
  readonly admin: Admin;
  readonly deadLetters: OutputTopic;
  readonly events: string;
  /** Publishes predictions, from a thread of its own; present with `serving.publishPredictions`. */
  readonly predictions: PredictionsThread | undefined;
  /** The task states' changelog, with `state.changelog`. */
  readonly state: OutputTopic | undefined;
  /** The trunk topic, with `state.trunkSyncBatches` > 0. */
  readonly trunk: OutputTopic | undefined;
  /** Reads the state topics (present when either is). */
  readonly stateView: CompactedTopicView | undefined;
  disconnect(): Promise<unknown>;
}

/**
 * Reaches the brokers (within `kafka.connectTimeoutMs`), prepares the topics this consumer reads and
 * writes, and connects its consumer, producer, admin and state view. On failure, whatever connected
 * is disconnected again before the error is thrown.
 */
export async function connectKafka(config: PipelineConfig, logger: Logger): Promise<KafkaConnections> {
  const kafka = createKafka(config.kafka, logger);
  const deadLetterTopic = deadLetterTopicOf(config.kafka);
  const events = eventsTopicOf(config);
  const predictionsTopic = config.serving.publishPredictions ? predictionsTopicOf(config) : undefined;
  const consumer = createGroupConsumer(kafka, config.kafka);
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const admin = kafka.admin();
  const stateTopic = config.state.changelog ? stateTopicOf(config) : undefined;
  const trunkTopic = config.state.trunkSyncBatches > 0 ? trunkTopicOf(config) : undefined;
  const stateTopics = [...(stateTopic ? [stateTopic] : []), ...(trunkTopic ? [trunkTopic] : [])];
  let stateView: CompactedTopicView | undefined;
  let predictions: PredictionsThread | undefined;
  const disconnect = (): Promise<unknown> =>
    Promise.allSettled([
      consumer.disconnect(),
      producer.disconnect(),
      admin.disconnect(),
      ...(stateView ? [stateView.stop()] : []),
      ...(predictions ? [predictions.stop()] : []),
    ]);
  try {
    const probe = await connectWithin(config.kafka, logger, config.kafka.connectTimeoutMs);
    try {
      const outputs = [deadLetterTopic, events, ...(predictionsTopic ? [predictionsTopic] : [])];
      await prepareTopics(probe, { input: config.kafka.topic, createInput: config.kafka.createTopics, outputs, partitions: createdTopicPartitions }, config.kafka.brokers);
    } finally {
      await probe.disconnect();
    }
    const deadLetterMaxBytes = await topicMaxMessageBytes(kafka, deadLetterTopic);
    // One partition each: every member reads all of it (a task's state must be found by whoever gets its partition).
    if (stateTopics.length > 0) await ensureTopics(kafka, stateTopics, 1, compactedTopicConfig);
    const state = stateTopic ? { name: stateTopic, maxMessageBytes: await topicMaxMessageBytes(kafka, stateTopic) } : undefined;
    const trunk = trunkTopic ? { name: trunkTopic, maxMessageBytes: await topicMaxMessageBytes(kafka, trunkTopic) } : undefined;
    await Promise.all([consumer.connect(), producer.connect(), admin.connect()]);
    if (predictionsTopic) predictions = await PredictionsThread.start({ kafka: config.kafka, topic: predictionsTopic, logLevel: logger.level });
    if (stateTopics.length > 0) {
      stateView = new CompactedTopicView(kafka, admin, stateTopics, config.kafka.groupId, logger);
      await stateView.start();
    }
    return { consumer, producer, admin, deadLetters: { name: deadLetterTopic, maxMessageBytes: deadLetterMaxBytes }, events, predictions, state, trunk, stateView, disconnect };
  } catch (error) {
    await disconnect();
    throw error;
  }
}
