import { Kafka, logLevel, type Consumer, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaConfig } from '../config/pipeline-config.js';

const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** One kafkajs client per process, logging through tangent's structured logger. */
export function createKafka(config: Pick<KafkaConfig, 'brokers' | 'clientId'>, logger: Logger): Kafka {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    logLevel: logLevel.WARN,
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...extra } = log;
        kafkaLogger[levelNames[level] ?? 'info'](extra, message);
      },
  });
}

/** A group consumer with the pipeline's session and fetch settings. */
export function createGroupConsumer(
  kafka: Kafka,
  config: Pick<KafkaConfig, 'groupId' | 'sessionTimeoutMs' | 'maxWaitTimeMs'>,
): Consumer {
  return kafka.consumer({
    groupId: config.groupId,
    sessionTimeout: config.sessionTimeoutMs,
    heartbeatInterval: Math.floor(config.sessionTimeoutMs / 3),
    maxWaitTimeInMs: config.maxWaitTimeMs,
    allowAutoTopicCreation: false,
  });
}
