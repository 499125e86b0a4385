import { describe, expect, it } from 'vitest';
import { startConsumer, type RunningConsumer } from '../../../src/consumer-app.js';
import { defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { syntheticRecords } from '../../../src/demo/record-sources.js';
import { quietLogger, testConfig, uniqueName, waitFor } from '../kafka-helpers.js';
import { produceAll, tempDir } from '../faults/fault-helpers.js';
import { LearnedLedger, learnedInChangelog, maxTrunkDistance, readCompacted, stateBytesPerTask } from './state-helpers.js';
import { loadavg } from 'node:os';

const partitions = 6;
const tasks = ['t0', 't1', 't2', 't3', 't4', 't5'];
const recordCount = 60_000;
const trunkSyncBatches = 20;

function memberConfig(topic: string, groupId: string, name: string): ReturnType<typeof testConfig> {
  return testConfig(topic, {
    kafka: { topic, groupId, sessionTimeoutMs: 10_000, maxWaitTimeMs: 100 },
    checkpoint: { dir: tempDir(`state-${name}`), every: 20, intervalSeconds: 5 },
    model: { backend: 'cpu', hidden: [32, 32], seed: 42 },
    ntkgp: { window: 64 },
    batch: { size: 64, lingerMs: 200 },
    state: { trunkSyncBatches },
    serving: { publishPredictions: false },
  });
}

const learnedBy = (members: Iterable<RunningConsumer>): number => {
  let total = 0;
  for (const m of members) total += m.totals.learned;
  return total;
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

    // One member over the whole stream: the reference MAE per task and the 1-member throughput.
    const single = new LearnedLedger();
    const singleGroup = `${topic}-single`;
    const alone = await startConsumer(memberConfig(topic, singleGroup, 'single'), quietLogger, { observers: [single] });
    await waitFor(() => alone.session.position.batches > 0, 120_000, 'the single member to start learning');
    const singleStarted = performance.now();
    const singleFrom = alone.totals.learned;
    await waitFor(() => alone.totals.learned >= recordCount, 600_000, 'the single member to learn the stream');
    const singleRate = (alone.totals.learned - singleFrom) / ((performance.now() - singleStarted) / 1000);
    const singleLoad = loadavg()[0]!;
    await alone.stop();

    // The same stream under another group: one member, then three, then one again.
    const scaled = new LearnedLedger();
    const groupId = `${topic}-scaled`;
    const a = await startConsumer(memberConfig(topic, groupId, 'a'), quietLogger, { observers: [scaled] });
    await waitFor(() => scaled.total >= recordCount / 4, 600_000, 'a quarter of the stream on one member');
    const joiners = await Promise.all(['b', 'c'].map((n) => startConsumer(memberConfig(topic, groupId, n), quietLogger, { observers: [scaled] })));
    const distances: number[] = [];
    const sampler = setInterval(() => distances.push(maxTrunkDistance([a, ...joiners])), 250);
    await waitFor(() => joiners.every((m) => m.totals.learned >= 3000), 600_000, 'b and c to learn 3,000 records each');
    clearInterval(sampler);
    const restoredOnJoin = joiners.map((m) => m.restores.reduce((sum, r) => sum + r.restored, 0));
    await Promise.all(joiners.map((m) => m.stop()));
    await waitFor(() => scaled.total >= recordCount, 600_000, 'a to finish the stream alone');
    await a.stop();

    // Three members from the start, for throughput and the trunks' distance over a long shared phase.
    const threeGroup = `${topic}-three`;
    const three = await Promise.all(['x', 'y', 'z'].map((n) => startConsumer(memberConfig(topic, threeGroup, n), quietLogger)));
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
    const singleMae = single.maeByTask();
    const scaledMae = scaled.maeByTask();
    const ratios = Object.fromEntries(tasks.map((t) => [t, scaledMae[t]! / singleMae[t]!]));
    const pooledRatio = scaled.pooledMae() / single.pooledMae();
    console.log(
      JSON.stringify(
        {
          records: recordCount,
          single: { learned: single.total, twice: single.twice, records_per_s: Math.round(singleRate), load1: singleLoad },
          scaled: { learned: scaled.total, distinct: scaled.learned.size, twice: scaled.twice, restoredOnJoin },
          three: { records_per_s: Math.round(threeRate), ratio_vs_single: threeRate / singleRate, load1: threeLoad },
          maeSingle: singleMae,
          maeScaled: scaledMae,
          maeRatio: ratios,
          pooledMae: { single: single.pooledMae(), scaled: scaled.pooledMae(), ratio: pooledRatio },
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

    expect(single.total).toBe(recordCount);
    expect(single.twice).toBe(0);
    expect(scaled.total).toBe(recordCount);
    expect(scaled.learned.size).toBe(recordCount);
    expect(scaled.twice).toBe(0);
    // The joiners took over tasks a had learned: their heads came from the changelog, not fresh.
    expect(restoredOnJoin.reduce((s, n) => s + n, 0)).toBeGreaterThan(0);
    // As good as one member. Per task, two runs of ONE member over the same stream already differ by up to 17%
    // (a task alone on its partition is learned in fetch-sized runs whose interleaving with the other partitions
    // depends on timing), so the 10% bound is on the MAE over all tasks, which two single-member runs keep within
    // ~3%. Per task only a wrecked model is caught here (1.32 has been seen for one moved task); that moved tasks
    // kept their state is asserted above by the joiners' restores.
    expect(Math.abs(pooledRatio - 1)).toBeLessThan(0.1);
    for (const task of tasks) expect(ratios[task]!).toBeLessThan(1.5);
    // The states in the changelog account for every record exactly once.
    expect(Object.values(learnedPerTask).reduce((s, n) => s + n, 0)).toBe(recordCount);
    // Model averaging keeps the members' trunks within a few periods' worth of learning of each other.
    expect(merges.every((n) => n > 0)).toBe(true);
    expect(Math.max(...threeDistances)).toBeLessThan(3 * periodMovement);
  }, 1_800_000);
});
