import { describe, expect, it } from 'vitest';
import { defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { syntheticRecords, type OutgoingRecord } from '../../../src/demo/record-sources.js';
import { deadLetterHeaders } from '../../../src/kafka/dead-letter-publisher.js';
import { readTopic, sampleValue, uniqueName, waitFor } from '../kafka-helpers.js';
import { learnedInChangelog, readCompacted } from '../state/state-helpers.js';
import { ConsumerProcess, fullyCommitted, groupOffsets, latestCheckpoint, localBroker, produceAll, sleep, tempDir, writePipeline } from './fault-helpers.js';

const processed = (metrics: string | undefined): number =>
  ['learned', 'dead_lettered'].reduce((n, result) => n + (sampleValue(metrics ?? '', 'tangent_records_total', { result }) ?? 0), 0);

/** Waits until the consumer has learned or dead-lettered `count` records, failing at once if it exits. */
async function untilProcessed(consumer: ConsumerProcess, count: number, what: string): Promise<void> {
  await waitFor(
    async () => {
      if (!consumer.running) throw new Error(`consumer exited early:\n${consumer.stderr}`);
      return processed(await consumer.scrape()) >= count;
    },
    240_000,
    what,
  );
}

describe('broker failure', () => {
  it('the broker killed (SIGKILL) and restarted on its data mid-run: the consumer reconnects and finishes, nothing lost or learned twice', async (context) => {
    const broker = localBroker();
    // Only the local broker of infra/kafka can be killed and restarted from here (not KAFKA_BROKERS, not a container).
    if (!broker) context.skip();
    const topic = uniqueName('faults-broker');
    const groupId = `${topic}-group`;
    const recordCount = 30_000;
    const records: OutgoingRecord[] = [
      ...syntheticRecords(recordCount, { friedman: { ...defaultFriedmanOptions, seed: 17 }, malformedFraction: 0.05, maxRecordBytes: 64 * 1024 }),
    ];
    const badCount = records.filter((r) => r.expectedReason !== undefined).length;
    await produceAll(topic, records, 3);
    const dir = tempDir('broker');
    const pipeline = writePipeline(dir, {
      kafka: { topic, groupId },
      model: { backend: 'cpu', hidden: [32, 32] },
      ntkgp: { window: 64 },
      checkpoint: { dir, every: 20, intervalSeconds: 2 },
      metrics: { port: 0 },
      summaryIntervalSeconds: 0,
    });
    const consumer = new ConsumerProcess(pipeline);
    try {
      await untilProcessed(consumer, recordCount * 0.25, 'a quarter of the stream');
      const atKill = processed(await consumer.scrape());
      broker!.kill9();
      const killedAt = performance.now();
      await sleep(5_000); // the consumer meets connection errors, retries, and keeps its state
      expect(consumer.running, consumer.stderr).toBe(true);
      broker!.restartKeepingData();
      const downSeconds = (performance.now() - killedAt) / 1000;
      let lastProcessed = 0;
      await waitFor(
        async () => {
          if (!consumer.running) throw new Error(`consumer exited after the broker restart:\n${consumer.stderr}\n${consumer.stdout.slice(-4000)}`);
          lastProcessed = processed(await consumer.scrape());
          return lastProcessed >= recordCount;
        },
        300_000,
        'the whole stream after the broker restart',
      );
      const recoveredSeconds = (performance.now() - killedAt) / 1000;
      consumer.kill('SIGTERM');
      expect((await consumer.exited).code, consumer.stderr).toBe(0);

      const position = latestCheckpoint(dir, groupId)!.state.position;
      expect(position).toMatchObject({ learned: recordCount - badCount, deadLettered: badCount });
      expect(lastProcessed).toBe(recordCount); // this process alone: no record went through the pipeline twice
      expect(fullyCommitted(await groupOffsets(topic, groupId))).toBe(true);
      const dead = await readTopic(`${topic}.dlq`, badCount, 120_000);
      const sources = new Set(dead.map((m) => `${String(m.headers?.[deadLetterHeaders.sourcePartition])}:${String(m.headers?.[deadLetterHeaders.sourceOffset])}`));
      expect(sources.size).toBe(badCount);
      const logs = consumer.logs();
      const warnings = logs.filter((l) => Number(l.level) >= 40).length;
      const handovers = logs.find((l) => l.msg === 'stopped')?.rebalanceHandovers;
      const rejoins = logs.filter((l) => l.msg === 'joined consumer group').length - 1;
      console.log(
        `[faults/broker] broker SIGKILLed after ${atKill} of ${recordCount} records, down ${downSeconds.toFixed(1)} s (restart on its data included); ` +
          `the consumer (never restarted) finished ${recoveredSeconds.toFixed(1)} s after the kill: ${position.learned} learned + ${position.deadLettered} dead-lettered, ` +
          `dead-letter topic ${dead.length} messages for ${sources.size} records; ${rejoins} rejoins, ${String(handovers)} handovers, ` +
          `${warnings} warning/error log lines`,
      );
    } finally {
      consumer.kill('SIGKILL');
      // Leave a broker behind for the other tests whatever happened.
      if (broker && broker.pid() === undefined) broker.restartKeepingData();
    }
  });

  it('a stop asked for while the broker is down, past kafkajs\' retries, waits for it and then puts its checkpoint\'s task states in the changelog', async (context) => {
    const broker = localBroker();
    if (!broker) context.skip();
    const topic = uniqueName('faults-broker-stop');
    const groupId = `${topic}-group`;
    const recordCount = 3_000;
    const records = [...syntheticRecords(recordCount, { friedman: { ...defaultFriedmanOptions, seed: 23 }, malformedFraction: 0, maxRecordBytes: 64 * 1024 })];
    await produceAll(topic, records, 1);
    const dir = tempDir('broker-stop');
    // No checkpoint before the stop's: the task states reach the changelog only through the one the stop stores.
    const pipeline = writePipeline(dir, {
      kafka: { topic, groupId },
      model: { backend: 'cpu', hidden: [32, 32] },
      ntkgp: { enabled: false },
      checkpoint: { dir, every: 0, intervalSeconds: 0 },
      metrics: { port: 0 },
      summaryIntervalSeconds: 0,
    });
    const consumer = new ConsumerProcess(pipeline);
    try {
      await untilProcessed(consumer, recordCount, 'the whole stream learned');
      broker!.kill9();
      consumer.kill('SIGTERM');
      // kafkajs gives a send up after its own retries (about a minute): past them, the stop waits for the broker, not fails.
      const resent = (): number => consumer.logs().filter((l) => l.msg === 'brokers unreachable: task states will be sent again').length;
      await waitFor(
        () => {
          if (!consumer.running) throw new Error(`consumer exited during the outage:\n${consumer.stderr}\n${consumer.stdout.slice(-3000)}`);
          return resent() >= 2;
        },
        180_000,
        'the task states to be sent again',
      );
      broker!.restartKeepingData();
      expect((await consumer.exited).code, consumer.stderr).toBe(0);
      const learned = learnedInChangelog(await readCompacted(`${groupId}.state`));
      console.log(`[faults/broker] stop during the outage: exit 0 after the restart; changelog ${JSON.stringify(learned)} after ${resent()} resend(s)`);
      expect(Object.values(learned).reduce((a, b) => a + b, 0)).toBe(recordCount);
      // The file checkpoint too (written before the send); the group's commit may be refused by then (the outage outlasted the session), which the stop logs.
      expect(latestCheckpoint(dir, groupId)!.state.position.learned).toBe(recordCount);
    } finally {
      consumer.kill('SIGKILL');
      if (broker && broker.pid() === undefined) broker.restartKeepingData();
    }
  });
});
