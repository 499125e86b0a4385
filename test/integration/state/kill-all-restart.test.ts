import { describe, expect, it } from 'vitest';
import { defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { syntheticRecords } from '../../../src/demo/record-sources.js';
import { testKafka, uniqueName, waitFor } from '../kafka-helpers.js';
import { ConsumerProcess, committedSum, endSum, fullyCommitted, groupOffsets, produceAll, tempDir, writePipeline } from '../faults/fault-helpers.js';
import { learnedInChangelog, readCompacted } from './state-helpers.js';

const partitions = 6;
const tasks = ['t0', 't1', 't2', 't3', 't4', 't5'];
const recordCount = 18_000;
const window = 300;

function pipelineFor(topic: string, groupId: string): Record<string, unknown> {
  return {
    kafka: { topic, groupId, maxWaitTimeMs: 100, sessionTimeoutMs: 6_000 },
    model: { backend: 'cpu', hidden: [32, 32], seed: 42 },
    ntkgp: { window: 64 },
    batch: { size: 64, lingerMs: 200 },
    checkpoint: { dir: tempDir('kill-all'), every: 10, intervalSeconds: 2 },
    metrics: { port: 0 },
    summaryIntervalSeconds: 0,
  };
}

/** Every record of a topic as partition:offset → value. */
async function readAll(topic: string, expected: number): Promise<Map<string, Buffer>> {
  const consumer = testKafka().consumer({ groupId: uniqueName('read-all'), maxWaitTimeInMs: 100 });
  const all = new Map<string, Buffer>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => void all.set(`${partition}:${message.offset}`, message.value!) });
    await waitFor(() => all.size >= expected, 120_000, `${expected} records of ${topic}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  } finally {
    await consumer.disconnect();
  }
  return all;
}

describe('all members killed, restarted with new ids and empty directories', () => {
  it('resume from the state in Kafka (no fresh model) and finish with every record learned exactly once', async () => {
    const topic = uniqueName('state-kill-all');
    const groupId = `${topic}-group`;
    await produceAll(
      topic,
      [...syntheticRecords(recordCount, { friedman: { ...defaultFriedmanOptions, drift: 'none', tasks, seed: 9 }, malformedFraction: 0, maxRecordBytes: 64 * 1024 })],
      partitions,
    );
    const first = ['a', 'b', 'c'].map((id) => new ConsumerProcess(writePipeline(tempDir(`kill-all-${id}`), pipelineFor(topic, groupId)), { TANGENT_INSTANCE_ID: id, TANGENT_METRICS_PORT: '0' }));
    let atKill: Awaited<ReturnType<typeof groupOffsets>>;
    try {
      await waitFor(
        async () => {
          for (const p of first) if (!p.running) throw new Error(`member exited early:\n${p.stderr}\n${p.stdout.slice(-2000)}`);
          return committedSum(await groupOffsets(topic, groupId)) >= BigInt(recordCount / 4);
        },
        900_000,
        'a quarter of the stream committed',
      );
    } finally {
      for (const p of first) p.kill('SIGKILL');
    }
    await Promise.all(first.map((p) => p.exited));
    atKill = await groupOffsets(topic, groupId);
    // The tasks whose state reached Kafka before the kill (one whose partition never checkpointed has none: it starts fresh).
    const inKafkaAtKill = new Set(Object.keys(learnedInChangelog(await readCompacted(`${groupId}.state`))));

    // New instance ids, new (empty) checkpoint directories: only Kafka holds the state.
    const stateMetrics: { restored: number; published: number; bytes: number }[] = [];
    const second = ['d', 'e', 'f'].map((id) => new ConsumerProcess(writePipeline(tempDir(`kill-all-${id}`), pipelineFor(topic, groupId)), { TANGENT_INSTANCE_ID: id, TANGENT_METRICS_PORT: '0' }));
    try {
      await waitFor(
        async () => {
          for (const p of second) if (!p.running) throw new Error(`member exited early:\n${p.stderr}\n${p.stdout.slice(-2000)}`);
          return fullyCommitted(await groupOffsets(topic, groupId));
        },
        900_000,
        'the whole stream committed after the restart',
      );
      // The changelog's traffic as the members export it.
      for (const p of second) {
        const text = await (await fetch(`http://127.0.0.1:${p.metricsPort!}/metrics`)).text();
        const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
        stateMetrics.push({ restored: value('tangent_state_tasks_restored_total'), published: value('tangent_state_tasks_published_total'), bytes: value('tangent_state_published_bytes_total') });
      }
    } finally {
      for (const p of second) p.kill('SIGTERM');
      await Promise.all(second.map((p) => p.exited));
    }
    const restoredTasks = second.flatMap((p) =>
      p.logs().flatMap((l) => (l.msg === 'restored the assigned partitions' ? ((l.restoredTasks as string[] | undefined) ?? []) : [])),
    );
    const trunkAdopted = second.filter((p) => p.hasLogged("started from the group's newest merged trunk")).length;

    // Exactly once, in the state itself: the learned counts in the changelog add up to the log (a producer retry
    // under load may have written a record twice: the log, not the generator, is what the members read).
    const learned = learnedInChangelog(await readCompacted(`${groupId}.state`));
    const inLog = Number(endSum(await groupOffsets(topic, groupId)));

    // Windowed MAE of the network per task: the first records of the stream (a fresh model), the
    // records just before the kill's committed offsets, and just after them (the restored model).
    const sources = await readAll(topic, inLog);
    const predictions = await readAll(`${topic}.predictions`, inLog);
    const errors = new Map<string, { offset: bigint; partition: number; error: number }[]>();
    for (const [, value] of predictions) {
      const p = JSON.parse(value.toString()) as { task: string; source: { partition: number; offset: string }; nn: number };
      const y = (JSON.parse(sources.get(`${p.source.partition}:${p.source.offset}`)!.toString()) as { y: number }).y;
      const list = errors.get(p.task) ?? [];
      // A record predicted again after the kill: the later prediction (by the restored model) replaces the earlier.
      const at = list.findIndex((e) => e.offset === BigInt(p.source.offset));
      const entry = { offset: BigInt(p.source.offset), partition: p.source.partition, error: Math.abs(p.nn - y) };
      if (at >= 0) list[at] = entry;
      else list.push(entry);
      errors.set(p.task, list);
    }
    const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
    const windows = Object.fromEntries(
      tasks.map((task) => {
        const list = errors.get(task)!.sort((x, y) => (x.offset < y.offset ? -1 : 1));
        const cut = BigInt(atKill.committed[list[0]!.partition]!);
        const after = list.filter((e) => e.offset >= cut).slice(0, window);
        const before = list.filter((e) => e.offset < cut).slice(-window);
        return [task, { fresh: mean(list.slice(0, window).map((e) => e.error)), before: mean(before.map((e) => e.error)), after: mean(after.map((e) => e.error)) }];
      }),
    );
    console.log(JSON.stringify({ inLog, stateMetrics, inKafkaAtKill: [...inKafkaAtKill], atKillCommitted: committedSum(atKill).toString(), restoredTasks, trunkAdopted, learnedInChangelog: learned, windows }, null, 1));

    expect(inKafkaAtKill.size).toBeGreaterThanOrEqual(2);
    expect(new Set(restoredTasks)).toEqual(inKafkaAtKill);
    expect(trunkAdopted).toBeGreaterThan(0);
    // Every restored task counted once by the member that restored it; states published, and their bytes.
    expect(stateMetrics.reduce((s, m) => s + m.restored, 0)).toBe(restoredTasks.length);
    for (const m of stateMetrics) if (m.published > 0) expect(m.bytes / m.published).toBeGreaterThan(1000);
    expect(stateMetrics.reduce((s, m) => s + m.published, 0)).toBeGreaterThan(0);
    expect(inLog).toBeGreaterThanOrEqual(recordCount);
    expect(Object.values(learned).reduce((s, n) => s + n, 0)).toBe(inLog);
    // Over the tasks restored from Kafka (a task whose partition had no checkpoint at the kill has no window before it).
    const compared = [...inKafkaAtKill].filter((t) => Number.isFinite(windows[t]!.before) && Number.isFinite(windows[t]!.after));
    expect(compared.length).toBeGreaterThanOrEqual(2);
    const avg = (k: 'fresh' | 'before' | 'after'): number => mean(compared.map((t) => windows[t]![k]));
    // Right after the restart the model is as good as before the kill, not back to a fresh model's error.
    expect(avg('after')).toBeLessThan(avg('before') * 1.25);
    expect(avg('after')).toBeLessThan(avg('fresh') * 0.8);
  }, 1_800_000);
});
