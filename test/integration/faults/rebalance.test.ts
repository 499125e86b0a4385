import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { startConsumer, type RunningConsumer } from '../../../src/consumer-app.js';
import { defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { syntheticRecords, type OutgoingRecord } from '../../../src/demo/record-sources.js';
import { deadLetterHeaders } from '../../../src/kafka/dead-letter-publisher.js';
import { produceRecords } from '../../../src/demo/produce.js';
import { ensureTopics } from '../../../src/kafka/topics.js';
import { readTopic, testConfig, testKafka, uniqueName, waitFor } from '../kafka-helpers.js';
import { fullyCommitted, groupOffsets, tempDir } from './fault-helpers.js';

/** A logger that keeps every line, to count handovers and refused commits. */
function recordingLogger(name: string): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: pino({ name, level: 'info' }, sink), lines };
}

const partitions = 6;
const recordCount = 24_000;
/** Records per second, below what the three members learn together here, above what one start-up takes to miss. */
const productionRate = 800;

describe('rebalances: two consumers, then three, then one', () => {
  it('learns every record exactly once across the group (handover before every rejoin)', async () => {
    const topic = uniqueName('faults-rebalance');
    const groupId = `${topic}-group`;
    const records: OutgoingRecord[] = [
      ...syntheticRecords(recordCount, {
        friedman: { ...defaultFriedmanOptions, drift: 'none', tasks: ['t0', 't1', 't2', 't3', 't4', 't5'], seed: 31 },
        malformedFraction: 0.05,
        maxRecordBytes: 64 * 1024,
      }),
    ];
    const badCount = records.filter((r) => r.expectedReason !== undefined).length;
    const goodCount = recordCount - badCount;
    const kafka = testKafka();
    await ensureTopics(kafka, [topic], partitions);

    // Each member has its own checkpoint dir: its model is its own, only the partitions' offsets move.
    const start = (name: string): Promise<{ consumer: RunningConsumer; lines: string[] }> => {
      const config = testConfig(topic, {
        kafka: { topic, groupId, sessionTimeoutMs: 10_000, maxWaitTimeMs: 100 },
        checkpoint: { dir: tempDir(`rebalance-${name}`), every: 20, intervalSeconds: 5 },
        model: { backend: 'cpu', hidden: [32, 32] },
        ntkgp: { window: 64 },
        batch: { size: 64, lingerMs: 200 },
      });
      const { logger, lines } = recordingLogger(name);
      return startConsumer(config, logger).then((consumer) => ({ consumer, lines }));
    };
    const members = new Map<string, { consumer: RunningConsumer; lines: string[] }>();
    const progress = (): number => {
      let total = 0;
      for (const { consumer } of members.values()) total += consumer.session.position.learned + consumer.session.position.deadLettered;
      return total;
    };
    const timeline: string[] = [];
    const mark = (what: string): void => void timeline.push(`${what} at ${progress()} records`);

    try {
      const [a, b] = await Promise.all([start('a'), start('b')]);
      members.set('a', a).set('b', b);
      await waitFor(() => [a, b].every((m) => m.lines.some((l) => l.includes('"msg":"joined consumer group"'))), 120_000, 'a and b to join');
      mark('a, b joined');
      // Records keep arriving through every membership change, so each one moves partitions with records in flight.
      const produced = produceRecords(kafka, records, { topic, rate: productionRate });
      await waitFor(() => progress() >= recordCount * 0.25, 300_000, 'a quarter of the stream');
      members.set('c', await start('c'));
      mark('c started');
      await waitFor(
        () => progress() >= recordCount * 0.6 && members.get('c')!.consumer.session.position.learned > 0,
        300_000,
        '60% of the stream, and c to learn',
      );
      mark('b, c stopping');
      await Promise.all([members.get('b')!.consumer.stop(), members.get('c')!.consumer.stop()]);
      mark('b, c stopped');
      expect(await produced).toBe(recordCount);
      // The last records may sit in no checkpoint yet: a's final checkpoint (at stop) commits them.
      const { end } = await groupOffsets(topic, groupId);
      const survivor = members.get('a')!.consumer;
      await waitFor(
        () => Object.entries(end).every(([p, offset]) => survivor.session.position.offsetOf(topic, Number(p)) === String(offset)),
        180_000,
        'a to learn up to the end of every partition',
      );
      await survivor.stop();
      expect(fullyCommitted(await groupOffsets(topic, groupId))).toBe(true);
      mark('a stopped');

      const counts = [...members].map(([name, { consumer, lines }]) => ({
        name,
        learned: consumer.session.position.learned,
        deadLettered: consumer.session.position.deadLettered,
        handovers: lines.filter((l) => l.includes('rebalance handover: learned records')).length,
        refusedCommits: lines.filter((l) => l.includes('offset commit refused') || l.includes('handover could not commit')).length,
        lateRejoins: lines.filter((l) => l.includes('did not finish in time')).length,
      }));
      const learned = counts.reduce((n, c) => n + c.learned, 0);
      const deadLettered = counts.reduce((n, c) => n + c.deadLettered, 0);
      const dead = await readTopic(`${topic}.dlq`, badCount, 120_000);
      const sources = new Set(dead.map((m) => `${String(m.headers?.[deadLetterHeaders.sourcePartition])}:${String(m.headers?.[deadLetterHeaders.sourceOffset])}`));
      console.log(
        [
          `[faults/rebalance] ${recordCount} records (${goodCount} good, ${badCount} bad) on ${partitions} partitions; ${timeline.join('; ')}`,
          ...counts.map((c) => `[faults/rebalance] member ${c.name}: ${JSON.stringify(c)}`),
          `[faults/rebalance] learned ${learned} of ${goodCount} good, dead-lettered ${deadLettered} of ${badCount} bad; ` +
            `dead-letter topic ${dead.length} messages for ${sources.size} distinct records`,
        ].join('\n'),
      );
      expect(counts.reduce((n, c) => n + c.handovers, 0)).toBeGreaterThan(0);
      expect(counts.every((c) => c.lateRejoins === 0 && c.refusedCommits === 0)).toBe(true);
      expect(learned).toBe(goodCount);
      expect(deadLettered).toBe(badCount);
      expect(sources.size).toBe(badCount);
      expect(dead.length).toBe(badCount);
    } catch (error) {
      const offsets = await groupOffsets(topic, groupId).catch(() => undefined);
      console.log(`[faults/rebalance] FAILED; ${timeline.join('; ')}; offsets ${JSON.stringify(offsets, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
      for (const [name, { consumer, lines }] of members) {
        console.log(`[faults/rebalance] member ${name} position ${JSON.stringify(consumer.session.position.toJSON())}`);
        for (const line of lines.filter((l) => !l.includes('"drift detected"')).slice(-60)) console.log(`[faults/rebalance] ${name}: ${line.slice(0, 600)}`);
      }
      throw error;
    } finally {
      await Promise.allSettled([...members.values()].map(({ consumer }) => consumer.stop()));
    }
  });
});
