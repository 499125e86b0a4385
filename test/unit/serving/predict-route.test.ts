import type { Server } from 'node:http';
import { lastValueFrom, of } from 'rxjs';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parsePipelineConfig } from '../../../src/config/load-pipeline-config.js';
import { FriedmanStream, defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { LearningSession } from '../../../src/learning-session.js';
import { startMetricsServer } from '../../../src/metrics/metrics-server.js';
import { selectBackend } from '../../../src/model/backend.js';
import { batch } from '../../../src/pipeline/batch.js';
import { decode } from '../../../src/pipeline/decode.js';
import { scale } from '../../../src/pipeline/scale.js';
import { score } from '../../../src/pipeline/score.js';
import type { ScoredBatch } from '../../../src/pipeline/records.js';
import type { ServedPredictions } from '../../../src/serving/model-snapshot.js';
import { predictRedirect } from '../../../src/serving/predict-redirect.js';
import { ServingThread } from '../../../src/serving/serving-thread.js';
import { SnapshotTaker } from '../../../src/serving/take-snapshot.js';
import { sourceRecord } from '../pipeline/helpers.js';

/**
 * POST /predict on its own thread over a real HTTP listener, answering from
 * snapshots of a session that has learned Friedman records the way the
 * pipeline learns them.
 */
const config = parsePipelineConfig({ model: { backend: 'cpu', hidden: [32, 32] }, ntkgp: { window: 64 }, serving: { maxRequestBytes: 4096, maxRequestRecords: 20 } });
let session: LearningSession;
let snapshots: SnapshotTaker;
let serving: ServingThread;
let url: string;
const statuses: string[] = [];
const stream = new FriedmanStream({ ...defaultFriedmanOptions, seed: 3, tasks: ['sensor-0', 'sensor-1'] });

async function post(body: string | Buffer, contentType = 'application/json', method = 'POST', to = url): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(to, { method, headers: { 'content-type': contentType }, body: method === 'GET' ? undefined : body });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function learnBatches(count: number): Promise<void> {
  for (let b = 0; b < count; b++) {
    const records = Array.from({ length: 64 }, () => sourceRecord(stream.next()));
    const scored = await lastValueFrom(of(...records).pipe(decode({ inputDim: 10, maxRecordBytes: 4096 }), batch({ size: 64, lingerMs: 0 }), scale(session.scaling)));
    for (const model of session.models) model.learn(scored.accepted.map((a) => a.example));
    session.position.advance(scored);
  }
}

beforeAll(async () => {
  await selectBackend('cpu');
  session = new LearningSession(config, () => undefined);
  await learnBatches(20);
  snapshots = new SnapshotTaker({
    spec: session.spec,
    featureMoments: session.featureMoments,
    featureBand: session.featureBand,
    network: session.network,
    baseline: session.baseline,
    modelVersion: () => session.position.batches,
  });
  serving = await ServingThread.start(
    { host: '127.0.0.1', port: 0, inputDim: 10, maxRequestBytes: config.serving.maxRequestBytes, maxRequestRecords: config.serving.maxRequestRecords },
    { observe: (status) => statuses.push(status), failed: (error) => { throw error; } },
  );
  serving.publish(snapshots.take());
  url = `http://127.0.0.1:${serving.port}/predict`;
});

afterAll(async () => {
  await serving.stop();
  session.dispose();
});

describe('POST /predict', () => {
  it('answers what the pipeline would publish for the same records arriving unlabeled, and learns nothing', async () => {
    const stream = new FriedmanStream({ ...defaultFriedmanOptions, seed: 99, tasks: ['sensor-0', 'sensor-1'] });
    const queries = Array.from({ length: 10 }, () => {
      const { task, x } = stream.next();
      return { task, x };
    });
    const before = JSON.stringify(session.capture());
    serving.publish(snapshots.take());
    const { status, json } = await post(JSON.stringify(queries));
    expect(status).toBe(200);
    const served = json as unknown as ServedPredictions;
    expect(served.modelVersion).toBe(20);
    expect(JSON.stringify(session.capture())).toBe(before);

    // The same records through the pipeline's own stages, unlabeled: decode, batch, scale, score.
    const records = queries.map((q) => sourceRecord(q));
    const scored: ScoredBatch = await lastValueFrom(
      of(...records).pipe(decode({ inputDim: 10, maxRecordBytes: 4096 }), batch({ size: 10, lingerMs: 0 }), scale(session.scaling), score(session.models, () => session.position.batches)),
    );
    const [nn, gp] = scored.scores;
    served.predictions.forEach((p, i) => {
      expect(p.known).toBe(true);
      expect(p.task).toBe(queries[i]!.task);
      // The network in float64 sums against tfjs' float32 ones: float32 rounding, nothing more (predictions ~2–25).
      expect(Math.abs(p.nn! - nn!.predictions[i]!)).toBeLessThan(2e-6 * Math.max(1, Math.abs(p.nn!)));
      expect(p.ntkgp!.mean).toBe(gp!.predictions[i]!);
      expect(p.ntkgp!.sd).toBe(gp!.standardDeviations![i]!);
      expect(p.ntkgp!.sd).toBeGreaterThan(0);
    });
  });

  it('answers one object with one prediction, and an unknown task with known: false and no numbers', async () => {
    const x = Array.from({ length: 10 }, (_, i) => i / 10);
    const one = await post(JSON.stringify({ task: 'sensor-1', x, y: 3, ts: 5 }));
    expect(one.status).toBe(200);
    expect((one.json.predictions as unknown[]).length).toBe(1);
    const mixed = await post(JSON.stringify([{ task: 'never-seen', x }, { task: 'sensor-0', x }]));
    expect(mixed.status).toBe(200);
    const [unknown, known] = mixed.json.predictions as ServedPredictions['predictions'];
    expect(unknown).toEqual({ task: 'never-seen', known: false, nn: null, ntkgp: null });
    expect(known!.known).toBe(true);
    expect(session.network.hasTask('never-seen')).toBe(false);
  });

  it.each([
    ['{"task": "sensor-0", "x": [1', 'invalid_json', undefined],
    [JSON.stringify([]), 'empty', undefined],
    [JSON.stringify({ task: 'sensor-0', x: [1, 2] }), 'wrong_dimension', 0],
    [JSON.stringify([{ task: 'sensor-0', x: Array(10).fill(0) }, { task: 'sensor-0', x: [...Array(9).fill(0), 'NaN'] }]), 'non_finite', 1],
    [JSON.stringify([{ x: Array(10).fill(0) }]), 'missing_field', 0],
    [JSON.stringify({ task: 'sensor-0', x: Array(10).fill(0), y: 'high' }), 'unknown_field_type', 0],
    [JSON.stringify(Array(21).fill({ task: 'sensor-0', x: Array(10).fill(0) })), 'too_many_records', undefined],
  ])('refuses %s with 400 and the reason %s', async (body, reason, index) => {
    const { status, json } = await post(body);
    expect(status).toBe(400);
    expect(json.error).toBe(reason);
    expect(String(json.detail).length).toBeGreaterThan(0);
    expect(json.index).toBe(index);
  });

  it('refuses a body over the size limit (413), a non-JSON content type (415) and other methods (405)', async () => {
    const big = JSON.stringify(Array(50).fill({ task: 'sensor-0', x: Array(10).fill(0.123456789) }));
    expect(big.length).toBeGreaterThan(4096);
    expect((await post(big)).status).toBe(413);
    expect((await post('{}', 'text/plain')).status).toBe(415);
    expect((await post('', 'application/json', 'GET')).status).toBe(405);
    // Counted on the learning thread, told by the serving thread after each response.
    await vi.waitFor(() => expect(statuses).toEqual(expect.arrayContaining(['200', '400', '413', '415', '405'])));
  });

  it('answers from the newest snapshot only: learning that has not published one does not show, a new one shows whole', async () => {
    const x = Array.from({ length: 10 }, (_, i) => (i + 1) / 11);
    const body = JSON.stringify([{ task: 'sensor-0', x }, { task: 'sensor-1', x }]);
    serving.publish(snapshots.take());
    const before = (await post(body)).json as unknown as ServedPredictions;
    await learnBatches(3);
    const unpublished = (await post(body)).json as unknown as ServedPredictions;
    expect(unpublished).toEqual(before);
    serving.publish(snapshots.take());
    const after = (await post(body)).json as unknown as ServedPredictions;
    expect(after.modelVersion).toBe(before.modelVersion + 3);
    after.predictions.forEach((p, i) => {
      expect(p.nn).not.toBe(before.predictions[i]!.nn);
      expect(p.ntkgp!.mean).not.toBe(before.predictions[i]!.ntkgp!.mean);
    });
    // A snapshot with no window changed since the last sends no GP again; the answers stay the same.
    serving.publish(snapshots.take());
    expect((await post(body)).json).toEqual(after);
  });

  it('is pointed to from the metrics port with a 307 that a client follows with the same POST', async () => {
    const metricsServer: Server = await startMetricsServer(new Registry(), { live: () => true, ready: () => true }, '127.0.0.1', 0, [predictRedirect(serving.port)]);
    try {
      const address = metricsServer.address();
      const metricsUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/predict`;
      const manual = await fetch(metricsUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', redirect: 'manual' });
      expect(manual.status).toBe(307);
      expect(manual.headers.get('location')).toBe(url);
      const followed = await post(JSON.stringify({ task: 'sensor-0', x: Array(10).fill(0.5) }), 'application/json', 'POST', metricsUrl);
      expect(followed.status).toBe(200);
      expect((followed.json.predictions as ServedPredictions['predictions'])[0]!.known).toBe(true);
    } finally {
      await new Promise((resolve) => metricsServer.close(resolve));
    }
  });
});
