import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { defaultFriedmanOptions } from '../../src/demo/friedman.js';
import { syntheticRecords } from '../../src/demo/record-sources.js';
import type { RunSummary } from '../../src/metrics/run-summary.js';
import { brokers, uniqueName } from './kafka-helpers.js';
import { fullyCommitted, groupOffsets, latestCheckpoint, produceAll, repoRoot, tempDir, writePipeline } from './faults/fault-helpers.js';

/**
 * `tangent run --until-end` as a user runs it: a replay already in the topic
 * (three partitions, some malformed records), the CLI learns it, exits 0 on
 * its own and prints one JSON summary on stdout whose counts are the stream's.
 */
describe('tangent run --until-end', () => {
  it('learns up to the end offsets it started with, checkpoints, commits, prints the summary and exits 0', async () => {
    const topic = uniqueName('until-end');
    const records = [...syntheticRecords(1_500, { friedman: { ...defaultFriedmanOptions, seed: 12 }, malformedFraction: 0.02, maxRecordBytes: 64 * 1024 })];
    const bad = records.filter((r) => r.expectedReason !== undefined);
    await produceAll(topic, records, 3);
    const dir = tempDir('until-end');
    const groupId = `${topic}-group`;
    // lingerMs 0: the last partial batch only goes out because the end is reached.
    const pipeline = writePipeline(dir, {
      kafka: { topic, groupId },
      model: { backend: 'cpu', hidden: [16] },
      batch: { lingerMs: 0 },
      metrics: { port: 0 },
      checkpoint: { dir },
      summaryIntervalSeconds: 0,
    });
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'run', '--pipeline', pipeline, '--until-end'], {
      cwd: repoRoot,
      env: { ...process.env, KAFKA_BROKERS: brokers().join(','), TANGENT_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code, stderr).toBe(0);

    const lines = stdout.trim().split('\n');
    const summaries = lines.filter((l) => l.startsWith('{"summary":"until-end"'));
    expect(summaries).toHaveLength(1);
    const summary = JSON.parse(summaries[0]!) as RunSummary;
    console.log(`[until-end] ${summaries[0]}`);
    expect(summary.learned).toBe(records.length - bad.length);
    expect(summary.deadLettered).toBe(bad.length);
    expect(Object.values(summary.deadLettersByReason).reduce((a, b) => a + b, 0)).toBe(bad.length);
    for (const model of ['nn', 'ntkgp']) {
      const rows = summary.prequential.filter((p) => p.model === model);
      expect(rows.reduce((n, p) => n + p.records, 0)).toBe(summary.learned);
      for (const row of rows) expect(Number.isFinite(row.mae) && Number.isFinite(row.rmse)).toBe(true);
    }
    // The stop log agrees with the summary (one count behind both).
    const stopped = lines.filter((l) => l.includes('"msg":"stopped"')).map((l) => JSON.parse(l) as { learned: number; deadLettered: number });
    expect(stopped).toEqual([expect.objectContaining({ learned: summary.learned, deadLettered: summary.deadLettered })]);
    // Checkpointed and committed to the end.
    expect(fullyCommitted(await groupOffsets(topic, groupId))).toBe(true);
    expect(latestCheckpoint(dir, groupId)!.state.position.learned).toBe(summary.learned);
  });
});
