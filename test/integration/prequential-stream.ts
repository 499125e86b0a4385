import type { Kafka } from 'kafkajs';
import { RunningMoments } from '../../src/model/running-moments.js';
import { decodeRecord } from '../../src/pipeline/decode-record.js';
import type { Example } from '../../src/spec/example.js';
import { testKafka, uniqueName, waitFor } from './kafka-helpers.js';

/**
 * Consumes a topic from the beginning with a plain kafkajs consumer and hands
 * the records, in offset order, to `onExample` exactly as the pipeline would
 * see them: decoded with the consumer's decoder (bad records skipped and
 * counted) and with features standardised online (Welford moments, updated
 * then applied, as the scale stage does). Resolves when `expected` records
 * have been read. Use a one-partition topic to fix the order.
 */
export async function consumeExamples(
  topic: string,
  expected: number,
  inputDim: number,
  onExample: (example: Example) => void,
  kafka: Kafka = testKafka(),
  timeoutMs = 120_000,
): Promise<{ good: number; bad: number }> {
  const consumer = kafka.consumer({ groupId: uniqueName('prequential'), maxWaitTimeInMs: 100 });
  const moments = new RunningMoments(inputDim);
  let seen = 0;
  let good = 0;
  let failure: unknown;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic: t, partition, message }) => {
        if (seen >= expected) return;
        seen += 1;
        const decoded = decodeRecord(
          { topic: t, partition, offset: message.offset, key: message.key, value: message.value, timestamp: Number(message.timestamp) },
          { inputDim, maxRecordBytes: 64 * 1024 },
        );
        if (!decoded.ok || !decoded.labeled) return;
        good += 1;
        const { example } = decoded;
        moments.update(example.x);
        moments.standardize(example.x, example.x);
        try {
          onExample(example);
        } catch (error) {
          failure = error;
        }
      },
    });
    await waitFor(() => seen >= expected || failure !== undefined, timeoutMs, `${expected} records from ${topic}`);
  } finally {
    await consumer.disconnect();
  }
  if (failure !== undefined) throw failure;
  return { good, bad: seen - good };
}

/** Predict-then-learn over minibatches of `size`, keeping each record's absolute error. */
export class PrequentialBatcher {
  private pending: Example[] = [];
  readonly errors: { task: string; error: number }[] = [];

  constructor(
    private readonly size: number,
    private readonly model: { predict(batch: readonly Example[]): Float32Array; learn(batch: readonly Example[]): unknown },
  ) {}

  add(example: Example): void {
    this.pending.push(example);
    if (this.pending.length === this.size) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const predictions = this.model.predict(batch);
    batch.forEach((example, i) => this.errors.push({ task: example.task, error: Math.abs(predictions[i]! - example.y) }));
    this.model.learn(batch);
  }

  mae(task?: string): number {
    const chosen = task === undefined ? this.errors : this.errors.filter((e) => e.task === task);
    return chosen.reduce((sum, e) => sum + e.error, 0) / chosen.length;
  }
}
