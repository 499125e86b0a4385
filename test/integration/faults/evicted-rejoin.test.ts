import { describe, expect, it } from 'vitest';
import { defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { syntheticRecords } from '../../../src/demo/record-sources.js';
import { sampleValue, uniqueName, waitFor } from '../kafka-helpers.js';
import { ConsumerProcess, fullyCommitted, groupOffsets, latestCheckpoint, produceAll, sleep, tempDir, writePipeline } from './fault-helpers.js';

const learnedOf = (metrics: string | undefined): number => sampleValue(metrics ?? '', 'tangent_records_total', { result: 'learned' }) ?? 0;

/**
 * A consumer frozen (SIGSTOP, as a long GC pause or a stalled node would) for longer than its
 * session timeout is forgotten by the group; on waking, kafkajs rejoins by itself (UNKNOWN_MEMBER_ID),
 * with no rebalance event for tangent's handover to run on. Records of a partial minibatch were
 * already in the pipeline: the join must not seek back below them and learn them twice.
 */
describe('a member the group forgot', () => {
  it('rejoins without learning the records in flight twice', async () => {
    const topic = uniqueName('faults-evicted');
    const groupId = `${topic}-group`;
    const first = 1_500;
    const second = 1_500;
    const stream = [...syntheticRecords(first + second, { friedman: { ...defaultFriedmanOptions, seed: 31 }, malformedFraction: 0, maxRecordBytes: 64 * 1024 })];
    await produceAll(topic, stream.slice(0, first), 1);
    const dir = tempDir('evicted');
    const pipeline = writePipeline(dir, {
      kafka: { topic, groupId, sessionTimeoutMs: 6_000, maxWaitTimeMs: 100 },
      model: { backend: 'cpu', hidden: [16, 16], seed: 3 },
      // Count-based batches of 1,000: after the first 1,500 records, 500 wait in the partial minibatch.
      batch: { size: 1_000, lingerMs: 0 },
      ntkgp: { enabled: false },
      checkpoint: { dir, every: 1, intervalSeconds: 0 },
      metrics: { port: 0 },
      summaryIntervalSeconds: 0,
    });
    const consumer = new ConsumerProcess(pipeline);
    try {
      await waitFor(
        async () => {
          if (!consumer.running) throw new Error(`consumer exited early:\n${consumer.stderr}`);
          return consumer.stderr.includes('tangent: learning on backend') && learnedOf(await consumer.scrape()) >= 1_000;
        },
        120_000,
        'the first full minibatch',
      );
      // Every record fetched: the rest of the first part sits in the partial minibatch.
      await sleep(2_000);
      const beforeFreeze = learnedOf(await consumer.scrape());
      expect(beforeFreeze).toBeLessThan(first);
      const joinsBefore = consumer.logs().filter((l) => l.msg === 'joined consumer group').length;

      consumer.kill('SIGSTOP');
      await sleep(15_000); // well past the 6 s session timeout: the group removes the member
      consumer.kill('SIGCONT');
      await waitFor(
        () => consumer.logs().filter((l) => l.msg === 'joined consumer group').length > joinsBefore,
        120_000,
        'the rejoin after the member was forgotten',
      );
      await produceAll(topic, stream.slice(first), 1);
      // The last partial minibatch is learned and committed by the graceful stop.
      await waitFor(async () => learnedOf(await consumer.scrape()) >= first + second - 1_000, 120_000, 'the second part');
      await sleep(2_000);
      consumer.kill('SIGTERM');
      const exit = await consumer.exited;
      expect(exit, consumer.stderr).toEqual({ code: 0, signal: null });

      const state = latestCheckpoint(dir, groupId)!.state;
      const offsets = await groupOffsets(topic, groupId);
      const rejoin = consumer.logs().find((l) => /not aware of this member/.test(String(l.msg)));
      console.log(
        `[faults/evicted] ${beforeFreeze} learned before a 15 s SIGSTOP (session timeout 6 s); rejoined (${rejoin ? 'UNKNOWN_MEMBER_ID' : 'other cause'}); ` +
          `final checkpoint: ${state.position.learned} learned for ${first + second} records, committed ${offsets.committed[0]} of ${offsets.end[0]}`,
      );
      expect(state.position.learned).toBe(first + second);
      expect(fullyCommitted(offsets)).toBe(true);
    } finally {
      consumer.kill('SIGCONT');
      consumer.kill('SIGKILL');
    }
  });
});
