import { lastValueFrom, of, toArray } from 'rxjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../../src/config/load-pipeline-config.js';
import { FriedmanStream, defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { LearningSession } from '../../../src/learning-session.js';
import { StreamTotals } from '../../../src/metrics/stream-totals.js';
import { selectBackend } from '../../../src/model/backend.js';
import { batch } from '../../../src/pipeline/batch.js';
import { decode } from '../../../src/pipeline/decode.js';
import { learn } from '../../../src/pipeline/learn.js';
import { scale } from '../../../src/pipeline/scale.js';
import { score } from '../../../src/pipeline/score.js';
import { sourceRecord } from './helpers.js';

beforeAll(async () => {
  await selectBackend('cpu');
});

describe('scale stage: a clipped target is learned clipped and scored as sent', () => {
  it('prequential errors are in the target’s own units against the real y, not the clipped one', async () => {
    const config = parsePipelineConfig({ model: { backend: 'cpu', hidden: [16] }, ntkgp: { enabled: false } });
    const session = new LearningSession(config, () => undefined);
    const stream = new FriedmanStream({ ...defaultFriedmanOptions, seed: 11, tasks: ['a'] });
    const values: unknown[] = Array.from({ length: 63 }, () => stream.next());
    const { x } = stream.next();
    values.push({ task: 'a', x, y: 1e6 });
    const batches = await lastValueFrom(
      of(...values.map((v) => sourceRecord(v))).pipe(
        decode({ inputDim: 10, maxRecordBytes: 4096 }),
        batch({ size: 64, lingerMs: 0 }),
        scale(session.scaling),
        score(session.models, () => 0),
        learn(session.models, async () => undefined),
        toArray(),
      ),
    );
    const [only] = batches;
    const outlier = only!.accepted[63]!;
    // Learned clipped: within the task's band, nowhere near 1e6.
    expect(outlier.example.y).toBeLessThan(100);
    expect(outlier.observedY).toBe(1e6);
    const totals = new StreamTotals();
    totals.observe(only!);
    const [nn] = totals.prequential();
    const prediction = only!.scores[0]!.predictions[63]!;
    let sum = 0;
    only!.accepted.forEach((record, i) => (sum += Math.abs(only!.scores[0]!.predictions[i]! - (i === 63 ? 1e6 : record.example.y))));
    expect(Math.abs(prediction - 1e6)).toBeGreaterThan(9e5);
    expect(nn!.mae).toBeCloseTo(sum / 64, 6);
    expect(nn!.mae).toBeGreaterThan(1e4);
    session.dispose();
  });
});
