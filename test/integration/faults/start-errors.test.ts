import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { syntheticRecords } from '../../../src/demo/record-sources.js';
import { uniqueName, waitFor } from '../kafka-helpers.js';
import { ConsumerProcess, produceAll, sleep, tempDir, writePipeline } from './fault-helpers.js';

/** Runs `tangent run` and waits for its exit, killing it (and failing) if it has not exited in `withinMs`. */
async function exitOf(pipeline: string, withinMs = 60_000, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = new ConsumerProcess(pipeline, env);
  const timeout = sleep(withinMs).then(() => 'timeout' as const);
  const result = await Promise.race([child.exited, timeout]);
  if (result === 'timeout') {
    child.kill('SIGKILL');
    await child.exited;
    throw new Error(`tangent run did not exit within ${withinMs} ms; stderr:\n${child.stderr}`);
  }
  return { code: result.code, stderr: child.stderr, stdout: child.stdout };
}

function base(dir: string, topic: string): Record<string, unknown> {
  return {
    kafka: { topic, groupId: `${topic}-group` },
    model: { backend: 'cpu', hidden: [16] },
    ntkgp: { enabled: false },
    checkpoint: { dir },
    metrics: { port: 0 },
    summaryIntervalSeconds: 0,
  };
}

describe('start-up errors name the real cause', () => {
  it('refuses water marks that would stall a count-based batcher (lingerMs 0, low below batch.size − 1)', async () => {
    const dir = tempDir('watermarks');
    const topic = uniqueName('faults-watermarks');
    const doc = { ...base(dir, topic), kafka: { topic, groupId: `${topic}-group`, highWaterMark: 20, lowWaterMark: 10 }, batch: { size: 64, lingerMs: 0 } };
    const { code, stderr } = await exitOf(writePipeline(dir, doc));
    expect(code).toBe(2);
    expect(stderr).toContain('kafka.lowWaterMark');
    expect(stderr).toContain('lingerMs');
  });

  it('a metrics port in use fails the start naming the port and EADDRINUSE, before touching Kafka', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const dir = tempDir('port');
      const topic = uniqueName('faults-port');
      // The port from the file, not from a TANGENT_METRICS_PORT the test runner may have.
      const { code, stderr } = await exitOf(writePipeline(dir, { ...base(dir, topic), metrics: { port } }), 60_000, { TANGENT_METRICS_PORT: '' });
      expect(code).toBe(2);
      expect(stderr).toContain('metrics.port');
      expect(stderr).toContain('EADDRINUSE');
      expect(stderr).not.toContain('Consumer group was not initialized');
    } finally {
      blocker.close();
    }
  });

  it('a checkpoint directory under a file, or one that cannot be created (/proc), fails fast naming checkpoint.dir', async () => {
    const dir = tempDir('notdir');
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const underFile = await exitOf(writePipeline(dir, { ...base(join(file, 'checkpoints'), uniqueName('faults-notdir')) }));
    expect(underFile.code).toBe(2);
    expect(underFile.stderr).toContain('checkpoint.dir');
    expect(underFile.stderr).toContain('is a file, not a directory');

    const proc = await exitOf(writePipeline(dir, { ...base('/proc/tangent-checkpoints', uniqueName('faults-proc')) }), 30_000);
    expect(proc.code).toBe(2);
    expect(proc.stderr).toContain('checkpoint.dir');
  });

  it('a group id that would leave checkpoint.dir (../) is refused', async () => {
    const dir = tempDir('escape');
    const inner = join(dir, 'inner');
    const topic = uniqueName('faults-escape');
    const { code, stderr } = await exitOf(writePipeline(dir, { ...base(inner, topic), kafka: { topic, groupId: '../escaped' } }));
    expect(code).toBe(2);
    expect(stderr).toContain('kafka.groupId');
    expect(existsSync(join(dir, 'escaped'))).toBe(false);
  });

  it('a second member sharing the checkpoint directory without an instanceId is refused with a clear error', async () => {
    const dir = tempDir('shared');
    const topic = uniqueName('faults-shared');
    await produceAll(topic, [...syntheticRecords(2_000, { friedman: { ...defaultFriedmanOptions, seed: 2 }, malformedFraction: 0, maxRecordBytes: 65536 })], 2);
    const pipeline = writePipeline(dir, base(dir, topic));
    const first = new ConsumerProcess(pipeline);
    try {
      await waitFor(() => first.hasLogged('consuming') || !first.running, 60_000, 'the first member consuming');
      expect(first.running, first.stderr).toBe(true);
      const second = await exitOf(pipeline);
      expect(second.code).not.toBe(0);
      expect(second.stderr).toContain('in use by another member');
      expect(second.stderr).toContain('instanceId');
      expect(first.running).toBe(true);
    } finally {
      first.kill('SIGTERM');
      await first.exited;
    }
  });
});
