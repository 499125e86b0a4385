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
import type { ExportIndex } from '../../../src/model/layers-export.js';
import { batch } from '../../../src/pipeline/batch.js';
import { decode } from '../../../src/pipeline/decode.js';
import { scale } from '../../../src/pipeline/scale.js';
import { predictCurrent } from '../../../src/serving/predictor.js';
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
    new CheckpointStore<LearningState>(checkpointDirectoryOf(config), 3).write(session.capture());

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

    const served = predictCurrent(
      { featureMoments: session.featureMoments, clipPolicy: session.clipPolicy, network: session.network, baseline: session.baseline, modelVersion: () => session.position.batches },
      queries,
    ).predictions;
    const seen: Record<string, number> = {};
    const worst: Record<string, number> = {};
    queries.forEach((q, i) => {
      const k = (seen[q.task] = (seen[q.task] ?? -1) + 1);
      const difference = Math.abs(loaded[q.task]![k]! - served[i]!.nn!);
      worst[q.task] = Math.max(worst[q.task] ?? 0, difference);
    });
    console.log(`[export] ${tasks.length} tasks, ${queries.length} records: max |tfjs − tangent| per task ${JSON.stringify(worst)}`);
    for (const task of tasks) expect(worst[task], task).toBeLessThanOrEqual(1e-5);
    session.dispose();
  });
});
