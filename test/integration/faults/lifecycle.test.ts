import { describe, expect, it } from 'vitest';
import { defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { produceRecords } from '../../../src/demo/produce.js';
import { syntheticRecords, type OutgoingRecord } from '../../../src/demo/record-sources.js';
import { ensureTopics } from '../../../src/kafka/topics.js';
import { sampleValue, testKafka, uniqueName, waitFor } from '../kafka-helpers.js';
import {
  ConsumerProcess,
  fullyCommitted,
  groupOffsets,
  latestCheckpoint,
  produceAll,
  residentBytes,
  sleep,
  tempDir,
  writePipeline,
} from './fault-helpers.js';

const processed = (metrics: string | undefined): number =>
  ['learned', 'dead_lettered'].reduce((n, result) => n + (sampleValue(metrics ?? '', 'tangent_records_total', { result }) ?? 0), 0);

describe('process lifecycle', () => {
  it('SIGTERM mid-stream: exit 0, a final checkpoint, committed offsets equal to its offsets; a restart finishes the stream exactly once', async () => {
    const topic = uniqueName('faults-sigterm');
    const groupId = `${topic}-group`;
    const recordCount = 20_000;
    const records: OutgoingRecord[] = [
      ...syntheticRecords(recordCount, { friedman: { ...defaultFriedmanOptions, seed: 12 }, malformedFraction: 0.05, maxRecordBytes: 64 * 1024 }),
    ];
    const badCount = records.filter((r) => r.expectedReason !== undefined).length;
    await produceAll(topic, records, 3);
    const dir = tempDir('sigterm');
    // Production-like settings (linger, checkpoints by count and time), a smaller model for speed.
    const pipeline = writePipeline(dir, {
      kafka: { topic, groupId },
      model: { backend: 'cpu', hidden: [32, 32] },
      ntkgp: { window: 64 },
      checkpoint: { dir, every: 50, intervalSeconds: 5 },
      metrics: { port: 0 },
      summaryIntervalSeconds: 1,
    });

    const first = new ConsumerProcess(pipeline);
    await waitFor(
      async () => {
        if (!first.running) throw new Error(`consumer exited early:\n${first.stderr}`);
        return processed(await first.scrape()) >= recordCount * 0.3;
      },
      240_000,
      '30% of the stream',
    );
    const signalled = performance.now();
    first.kill('SIGTERM');
    const exit = await first.exited;
    const exitMs = performance.now() - signalled;
    expect(exit, first.stderr).toEqual({ code: 0, signal: null });
    expect(first.hasLogged('stopped')).toBe(true);

    const checkpoint = latestCheckpoint(dir, groupId);
    expect(checkpoint).toBeDefined();
    const { position } = checkpoint!.state;
    const { committed } = await groupOffsets(topic, groupId);
    const fromCheckpoint = Object.fromEntries(position.offsets.map((o) => [o.partition, BigInt(o.offset)]));
    expect(committed).toEqual(fromCheckpoint);
    // Every offset below the checkpoint's was learned or dead-lettered, once.
    const covered = Object.values(fromCheckpoint).reduce((a, b) => a + b, 0n);
    expect(BigInt(position.learned + position.deadLettered)).toBe(covered);
    expect(covered).toBeLessThan(BigInt(recordCount));

    const second = new ConsumerProcess(pipeline);
    await waitFor(
      async () => {
        if (!second.running) throw new Error(`consumer exited early:\n${second.stderr}`);
        return processed(await second.scrape()) + Number(covered) >= recordCount;
      },
      240_000,
      'the rest of the stream',
    );
    second.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(second.hasLogged('restored learning state from checkpoint')).toBe(true);
    const final = latestCheckpoint(dir, groupId)!.state.position;
    expect(final).toMatchObject({ learned: recordCount - badCount, deadLettered: badCount });
    expect(fullyCommitted(await groupOffsets(topic, groupId))).toBe(true);
    console.log(
      `[faults/sigterm] SIGTERM after ${covered} of ${recordCount} records: exit 0 in ${exitMs.toFixed(0)} ms, ` +
        `final checkpoint = committed offsets ${JSON.stringify(Object.fromEntries(Object.entries(committed).map(([p, o]) => [p, String(o)])))}; ` +
        `after a restart: ${final.learned} learned + ${final.deadLettered} dead-lettered = ${recordCount}`,
    );
  });

  it('a producer faster than the learner: the source pauses at the high-water mark, in-flight and RSS stay bounded', async () => {
    const topic = uniqueName('faults-backpressure');
    const groupId = `${topic}-group`;
    const kafka = testKafka();
    await ensureTopics(kafka, [topic], 1);
    const dir = tempDir('backpressure');
    // The source waits while a minibatch is learned, so the fetch loop itself keeps in-flight records to about a
    // batch and the asynchronous tail (dead letters, checkpoints); marks below one batch (64) make the pause/resume
    // path do the bounding (a partial batch then closes on batch.lingerMs).
    const highWaterMark = 48;
    const lowWaterMark = 16;
    const pipeline = writePipeline(dir, {
      kafka: { topic, groupId, highWaterMark, lowWaterMark },
      // The default model (hidden [64, 64], GP window 256): the slow learner.
      model: { backend: 'cpu' },
      checkpoint: { dir },
      metrics: { port: 0 },
      summaryIntervalSeconds: 0,
    });
    const consumer = new ConsumerProcess(pipeline, { TANGENT_LOG_LEVEL: 'debug' });
    await waitFor(() => consumer.hasLogged('joined consumer group') || !consumer.running, 120_000, 'the consumer to join');
    expect(consumer.running).toBe(true);
    await sleep(1_000);
    const baselineRss = residentBytes(consumer.pid)!;

    // 20% bad records: every batch waits for a dead-letter send, so the asynchronous tail has work to do.
    const total = 150_000;
    const produced = produceRecords(
      kafka,
      syntheticRecords(total, { friedman: { ...defaultFriedmanOptions, seed: 13 }, malformedFraction: 0.2, maxRecordBytes: 64 * 1024 }),
      // Small requests: a few too_large records (> 64 KiB each) must not push one request past the broker's 1 MB limit.
      { topic, rate: 0, chunkSize: 100 },
    );
    produced.catch(() => undefined); // awaited below; a failure must not surface as unhandled first
    let peakRss = baselineRss;
    let firstHalfPeakRss = baselineRss;
    let peakInFlight = 0;
    let pausedSamples = 0;
    let samples = 0;
    let producedAt: number | undefined;
    void produced.then(() => (producedAt = performance.now()));
    const started = performance.now();
    while (performance.now() - started < 40_000) {
      expect(consumer.running, consumer.stderr).toBe(true);
      peakRss = Math.max(peakRss, residentBytes(consumer.pid) ?? 0);
      if (performance.now() - started < 20_000) firstHalfPeakRss = peakRss;
      const metrics = await consumer.scrape();
      if (metrics) {
        samples += 1;
        peakInFlight = Math.max(peakInFlight, sampleValue(metrics, 'tangent_in_flight_records') ?? 0);
        if (sampleValue(metrics, 'tangent_source_paused') === 1) pausedSamples += 1;
      }
      await sleep(50);
    }
    const metrics = (await consumer.scrape())!;
    const learned = processed(metrics);
    const lag = sampleValue(metrics, 'tangent_consumer_lag_records', { topic, partition: '0' }) ?? Number.NaN;
    consumer.kill('SIGTERM');
    expect((await consumer.exited).code).toBe(0);
    expect(await produced).toBe(total);
    const pauses = consumer.logs().filter((l) => l.msg === 'paused: in-flight records above the high-water mark').length;
    const resumes = consumer.logs().filter((l) => l.msg === 'resumed: in-flight records below the low-water mark').length;
    const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
    console.log(
      `[faults/backpressure] producer: ${total} records in ${(((producedAt ?? performance.now()) - started) / 1000).toFixed(1)} s; ` +
        `learner: ${learned} records in 40 s (lag ${lag} at the end); high/low water marks ${highWaterMark}/${lowWaterMark}: ` +
        `${pauses} pauses, ${resumes} resumes, paused in ${pausedSamples} of ${samples} samples, peak in-flight ${peakInFlight}; ` +
        `RSS ${mib(baselineRss)} MiB idle, peak ${mib(firstHalfPeakRss)} MiB in the first 20 s, ${mib(peakRss)} MiB over 40 s`,
    );
    expect(learned).toBeLessThan(total); // the producer was faster
    // The source may cross the high-water mark and come back under it within one fetch (completions during its
    // heartbeats): it then resumes without pausing the consumer, so the paused gauge counts as well as the log.
    expect(pauses + pausedSamples).toBeGreaterThan(0);
    expect(resumes).toBeGreaterThan(0);
    // Bounds: in flight at most the high-water mark plus one fetch (kafkajs' maxBytesPerPartition, 1 MiB, ≈ 7,000 records of ~150 B);
    // memory: the idle process plus 256 MiB, whatever the backlog.
    expect(peakInFlight).toBeLessThanOrEqual(highWaterMark + 10_000);
    expect(peakRss - baselineRss).toBeLessThan(256 * 2 ** 20);
  });
});
