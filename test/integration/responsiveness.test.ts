import { describe, expect, it } from 'vitest';
import { startConsumer } from '../../src/consumer-app.js';
import { defaultFriedmanOptions } from '../../src/demo/friedman.js';
import { syntheticRecords } from '../../src/demo/record-sources.js';
import type { LearnedBatch } from '../../src/pipeline/records.js';
import { groupOffsets, produceAll, type Offsets } from './faults/fault-helpers.js';
import { quietLogger, testConfig, uniqueName, waitFor } from './kafka-helpers.js';

const records = (count: number, seed: number): ReturnType<typeof syntheticRecords> =>
  syntheticRecords(count, { friedman: { ...defaultFriedmanOptions, seed }, malformedFraction: 0, maxRecordBytes: 65536 });

interface Probe {
  readonly path: string;
  sent: number;
  answered: number;
  failed: number;
  maxResponseMs: number;
  /** The longest time without an answer (from the start, between answers, to the stop). */
  longestSilenceMs: number;
  lastAnswerAt: number;
}

/**
 * GETs each path every `intervalMs` until stopped, never waiting for an answer before the next send; a stalled
 * event loop shows as a long response (the probe shares the consumer's loop, so it also sends late).
 */
function probeEvery(port: number, paths: readonly string[], intervalMs: number): { probes: Probe[]; stop: () => Promise<number> } {
  const started = performance.now();
  const probes: Probe[] = paths.map((path) => ({ path, sent: 0, answered: 0, failed: 0, maxResponseMs: 0, longestSilenceMs: 0, lastAnswerAt: started }));
  const inFlight: Promise<void>[] = [];
  const timer = setInterval(() => {
    for (const probe of probes) {
      probe.sent += 1;
      const sent = performance.now();
      inFlight.push(
        fetch(`http://127.0.0.1:${port}${probe.path}`, { signal: AbortSignal.timeout(30_000) })
          .then(async (response) => {
            await response.arrayBuffer();
            if (response.status === 200) probe.answered += 1;
            else probe.failed += 1;
            const now = performance.now();
            probe.maxResponseMs = Math.max(probe.maxResponseMs, now - sent);
            probe.longestSilenceMs = Math.max(probe.longestSilenceMs, now - probe.lastAnswerAt);
            probe.lastAnswerAt = now;
          })
          .catch(() => void (probe.failed += 1)),
      );
    }
  }, intervalMs);
  return {
    probes,
    /** Resolves with the probing time, ms, once every probe sent is answered. */
    stop: async () => {
      clearInterval(timer);
      const stoppedAt = performance.now();
      for (const probe of probes) probe.longestSilenceMs = Math.max(probe.longestSilenceMs, stoppedAt - probe.lastAnswerAt);
      await Promise.all(inFlight);
      return stoppedAt - started;
    },
  };
}

describe('learning never blocks the event loop', () => {
  it('answers /healthz and /metrics throughout a backlog replay with long fine-tuning phases', async () => {
    const topic = uniqueName('responsive-backlog');
    const total = 4_000;
    await produceAll(topic, [...records(total, 71)], 3);
    // Fine-tuning phases of 80 steps every 2 batches: learned in one go, each holds the event loop for seconds on a shared CPU.
    const config = testConfig(topic, { fineTune: { every: 2, steps: 80 } });
    let phases = 0;
    const consumer = await startConsumer(config, quietLogger, {
      // Phases run whole, or (lingerMs > 0, fineTune.yieldToRecords) begun and owed: a backlog pays them in its batches' turns.
      observers: [{ observe: (batch: LearnedBatch) => void (phases += batch.learned.reduce((n, l) => n + (l.fineTune ? 1 : (l.replay?.phasesBegun ?? 0)), 0)) }],
    });
    const port = consumer.metricsAddress.port;
    try {
      await waitFor(() => consumer.progress.totals.learned >= 200, 120_000, 'the first batches learned');
      const phasesBefore = phases;
      const probe = probeEvery(port, ['/healthz', '/metrics'], 50);
      await waitFor(() => phases - phasesBefore >= 6 || consumer.progress.totals.learned >= total, 300_000, 'six fine-tuning phases');
      const probedMs = await probe.stop();
      const scheduled = Math.floor(probedMs / 50);
      const ranPhases = phases - phasesBefore;
      console.log(
        `[responsiveness] ${ranPhases} fine-tuning phases of 80 steps in ${(probedMs / 1000).toFixed(1)} s of probing (${scheduled} probes due per path); ` +
          probe.probes
            .map((p) => `${p.path}: ${p.answered} of ${p.sent} answered, slowest ${p.maxResponseMs.toFixed(0)} ms, longest silence ${p.longestSilenceMs.toFixed(0)} ms`)
            .join('; '),
      );
      expect(ranPhases).toBeGreaterThanOrEqual(6);
      for (const p of probe.probes) {
        expect(p.failed).toBe(0);
        expect(p.answered).toBe(p.sent);
        // The probe's own timer shares the event loop: held for whole phases, it fires a fraction of its due times.
        expect(p.sent).toBeGreaterThanOrEqual(scheduled / 4);
        // Generous for a CPU shared with other work (one SGD step can take ~0.5 s there); a phase learned in one go
        // holds the loop for seconds.
        expect(p.maxResponseMs).toBeLessThan(1_500);
        expect(p.longestSilenceMs).toBeLessThan(1_500);
      }
    } finally {
      await consumer.stop();
    }
  });

  it('checkpoints and commits an idle stream on a timer, so lag reaches 0 once it is drained', async () => {
    const topic = uniqueName('responsive-idle');
    const total = 1_500;
    await produceAll(topic, [...records(total, 72)], 3);
    // Checkpoints by count only far apart: without the idle timer the last batches' offsets stay uncommitted.
    const config = testConfig(topic, { checkpoint: { every: 1_000, intervalSeconds: 1 }, ntkgp: { enabled: false } });
    const consumer = await startConsumer(config, quietLogger);
    try {
      await waitFor(() => consumer.progress.totals.learned >= total, 180_000, `${total} learned`);
      const learnedAt = performance.now();
      // Every partition that holds records committed up to its end (an empty one has nothing to commit).
      const drained = (o: Offsets): boolean => Object.entries(o.end).every(([p, end]) => end === 0n || o.committed[Number(p)] === end);
      await waitFor(async () => drained(await groupOffsets(topic, config.kafka.groupId)), 20_000, 'every offset committed');
      console.log(`[responsiveness] idle stream: every offset committed ${((performance.now() - learnedAt) / 1000).toFixed(1)} s after the last record was learned`);
      expect(consumer.totalLag()).toBe(0);
    } finally {
      await consumer.stop();
    }
  });
});
