import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lastValueFrom, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CheckpointStore } from '../../../src/checkpoint/checkpoint-store.js';
import type { LearningState } from '../../../src/checkpoint/learning-state.js';
import { parsePipelineConfig } from '../../../src/config/load-pipeline-config.js';
import { checkpointDirectoryOf } from '../../../src/config/pipeline-config.js';
import { FriedmanStream, defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { LearningSession } from '../../../src/learning-session.js';
import { selectBackend } from '../../../src/model/backend.js';
import { saveLayersModel, trunkLayersModel, type ExportIndex } from '../../../src/model/layers-export.js';
import { TrunkHeadsNetwork } from '../../../src/model/trunk-heads-network.js';
import * as tf from '@tensorflow/tfjs';
import { batch } from '../../../src/pipeline/batch.js';
import { decode } from '../../../src/pipeline/decode.js';
import { scale } from '../../../src/pipeline/scale.js';
import { predictFromSnapshot } from '../../../src/serving/model-snapshot.js';
import { applySnapshotUpdate } from '../../../src/serving/snapshot-update.js';
import { SnapshotTaker } from '../../../src/serving/take-snapshot.js';
import { sourceRecord } from '../pipeline/helpers.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const tasks = ['sensor-0', 'sensor-1', 'task/with spaces'];

describe('tangent export', () => {
  it('writes LayersModels that plain TensorFlow.js, in another process, loads and that predict what tangent predicts within 1e-5', async () => {
    await selectBackend('cpu');
    const dir = mkdtempSync(join(tmpdir(), 'tangent-export-'));
    const document = {
      kafka: { groupId: 'export-test' },
      model: { backend: 'cpu', hidden: [32, 32], headHidden: [8] },
      ntkgp: { window: 32 },
      fineTune: { every: 2, steps: 3 },
      checkpoint: { dir: join(dir, 'checkpoints') },
    };
    const pipeline = join(dir, 'pipeline.yaml');
    writeFileSync(pipeline, stringify(document));
    const config = parsePipelineConfig(document);

    // Learn 1,920 records of three tasks as the pipeline does (decode, batch, scale, learn), fine-tuning phases included.
    const session = new LearningSession(config, () => undefined);
    const stream = new FriedmanStream({ ...defaultFriedmanOptions, seed: 8, tasks});
    for (let b = 0; b < 30; b++) {
      const records = Array.from({ length: 64 }, () => sourceRecord(stream.next()));
      const formed = await lastValueFrom(of(...records).pipe(decode({ inputDim: 10, maxRecordBytes: 4096 }), batch({ size: 64, lingerMs: 0 }), scale(session.scaling)));
      const examples = formed.accepted.map((a) => a.example);
      session.network.predict(examples);
      for (const model of session.models) model.learn(examples);
      session.position.advance(formed);
    }
    await new CheckpointStore<LearningState>(checkpointDirectoryOf(config), 3).write(session.capture());

    const out = join(dir, 'exported');
    execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'export', '--pipeline', pipeline, '--out', out], { cwd: repoRoot, stdio: 'pipe' });
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as ExportIndex;
    expect(index.tasks.map((t) => t.task).sort()).toEqual([...tasks].sort());
    expect(index.modelVersion).toBe(30);
    const modelJson = JSON.parse(readFileSync(join(out, index.tasks[0]!.path, 'model.json'), 'utf8')) as { format: string; modelTopology: { class_name: string } };
    expect(modelJson.format).toBe('layers-model');

    // Raw features, as a client has them.
    const probe = new FriedmanStream({ ...defaultFriedmanOptions, seed: 77, tasks});
    const queries = Array.from({ length: 300 }, (_, i) => {
      const { task, x } = probe.next();
      // Every tenth record has an outlying feature, which the scale stage (and the exported model) clips.
      if (i % 10 === 0) x[i % x.length] = i % 20 === 0 ? 40 : -25;
      return { task, x: Float32Array.from(x), ts: 0 };
    });
    const inputs: Record<string, number[][]> = {};
    for (const q of queries) (inputs[q.task] ??= []).push(Array.from(q.x));
    const loaded = JSON.parse(
      execFileSync(process.execPath, [join(repoRoot, 'test/fixtures/export/predict-with-tfjs.mjs'), out], { input: JSON.stringify(inputs), cwd: repoRoot }).toString(),
    ) as Record<string, number[]>;

    const snapshot = new SnapshotTaker({ ...session, network: session.network, baseline: session.baseline, modelVersion: () => session.position.batches }).take();
    const served = predictFromSnapshot(applySnapshotUpdate(undefined, snapshot), queries).predictions;
    // And as the pipeline scores them unlabeled: clipped and standardised by the scale stage's rules, then the network.
    const scored = session.network.predict(
      queries.map((q) => {
        const x = Float32Array.from(q.x);
        session.featureBand.clip(x);
        session.featureMoments.standardize(x, x);
        return { ...q, x };
      }),
    );
    const seen: Record<string, number> = {};
    const worst: Record<string, number> = {};
    queries.forEach((q, i) => {
      const k = (seen[q.task] = (seen[q.task] ?? -1) + 1);
      const difference = Math.max(Math.abs(loaded[q.task]![k]! - served[i]!.nn!), Math.abs(loaded[q.task]![k]! - scored[i]!));
      worst[q.task] = Math.max(worst[q.task] ?? 0, difference);
    });
    console.log(`[export] ${tasks.length} tasks, ${queries.length} records: max |tfjs − tangent| per task (POST /predict and the pipeline's scoring) ${JSON.stringify(worst)}`);
    // float32 rounding only: the exported layers compute what tangent computes, step by step, and round in other
    // places only inside sums (predictions 2–25, float32 spacing 1.9e-6 at 16). Folding the scales and moments into
    // the weights instead was off by up to 1.1e-5; a wrong clip, scale or weight is off by orders of magnitude more.
    for (const task of tasks) expect(worst[task], task).toBeLessThanOrEqual(1e-5);
    session.dispose();
  });
});

describe('the trunk as a LayersModel (written by tangent pretrain)', () => {
  it('plain TensorFlow.js, in another process, maps raw features to what tangent\'s trunk computes on them standardised, within 1e-5', async () => {
    await selectBackend('cpu');
    const spec = { inputDim: 4, hidden: [16, 8], headHidden: [], activation: 'relu' as const, sigmaW2: 2, sigmaB2: 0.1 };
    const network = new TrunkHeadsNetwork(spec, 11);
    const inputMean = [10, -3, 0.5, 200];
    const inputStd = [2, 0.25, 1, 40];
    const dir = mkdtempSync(join(tmpdir(), 'tangent-trunk-layers-'));
    const model = trunkLayersModel({ spec, trunk: network.trunkState(), inputMean, inputStd });
    await saveLayersModel(model, dir, { kind: 'test trunk' });
    model.dispose();

    const rows = Array.from({ length: 50 }, (_, r) => inputMean.map((m, i) => m + inputStd[i]! * Math.sin(r * 1.7 + i * 0.9) * 2));
    const loaded = JSON.parse(
      execFileSync(process.execPath, [join(repoRoot, 'test/fixtures/export/predict-layers-model.mjs'), dir], { input: JSON.stringify(rows), cwd: repoRoot }).toString(),
    ) as number[][];
    const standardised = tf.tensor2d(rows.map((row) => row.map((v, i) => (v - inputMean[i]!) / inputStd[i]!)));
    const expected = network.forwardTrunk(standardised).arraySync();
    let worst = 0;
    rows.forEach((_, r) => expected[r]!.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - loaded[r]![j]!)))));
    console.log(`[export] trunk [16, 8] as a LayersModel: ${rows.length} rows, max |tfjs − tangent| ${worst.toExponential(2)}`);
    expect(loaded[0]).toHaveLength(8);
    expect(expected.flat().some((v) => v > 0)).toBe(true);
    expect(worst).toBeLessThanOrEqual(1e-5);
    network.dispose();
  });
});
