import type { Server } from 'node:http';
import { lastValueFrom, of } from 'rxjs';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { predictRoute } from '../../../src/serving/predict-route.js';
import { predictCurrent, type ServedPredictions } from '../../../src/serving/predictor.js';
import { sourceRecord } from '../pipeline/helpers.js';

/**
 * POST /predict over a real HTTP server, answering from a session that has
 * learned 1,280 Friedman records the way the pipeline learns them.
 */
const config = parsePipelineConfig({ model: { backend: 'cpu', hidden: [32, 32] }, ntkgp: { window: 64 }, serving: { maxRequestBytes: 4096, maxRequestRecords: 20 } });
let session: LearningSession;
let server: Server;
let url: string;
const statuses: string[] = [];

async function post(body: string | Buffer, contentType = 'application/json', method = 'POST'): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, { method, headers: { 'content-type': contentType }, body: method === 'GET' ? undefined : body });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  await selectBackend('cpu');
  session = new LearningSession(config, () => undefined);
  const stream = new FriedmanStream({ ...defaultFriedmanOptions, seed: 3, tasks: ['sensor-0', 'sensor-1'] });
  for (let b = 0; b < 20; b++) {
    const records = Array.from({ length: 64 }, () => sourceRecord(stream.next()));
    const scored = await lastValueFrom(of(...records).pipe(decode({ inputDim: 10, maxRecordBytes: 4096 }), batch({ size: 64, lingerMs: 0 }), scale(session.scaling)));
    for (const model of session.models) model.learn(scored.accepted.map((a) => a.example));
    session.position.advance(scored);
  }
  const route = predictRoute({
    inputDim: 10,
    maxRequestBytes: config.serving.maxRequestBytes,
    maxRequestRecords: config.serving.maxRequestRecords,
    predict: (queries) =>
      predictCurrent({ featureMoments: session.featureMoments, featureBand: session.featureBand, network: session.network, baseline: session.baseline, modelVersion: () => session.position.batches }, queries),
    observe: (status) => statuses.push(status),
  });
  server = await startMetricsServer(new Registry(), { live: () => true, ready: () => true }, '127.0.0.1', 0, [{ method: '*', path: '/predict', handle: route }]);
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/predict`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
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
      expect(p.nn).toBeCloseTo(nn!.predictions[i]!, 5);
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
    expect(statuses).toEqual(expect.arrayContaining(['200', '400', '413', '415', '405']));
  });
});
