import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, IHeaders, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { ChangelogEntry } from '../checkpoint/state-changelog.js';
import { KafkaError } from '../errors.js';
import { retrying } from './retrying.js';

function headerStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = first.toString();
  }
  return out;
}

/**
 * The newest record of every key of some compacted topics, read from the
 * beginning and kept current — the local view a Kafka Streams member keeps of
 * its changelogs. It reads as a consumer of its own throw-away group (it never
 * commits), so every member sees every key.
 */
export class CompactedTopicView {
  private readonly latest = new Map<string, Map<string, ChangelogEntry>>();
  private readonly nextOffsets = new Map<string, bigint>();
  private readonly waiters = new Set<() => void>();
  private readonly consumer: Consumer;
  private failed: Error | undefined;

  constructor(
    kafka: Kafka,
    private readonly admin: Admin,
    readonly topics: readonly string[],
    groupPrefix: string,
    private readonly logger: Logger,
  ) {
    for (const topic of topics) this.latest.set(topic, new Map());
    this.consumer = kafka.consumer({ groupId: `${groupPrefix}.view.${randomUUID()}`, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    for (const topic of this.topics) await this.consumer.subscribe({ topic, fromBeginning: true });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.failed = payload.error;
      for (const wake of this.waiters) wake();
    });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        const key = message.key?.toString('utf8');
        if (key !== undefined) {
          const entries = this.latest.get(topic)!;
          if (message.value === null) entries.delete(key);
          else entries.set(key, { value: message.value, headers: headerStrings(message.headers) });
        }
        this.nextOffsets.set(`${topic}:${partition}`, BigInt(message.offset) + 1n);
        for (const wake of this.waiters) wake();
      },
    });
  }

  /** Resolves once everything written to the topics before the call has been read. */
  async caughtUp(timeoutMs = 60_000): Promise<void> {
    const targets: [string, bigint][] = [];
    for (const topic of this.topics) {
      for (const p of await retrying(() => this.admin.fetchTopicOffsets(topic))) {
        if (BigInt(p.high) > BigInt(p.low)) targets.push([`${topic}:${p.partition}`, BigInt(p.high)]);
      }
    }
    const done = (): boolean => targets.every(([key, high]) => (this.nextOffsets.get(key) ?? 0n) >= high);
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (this.failed) throw new KafkaError(`cannot read ${this.topics.join(', ')}: ${this.failed.message}`, {}, { cause: this.failed });
      if (Date.now() > deadline) throw new KafkaError(`reading ${this.topics.join(', ')} did not catch up within ${timeoutMs} ms`, {}, { retriable: true });
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, 200);
        this.waiters.add(wake);
      });
    }
    this.logger.debug({ topics: this.topics }, 'state view caught up');
  }

  get(topic: string, key: string): ChangelogEntry | undefined {
    return this.latest.get(topic)?.get(key);
  }

  keys(topic: string): string[] {
    return [...(this.latest.get(topic)?.keys() ?? [])];
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
