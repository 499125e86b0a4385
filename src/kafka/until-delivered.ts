import type { Logger } from 'pino';

/** kafkajs errors that say a broker could not be reached or did not answer, rather than that it refused the request. */
const unreachableNames = new Set(['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', 'KafkaJSBrokerNotFound']);

/** Whether the error, or an error it was caused by, is one of kafkajs' broker-unreachable errors. */
export function brokersUnreachable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (unreachableNames.has(e.name)) return true;
  }
  return false;
}

export interface UntilDeliveredOptions {
  /** Told of each attempt that found the brokers unreachable, and how long until the next. */
  readonly retrying: (error: unknown, pauseMs: number) => void;
  readonly maxPauseMs?: number;
}

/** Options that warn at each attempt the brokers were unreachable, naming the topic and what will be sent again. */
export function warnEachRetry(logger: Logger, topic: string, what: string): UntilDeliveredOptions {
  return { retrying: (error, pauseMs) => logger.warn({ err: error, topic, retryInMs: pauseMs }, `brokers unreachable: ${what} will be sent again`) };
}

/**
 * Sends until the brokers take it. kafkajs gives a send up after its own retries (about a minute,
 * sooner when the whole cluster is down); a broker restart can take longer, and an output the
 * pipeline must deliver before it commits cannot be dropped. So a send that failed only because
 * the brokers were out of reach is tried again, with a growing pause, for as long as it takes:
 * the pipeline waits meanwhile (and /healthz reports the stall). Any other error is thrown.
 */
export async function untilDelivered<T>(send: () => Promise<T>, options: UntilDeliveredOptions): Promise<T> {
  const maxPauseMs = options.maxPauseMs ?? 5_000;
  for (let pauseMs = 250; ; pauseMs = Math.min(pauseMs * 2, maxPauseMs)) {
    try {
      return await send();
    } catch (error) {
      if (!brokersUnreachable(error)) throw error;
      options.retrying(error, pauseMs);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}
