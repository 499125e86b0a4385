import { describe, expect, it } from 'vitest';
import { startConsumer, type RunningConsumer } from '../../../src/consumer-app.js';
import { defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { syntheticRecords } from '../../../src/demo/record-sources.js';
import { quietLogger, testConfig, uniqueName, waitFor } from '../kafka-helpers.js';
import { produceAll, tempDir } from '../faults/fault-helpers.js';
import { LearnedLedger, learnedInChangelog, maxTrunkDistance, readCompacted, stateBytesPerTask } from './state-helpers.js';
import { loadavg } from 'node:os';

const partitions = 6;
// Keyed by task, these six land on six different partitions under the default partitioner (murmur2 of the key):
// every partition has work, and each of three members owns two tasks.
const tasks = ['task-0', 'task-1', 'task-4', 'task-5', 'task-6', 'task-7'];
const recordCount = 60_000;
const trunkSyncBatches = 20;
/** Single-member runs over the same stream: the spread one member has by itself, run to run. */
const singleDraws = 2;

function memberConfig(topic: string, groupId: string, name: string): ReturnType<typeof testConfig> {
  return testConfig(topic, {
    kafka: { topic, groupId, sessionTimeoutMs: 10_000, maxWaitTimeMs: 100 },
    checkpoint: { dir: tempDir(`state-${name}`), every: 20, intervalSeconds: 5 },
    model: { backend: 'cpu', hidden: [32, 32], seed: 42 },
    ntkgp: { window: 64 },
    // Count-based minibatches: a linger closes batches by the clock, which differs from run to run. (`untilEnd`
    // closes the stream's last partial batch once nothing else is learned.)
    batch: { size: 64, lingerMs: 0 },
    state: { trunkSyncBatches },
    serving: { publishPredictions: false },
  });
}

const learnedBy = (members: Iterable<RunningConsumer>): number => {
  let total = 0;
  for (const m of members) total += m.totals.learned;
  return total;
};

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

describe('state follows partitions (real broker, 6 partitions, 6 tasks)', () => {
  it('1 → 3 → 1 members: every record learned once, each task as good as on one member; 3 vs 1 throughput; trunks kept close', async () => {
    const topic = uniqueName('state-scale');
    const records = [
      ...syntheticRecords(recordCount, {
        friedman: { ...defaultFriedmanOptions, drift: 'none', tasks, seed: 5 },
        malformedFraction: 0,
        maxRecordBytes: 64 * 1024,
      }),
    ];
    await produceAll(topic, records, partitions);

    // One member over the whole stream, several times: each task's MAE on one member, with its run-to-run spread.
    const singles: LearnedLedger[] = [];
    let singleRate = 0;
    let singleLoad = 0;
    for (let draw = 0; draw < singleDraws; draw++) {
      const single = new LearnedLedger();
      const alone = await startConsumer(memberConfig(topic, `${topic}-single-${draw}`, `single-${draw}`), quietLogger, { observers: [single], untilEnd: true });
      await waitFor(() => alone.session.position.batches > 0, 120_000, 'the single member to start learning');
      const started = performance.now();
      const from = alone.totals.learned;
      await waitFor(() => alone.totals.learned >= recordCount, 600_000, 'the single member to learn the stream');
      if (draw === 0) {
        singleRate = (alone.totals.learned - from) / ((performance.now() - started) / 1000);
        singleLoad = loadavg()[0]!;
      }
      await alone.stop();
      singles.push(single);
    }

    // The same stream under another group: one member, then three, then one again.
    const scaled = new LearnedLedger();
    const groupId = `${topic}-scaled`;
    const a = await startConsumer(memberConfig(topic, groupId, 'a'), quietLogger, { observers: [scaled], untilEnd: true });
    await waitFor(() => scaled.total >= recordCount / 4, 600_000, 'a quarter of the stream on one member');
    const joiners = await Promise.all(['b', 'c'].map((n) => startConsumer(memberConfig(topic, groupId, n), quietLogger, { observers: [scaled], untilEnd: true })));
    const distances: number[] = [];
    const sampler = setInterval(() => distances.push(maxTrunkDistance([a, ...joiners])), 250);
    // Bounded by the stream's end as well: a joiner whose partitions ran dry must fail the assertions below, not hang here.
    await waitFor(
      () => joiners.every((m) => m.totals.learned >= 3000) || scaled.total >= recordCount,
      600_000,
      'b and c to learn 3,000 records each',
    );
    clearInterval(sampler);
    const learnedByJoiners = joiners.map((m) => m.totals.learned);
    const restoredOnJoin = joiners.map((m) => m.restores.reduce((sum, r) => sum + r.restored, 0));
    await Promise.all(joiners.map((m) => m.stop()));
    await waitFor(() => scaled.total >= recordCount, 600_000, 'a to finish the stream alone');
    await a.stop();

    // Three members from the start, for throughput and the trunks' distance over a long shared phase.
    const threeGroup = `${topic}-three`;
    const three = await Promise.all(['x', 'y', 'z'].map((n) => startConsumer(memberConfig(topic, threeGroup, n), quietLogger, { untilEnd: true })));
    await waitFor(() => three.every((m) => m.session.position.batches > 0), 120_000, 'all three to learn');
    const threeStarted = performance.now();
    const threeFrom = learnedBy(three);
    const threeDistances: number[] = [];
    const threeSampler = setInterval(() => threeDistances.push(maxTrunkDistance(three)), 250);
    await waitFor(() => learnedBy(three) >= recordCount, 600_000, 'three members to learn the stream');
    clearInterval(threeSampler);
    const threeRate = (learnedBy(three) - threeFrom) / ((performance.now() - threeStarted) / 1000);
    const threeLoad = loadavg()[0]!;
    await Promise.all(three.map((m) => m.stop()));

    const periodMovement = Math.max(...three.map((m) => m.trunkSync!.maxPeriodMovement));
    const merges = three.map((m) => m.trunkSync!.merges);
    const changelog = await readCompacted(`${groupId}.state`);
    const stateBytes = stateBytesPerTask(changelog);
    const learnedPerTask = learnedInChangelog(changelog);
    const singleMae = singles.map((s) => s.maeByTask());
    const scaledMae = scaled.maeByTask();
    // Per task: the single-member MAEs' median and range, and the scaled run against them.
    const reference = Object.fromEntries(
      tasks.map((t) => {
        const draws = singleMae.map((m) => m[t]!);
        return [t, { median: median(draws), low: Math.min(...draws), high: Math.max(...draws) }];
      }),
    );
    const ratioToMedian = Object.fromEntries(tasks.map((t) => [t, scaledMae[t]! / reference[t]!.median]));
    const singleSpread = Object.fromEntries(tasks.map((t) => [t, reference[t]!.high / reference[t]!.low]));
    const pooledRatio = scaled.pooledMae() / median(singles.map((s) => s.pooledMae()));
    const round = (values: Record<string, number>): Record<string, number> =>
      Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
    console.log(
      JSON.stringify(
        {
          records: recordCount,
          single: { draws: singles.map((s) => ({ learned: s.total, twice: s.twice })), records_per_s: Math.round(singleRate), load1: singleLoad },
          scaled: { learned: scaled.total, distinct: scaled.learned.size, twice: scaled.twice, learnedByJoiners, restoredOnJoin },
          three: { records_per_s: Math.round(threeRate), ratio_vs_single: threeRate / singleRate, load1: threeLoad },
          maeSingleDraws: singleMae.map(round),
          maeScaled: round(scaledMae),
          maeRatioToSingleMedian: round(ratioToMedian),
          singleSpreadMaxOverMin: round(singleSpread),
          pooledMae: { singleMedian: median(singles.map((s) => s.pooledMae())), scaled: scaled.pooledMae(), ratio: pooledRatio },
          trunkDistance: {
            scaledPhaseMax: Math.max(...distances),
            scaledPhaseLast: distances.at(-1),
            threeMembersMax: Math.max(...threeDistances),
            threeMembersMean: threeDistances.reduce((s, d) => s + d, 0) / threeDistances.length,
            samples: threeDistances.length,
            maxMovementInOnePeriod: periodMovement,
            merges,
          },
          stateBytesPerTask: stateBytes,
          learnedPerTaskInChangelog: learnedPerTask,
        },
        null,
        1,
      ),
    );

    // The layout the test relies on: one task per partition, all six partitions.
    expect(new Set(tasks.map((t) => [...singles[0]!.partitionsOf.get(t)!].join()))).toEqual(new Set(['0', '1', '2', '3', '4', '5']));
    for (const single of singles) {
      expect(single.total).toBe(recordCount);
      expect(single.twice).toBe(0);
    }
    expect(scaled.total).toBe(recordCount);
    expect(scaled.learned.size).toBe(recordCount);
    expect(scaled.twice).toBe(0);
    // Three members really shared the stream, and the joiners took over tasks a had learned: their heads came from
    // the changelog, not fresh.
    for (const learned of learnedByJoiners) expect(learned).toBeGreaterThanOrEqual(3000);
    for (const restored of restoredOnJoin) expect(restored).toBeGreaterThan(0);
    // Each task as good as on one member: its whole-stream prequential MAE within 10% of the single-member runs' —
    // at most 1.1 × the highest of them, at least 0.9 × the lowest. (Their spread is what one member varies by
    // itself, run to run; with the partitions' records interleaved it stays below 1%: singleSpreadMaxOverMin above.)
    for (const task of tasks) {
      const { low, high } = reference[task]!;
      expect(scaledMae[task]!, task).toBeLessThanOrEqual(1.1 * high);
      expect(scaledMae[task]!, task).toBeGreaterThanOrEqual(0.9 * low);
    }
    expect(Math.abs(pooledRatio - 1)).toBeLessThan(0.1);
    // The states in the changelog account for every record exactly once.
    expect(Object.values(learnedPerTask).reduce((s, n) => s + n, 0)).toBe(recordCount);
    // Model averaging keeps the members' trunks within a few periods' worth of learning of each other.
    expect(merges.every((n) => n > 0)).toBe(true);
    expect(Math.max(...threeDistances)).toBeLessThan(3 * periodMovement);
  }, 3_600_000);
});
