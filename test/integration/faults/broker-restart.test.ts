import { describe, expect, it } from 'vitest';
import { defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { syntheticRecords, type OutgoingRecord } from '../../../src/demo/record-sources.js';
import { deadLetterHeaders } from '../../../src/kafka/dead-letter-publisher.js';
import { readTopic, sampleValue, uniqueName, waitFor } from '../kafka-helpers.js';
import { ConsumerProcess, fullyCommitted, groupOffsets, latestCheckpoint, localBroker, produceAll, sleep, tempDir, writePipeline } from './fault-helpers.js';

const processed = (metrics: string | undefined): number =>
  ['learned', 'dead_lettered'].reduce((n, result) => n + (sampleValue(metrics ?? '', 'tangent_records_total', { result }) ?? 0), 0);

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
      await waitFor(
        async () => {
          if (!consumer.running) throw new Error(`consumer exited early:\n${consumer.stderr}`);
          return processed(await consumer.scrape()) >= recordCount * 0.25;
        },
        240_000,
        'a quarter of the stream',
      );
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
});
