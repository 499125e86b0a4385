/**
 * A producer process for the latency and soak benchmarks: sends the Friedman
 * stream at a steady rate (0 = as fast as the broker takes it), every record's
 * `ts` stamped right before the request that carries it. Forked by
 * startPacedProducer (bench/lib/kafka.ts) with its options as argv[2];
 * reports progress and the result over IPC.
 */
import { defaultFriedmanOptions, FriedmanStream } from '../../src/demo/friedman.js';
import { sleep } from './common.js';
import { benchKafka, benchProducer, type PacedProducerOptions, type PacedProducerResult } from './kafka.js';

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2]!) as PacedProducerOptions;
  const tickMs = options.tickMs ?? 10;
  const stream = new FriedmanStream({ ...defaultFriedmanOptions, seed: options.seed, drift: 'none' });
  const producer = benchProducer(benchKafka(options.brokers));
  await producer.connect();
  const started = performance.now();
  let sent = 0;
  let sends = 0;
  let lastReport = 0;
  let slowestSend = { ms: 0, atSecond: 0, records: 0 };
  const maxChunk = 500;
  try {
    while (sent < options.count) {
      const elapsed = performance.now() - started;
      const due = options.rate > 0 ? Math.min(options.count, Math.floor((elapsed / 1000) * options.rate)) - sent : maxChunk;
      if (due <= 0) {
        await sleep(Math.max(1, Math.min(tickMs, ((sent + 1) / options.rate) * 1000 - elapsed)));
        continue;
      }
      const n = Math.min(due, maxChunk, options.count - sent);
      const ts = Date.now();
      const messages = Array.from({ length: n }, () => {
        const record = stream.next();
        return { key: record.task, value: JSON.stringify({ ...record, ts }) };
      });
      const sendStarted = performance.now();
      await producer.send({ topic: options.topic, acks: -1, messages });
      const sendMs = performance.now() - sendStarted;
      if (sendMs > slowestSend.ms) slowestSend = { ms: sendMs, atSecond: (sendStarted - started) / 1000, records: n };
      sent += n;
      sends += 1;
      if (performance.now() - lastReport > 250) {
        lastReport = performance.now();
        process.send?.({ type: 'progress', sent });
      }
    }
  } finally {
    await producer.disconnect();
  }
  const seconds = (performance.now() - started) / 1000;
  const result: PacedProducerResult = { sent, seconds, achievedRate: sent / seconds, sends, slowestSend };
  process.send?.({ type: 'progress', sent });
  process.send?.({ type: 'done', result });
}

main().then(
  () => process.disconnect?.(),
  (error: unknown) => {
    process.stderr.write(`[paced-producer] ${String((error as Error).stack ?? error)}\n`);
    process.exit(1);
  },
);
