import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ConnectionOptions } from 'node:tls';
import { Kafka, logLevel, type Admin, type Consumer, type KafkaConfig as KafkaJsConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaConfig } from '../config/pipeline-config.js';
import { ConfigError, KafkaError } from '../errors.js';

const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

type Env = Readonly<Record<string, string | undefined>>;

// kafkajs' own table of protocol errors and whether it retries them (not part of its typed API).
const { errorCodes } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
  errorCodes: readonly { message: string; retriable: boolean }[];
};
const retriableProtocolMessages = errorCodes.filter((e) => e.retriable).map((e) => e.message);

/**
 * kafkajs logs every attempt it will retry at error level: a coordinator still
 * loading on a fresh broker, a connection refused while the broker starts. Those
 * are expected and go to info; what tangent cannot recover from surfaces as its
 * own error (the connect deadline, a pipeline failure).
 */
export function kafkaLogLevel(
  level: number,
  entry: { message: string; error?: unknown; retryCount?: unknown; retryTime?: unknown },
): 'error' | 'warn' | 'info' | 'debug' {
  const name = levelNames[level] ?? 'info';
  if (name !== 'error' && name !== 'warn') return name;
  const retrying = entry.retryCount !== undefined || entry.retryTime !== undefined;
  const transient =
    retrying ||
    entry.message.startsWith('Restarting the consumer') ||
    entry.message.startsWith('Connection error: ') ||
    entry.message === 'Connection timeout' ||
    retriableProtocolMessages.some((m) => entry.message.includes(m) || (typeof entry.error === 'string' && entry.error.includes(m)));
  return transient ? 'info' : name;
}

/** What createKafka needs: where, who, and (optionally) how to authenticate. */
export type KafkaClientSettings = Pick<KafkaConfig, 'brokers' | 'clientId'> & Partial<Pick<KafkaConfig, 'sasl' | 'ssl'>>;

function readSecretFile(field: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    // The path and the reason, never the content.
    throw new ConfigError(field, `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/**
 * The TLS and SASL options for kafkajs, with the secrets read now: the SASL
 * password from its file or environment variable, the PEM files from disk.
 * Errors name the config field (and the file or variable), never a secret.
 */
export function kafkaSecurity(config: Partial<Pick<KafkaConfig, 'sasl' | 'ssl'>>, env: Env = process.env): Pick<KafkaJsConfig, 'ssl' | 'sasl'> {
  const security: Pick<KafkaJsConfig, 'ssl' | 'sasl'> = {};
  if (config.ssl?.enabled) {
    const { caFile, certFile, keyFile, rejectUnauthorized } = config.ssl;
    const tls: ConnectionOptions = { rejectUnauthorized };
    if (caFile) tls.ca = [readSecretFile('kafka.ssl.caFile', caFile)];
    if (certFile) tls.cert = readSecretFile('kafka.ssl.certFile', certFile);
    if (keyFile) tls.key = readSecretFile('kafka.ssl.keyFile', keyFile);
    security.ssl = tls;
  }
  if (config.sasl) {
    const { mechanism, username, passwordFile, passwordEnv } = config.sasl;
    let password: string;
    if (passwordFile !== undefined) {
      password = readSecretFile('kafka.sasl.passwordFile', passwordFile).replace(/\r?\n$/, '');
      if (password === '') throw new ConfigError('kafka.sasl.passwordFile', `${passwordFile} is empty`);
    } else {
      password = env[passwordEnv!] ?? '';
      if (password === '') throw new ConfigError('kafka.sasl.passwordEnv', `environment variable ${passwordEnv} is not set or empty`);
    }
    security.sasl = { mechanism, username, password } as SASLOptions;
  }
  return security;
}

/** The kafkajs client options of createKafka (exported so a test can see what reaches kafkajs). */
export function kafkaClientConfig(config: KafkaClientSettings, logger: Logger, env: Env = process.env): KafkaJsConfig {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return {
    clientId: config.clientId,
    brokers: config.brokers,
    ...kafkaSecurity(config, env),
    logLevel: logLevel.WARN,
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...extra } = log;
        kafkaLogger[kafkaLogLevel(level, log)](extra, message);
      },
  };
}

/** One kafkajs client per process, logging through tangent's structured logger; TLS and SASL when configured. */
export function createKafka(config: KafkaClientSettings, logger: Logger, env: Env = process.env): Kafka {
  return new Kafka(kafkaClientConfig(config, logger, env));
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

/**
 * Connects an admin client, trying again until `timeoutMs` has passed; then a
 * KafkaError naming the brokers and the last cause. The caller disconnects it.
 */
export async function connectWithin(config: KafkaClientSettings, logger: Logger, timeoutMs: number, env: Env = process.env): Promise<Admin> {
  // A client without kafkajs' own retries (about a minute): this loop owns the deadline.
  const kafka = new Kafka({ ...kafkaClientConfig(config, logger, env), retry: { retries: 0 } });
  const deadline = Date.now() + timeoutMs;
  let pauseMs = 250;
  for (;;) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      return admin;
    } catch (error) {
      await admin.disconnect().catch(() => undefined);
      if (Date.now() + pauseMs >= deadline) {
        throw new KafkaError(
          `cannot reach the Kafka brokers ${config.brokers.join(', ')} within ${Math.round(timeoutMs / 1000)} s (kafka.connectTimeoutMs): ${(error as Error).message}`,
          {},
          { retriable: true, cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      pauseMs = Math.min(pauseMs * 2, 2000);
    }
  }
}
