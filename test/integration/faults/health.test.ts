import { describe, expect, it } from 'vitest';
import { startConsumer } from '../../../src/consumer-app.js';
import { defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { syntheticRecords } from '../../../src/demo/record-sources.js';
import { quietLogger, testConfig, uniqueName, waitFor } from '../kafka-helpers.js';
import { localBroker, produceAll } from './fault-helpers.js';

const records = (count: number, seed: number): ReturnType<typeof syntheticRecords> =>
  syntheticRecords(count, { friedman: { ...defaultFriedmanOptions, seed }, malformedFraction: 0.02, maxRecordBytes: 65536 });

async function status(port: number, path: string): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5_000) })).status;
  } catch {
    return 0;
  }
}

describe('health that tells the truth', () => {
  const broker = localBroker();
  it.skipIf(!broker)('/healthz fails while the consumer is stuck with records to process (broker down), and recovers with progress', async () => {
    const topic = uniqueName('faults-stuck');
    await produceAll(topic, [...records(20_000, 61)], 3);
    const config = testConfig(topic, { model: { backend: 'cpu', hidden: [32, 32] }, ntkgp: { window: 64 }, metrics: { port: 0, stallSeconds: 5 } });
    const consumer = await startConsumer(config, quietLogger);
    const port = consumer.metricsAddress.port;
    try {
      await waitFor(() => consumer.progress.totals.learned >= 2_000, 120_000, '2,000 learned');
      expect(await status(port, '/healthz')).toBe(200);
      broker!.kill9();
      const killedAt = performance.now();
      await waitFor(async () => (await status(port, '/healthz')) === 503, 60_000, '/healthz to fail');
      const failedAfter = (performance.now() - killedAt) / 1000;
      broker!.restartKeepingData();
      const restartedAt = performance.now();
      await waitFor(async () => (await status(port, '/healthz')) === 200, 180_000, '/healthz to recover');
      const recoveredAfter = (performance.now() - restartedAt) / 1000;
      console.log(`[faults/health] broker killed: /healthz 503 after ${failedAfter.toFixed(1)} s (stallSeconds 5); broker restarted: 200 again after ${recoveredAfter.toFixed(1)} s`);
      expect(failedAfter).toBeLessThan(30);
    } finally {
      if (broker && broker.pid() === undefined) broker.restartKeepingData();
      await consumer.stop();
    }
  });
});
