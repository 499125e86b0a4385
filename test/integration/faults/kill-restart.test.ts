import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { syntheticRecords, type OutgoingRecord } from '../../../src/demo/record-sources.js';
import { deadLetterHeaders } from '../../../src/kafka/dead-letter-publisher.js';
import type { LearningState } from '../../../src/checkpoint/learning-state.js';
import { readTopic, uniqueName, waitFor } from '../kafka-helpers.js';
import {
  ConsumerProcess,
  committedSum,
  fullyCommitted,
  groupOffsets,
  latestCheckpoint,
  maxAbsDifference,
  networkWeights,
  produceAll,
  recordsInBatches,
  sleep,
  tempDir,
  writePipeline,
} from './fault-helpers.js';

/**
 * kill -9 of the consumer process at random points of a 50,560-record run,
 * restarted each time, against one uninterrupted run of the same stream:
 * the final checkpoints must hold the same counts and the same weights.
 *
 * One partition: with several, the interleaving of partitions in kafkajs'
 * fetches depends on timing, so count-based batches would mix different
 * records after a restart and SGD would take different steps (see
 * docs/reliability.md, "Deterministic mode").
 */
const batchSize = 64;
const checkpointEvery = 10;
/** 790 batches (the warm-up's 1, 2, 4, … 32 records, then full ones): the last checkpoint covers every record, no partial batch is left at the end. */
const batchCount = checkpointEvery * 79;
const recordCount = recordsInBatches(batchCount, batchSize);
const kills = 6;

function pipelineFor(topic: string, groupId: string, dir: string): Record<string, unknown> {
  return {
    // A killed member never leaves the group: its successor's join waits for the session timeout to evict it.
    kafka: { topic, groupId, deadLetterTopic: `${groupId}.dlq`, maxWaitTimeMs: 100, sessionTimeoutMs: 6_000 },
    // Deterministic mode: count-based batches only, the pure-JS backend, checkpoints by count.
    model: { backend: 'cpu', hidden: [32, 32], seed: 42 },
    batch: { size: batchSize, lingerMs: 0 },
    // Also on a timer, as in production: the stream's tail is committed by the idle checkpoint whatever the batch count.
    checkpoint: { dir, every: checkpointEvery, intervalSeconds: 5, keep: 3 },
    // Everything that learns stays on: fine-tuning phases, the NTK-GP (a smaller window for speed), both drift detectors.
    // Phases are deferred (fineTune.yieldToRecords, the default): their steps run between batches, and a checkpoint
    // captured after a batch that made one due holds the steps still owed. A phase every batch's worth of learned records,
    // as by default: with 5% of the records dead-lettered, nearly every batch makes one due, so nearly every checkpoint
    // owes steps, whenever drift-requested phases (which restart the count) came.
    fineTune: { every: 1, steps: 2, yieldToRecords: true },
    ntkgp: { enabled: true, window: 64 },
    drift: { detectors: [{ kind: 'adwin' }, { kind: 'page-hinkley' }], fineTuneOnDrift: true },
    metrics: { port: 0 },
    summaryIntervalSeconds: 0,
  };
}

async function runToEnd(pipeline: string, topic: string, groupId: string, timeoutMs: number): Promise<ConsumerProcess> {
  const consumer = new ConsumerProcess(pipeline);
  try {
    await waitFor(
      async () => {
        if (!consumer.running) throw new Error(`consumer exited early:\n${consumer.stderr}\n${consumer.stdout.slice(-3000)}`);
        // Its signal handlers are installed once it says it is learning; a SIGTERM before that would kill it outright.
        return consumer.stderr.includes('tangent: learning on backend') && fullyCommitted(await groupOffsets(topic, groupId));
      },
      timeoutMs,
      `${groupId} to commit every record`,
    );
  } catch (error) {
    // A stalled consumer says what it was doing last: its own log and what it exports.
    const metrics = await consumer.scrape();
    const progress = metrics?.split('\n').filter((l) => l.startsWith('tangent_') && !l.includes('_bucket'));
    consumer.kill('SIGKILL');
    throw new Error(
      `${String(error)}\ncommitted: ${JSON.stringify(await groupOffsets(topic, groupId), (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}\n` +
        `metrics: ${progress?.join('\n') ?? 'no answer'}\nstderr: ${consumer.stderr.slice(-2000)}\nlog tail:\n${consumer.stdout.slice(-6000)}`,
    );
  }
  consumer.kill('SIGTERM');
  const exit = await consumer.exited;
  expect(exit, consumer.stderr).toEqual({ code: 0, signal: null });
  return consumer;
}

function compareStates(reference: LearningState, recovered: LearningState): Record<string, boolean> {
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  return {
    featureMoments: same(reference.featureMoments, recovered.featureMoments),
    targetMoments: same(reference.network.targetMoments, recovered.network.targetMoments),
    replay: same(reference.network.replay, recovered.network.replay),
    fineTuneCounters: same(
      [reference.network.recordsSinceFineTune, reference.network.fineTunePending],
      [recovered.network.recordsSinceFineTune, recovered.network.fineTunePending],
    ),
    tasks: same(reference.tasks, recovered.tasks),
    gpWindows: same(
      reference.ntkgp?.tasks.map((t) => [t.task, t.gp.points, t.gp.targets, t.moments]),
      recovered.ntkgp?.tasks.map((t) => [t.task, t.gp.points, t.gp.targets, t.moments]),
    ),
    driftDetectors: same(reference.drift, recovered.drift),
  };
}

describe('kill -9 of the consumer process', () => {
  it(`at ${kills} random points of a ${recordCount.toLocaleString('en-US')}-record run: nothing lost, nothing learned twice, the same weights`, async () => {
    const topic = uniqueName('faults-kill');
    const records: OutgoingRecord[] = [
      ...syntheticRecords(recordCount, {
        friedman: { ...defaultFriedmanOptions, drift: 'abrupt', driftPositions: [Math.floor(recordCount / 3), Math.floor((2 * recordCount) / 3)], seed: 23 },
        malformedFraction: 0.05,
        maxRecordBytes: 64 * 1024,
      }),
    ];
    const badCount = records.filter((r) => r.expectedReason !== undefined).length;
    const goodCount = recordCount - badCount;
    await produceAll(topic, records, 1);

    // 1. The reference: one uninterrupted run.
    const referenceGroup = `${topic}-reference`;
    const referenceDir = tempDir('reference');
    const started = performance.now();
    await runToEnd(writePipeline(referenceDir, pipelineFor(topic, referenceGroup, referenceDir)), topic, referenceGroup, 400_000);
    const referenceSeconds = (performance.now() - started) / 1000;
    const reference = latestCheckpoint(referenceDir, referenceGroup)!.state;
    expect(reference.position).toMatchObject({ learned: goodCount, deadLettered: badCount, batches: batchCount });

    // 2. The same stream, killed with SIGKILL at random points and restarted each time.
    const crashGroup = `${topic}-crashed`;
    const crashDir = tempDir('crashed');
    const pipeline = writePipeline(crashDir, pipelineFor(topic, crashGroup, crashDir));
    // One kill while the consumer is starting or replaying, the others at random progress points spread over the stream.
    const targets = Array.from({ length: kills - 1 }, (_, i) => Math.floor(recordCount * (0.05 + (0.85 * (i + Math.random())) / (kills - 1))));
    const killLog: string[] = [];
    const crashStarted = performance.now();
    let restoredRuns = 0;
    let phaseKills = 0;
    let checkpointsOwing = 0;
    for (let k = 0; k < kills; k++) {
      const consumer = new ConsumerProcess(pipeline);
      const before = committedSum(await groupOffsets(topic, crashGroup));
      let extraDelay: number;
      if (k === 0) {
        await waitFor(() => consumer.hasLogged('joined consumer group') || !consumer.running, 120_000, 'the consumer to join');
        extraDelay = Math.floor(Math.random() * 1500);
      } else {
        // At least one checkpoint past the last kill, but never past the end: a fast consumer may already be close to it.
        const target = BigInt(
          Math.min(Math.max(targets[k - 1]!, Number(before) + batchSize * checkpointEvery), recordCount - batchSize * checkpointEvery),
        );
        await waitFor(
          async () => {
            if (!consumer.running) throw new Error(`consumer exited before the kill:\n${consumer.stderr}`);
            return committedSum(await groupOffsets(topic, crashGroup)) >= target;
          },
          240_000,
          `committed offset ${target}`,
        );
        extraDelay = Math.floor(Math.random() * 400);
      }
      await sleep(extraDelay);
      let when = `${extraDelay} ms after ${k === 0 ? 'joining' : 'the target'}`;
      if (k % 2 === 0 && k > 0) {
        // Every other kill lands inside a fine-tuning phase: the phase hands the event loop back between its
        // steps, so /metrics answers during it, and the kill follows the scrape that saw it running.
        const deadline = Date.now() + 60_000;
        let scraped: number | undefined;
        while (scraped === undefined) {
          if (!consumer.running) throw new Error(`consumer exited before the kill:\n${consumer.stderr}`);
          if (Date.now() > deadline) throw new Error('no fine-tuning phase seen in flight within 60 s');
          const body = await (await fetch(`http://127.0.0.1:${consumer.metricsPort}/metrics`)).text();
          if (/^tangent_fine_tune_in_progress 1$/m.test(body)) scraped = performance.now();
        }
        when = `inside a fine-tuning phase (${(performance.now() - scraped).toFixed(1)} ms after the scrape that saw it running), ${when}`;
        phaseKills += 1;
      }
      consumer.kill('SIGKILL');
      const exit = await consumer.exited;
      expect(exit.signal).toBe('SIGKILL');
      if (consumer.hasLogged('restored learning state from checkpoint')) restoredRuns += 1;
      const checkpoint = latestCheckpoint(crashDir, crashGroup);
      const owed = (checkpoint?.state.network.replayOwed?.phases ?? []).reduce((sum, p) => sum + p.steps - p.taken, 0);
      if (owed > 0) checkpointsOwing += 1;
      killLog.push(
        `kill ${k + 1}: ${when}, committed ${before} → ` +
          `${committedSum(await groupOffsets(topic, crashGroup))}, newest checkpoint at ${checkpoint?.state.position.offsets[0]?.offset ?? 'none'} owing ${owed} replay steps, ` +
          `${consumer.logs().filter((l) => l.msg === 'joined consumer group').length} group joins`,
      );
    }
    const final = await runToEnd(pipeline, topic, crashGroup, 400_000);
    const crashSeconds = (performance.now() - crashStarted) / 1000;
    expect(final.hasLogged('restored learning state from checkpoint')).toBe(true);
    const recovered = latestCheckpoint(crashDir, crashGroup)!.state;
    const leftovers = readdirSync(join(crashDir, crashGroup)).filter((name) => name.includes('.tmp-'));

    // Counts from the final state: every good record learned once, every bad one dead-lettered once.
    expect(recovered.position).toMatchObject({ learned: goodCount, deadLettered: badCount, batches: batchCount });
    expect(recovered.position.offsets).toEqual([{ topic, partition: 0, offset: String(recordCount) }]);
    const difference = maxAbsDifference(networkWeights(reference), networkWeights(recovered));
    const parts = compareStates(reference, recovered);
    // The dead-letter topic is at-least-once: a record dead-lettered after the last checkpoint before a kill is published again.
    const dead = await readTopic(`${crashGroup}.dlq`, badCount, 120_000);
    const sources = new Set(dead.map((m) => String(m.headers?.[deadLetterHeaders.sourceOffset])));
    console.log(
      [
        `[faults/kill] ${recordCount} records (${goodCount} good, ${badCount} bad), 1 partition, batch ${batchSize}, checkpoint every ${checkpointEvery} batches`,
        `[faults/kill] uninterrupted run ${referenceSeconds.toFixed(1)} s; killed run ${crashSeconds.toFixed(1)} s over ${kills + 1} processes (${restoredRuns} of the killed ones restored a checkpoint)`,
        ...killLog.map((l) => `[faults/kill] ${l}`),
        `[faults/kill] ${phaseKills} of the kills inside a fine-tuning phase; ${checkpointsOwing} of the checkpoints restored after a kill owed replay steps; the last process joined the group ${final.logs().filter((l) => l.msg === 'joined consumer group').length} time(s)`,
        `[faults/kill] max |Δweight| = ${difference} over ${networkWeights(reference).length} weights; identical parts: ${JSON.stringify(parts)}`,
        `[faults/kill] dead-letter topic: ${dead.length} messages for ${sources.size} distinct bad records (${dead.length - sources.size} re-published after kills)`,
        `[faults/kill] checkpoint dir after the kills: ${readdirSync(join(crashDir, crashGroup)).length} files, ${leftovers.length} temp files of killed writers`,
      ].join('\n'),
    );
    expect(difference).toBeLessThanOrEqual(1e-6);
    // The restart paid steps a checkpoint owed, at least once: the deferred phases were exercised, not skipped.
    expect(checkpointsOwing).toBeGreaterThan(0);
    expect(parts).toMatchObject({ featureMoments: true, targetMoments: true, replay: true, fineTuneCounters: true, tasks: true, gpWindows: true });
    expect(sources.size).toBe(badCount);
    expect(dead.length).toBeGreaterThanOrEqual(badCount);
    expect(fullyCommitted(await groupOffsets(topic, crashGroup))).toBe(true);
    expect(leftovers).toEqual([]);
  });
});
