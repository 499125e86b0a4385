import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSource, pretrainCommand } from '../../../src/commands/pretrain.js';
import { FriedmanStream, defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { ModelError, UsageError } from '../../../src/errors.js';
import type { ArchitectureSpec } from '../../../src/spec/architecture-spec.js';
import { selectBackend } from '../../../src/model/backend.js';
import { pretrainTrunk, type PretrainExample } from '../../../src/model/pretrain.js';
import { loadTrunkArtifact, readTrunkArtifact } from '../../../src/model/trunk-artifact.js';

const spec: ArchitectureSpec = { inputDim: 10, hidden: [32], headHidden: [], activation: 'relu', sigmaW2: 2, sigmaB2: 0.1 };
const silent = pino({ level: 'silent' });

function friedman(count: number, seed = 3): PretrainExample[] {
  const stream = new FriedmanStream({ ...defaultFriedmanOptions, seed, drift: 'none', tasks: ['source'] });
  return Array.from({ length: count }, () => stream.next());
}

describe('pretrainTrunk', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('learns the source task: training MAE well below the target spread, from an async iterable too', async () => {
    const examples = friedman(2000);
    async function* asynchronous(): AsyncGenerator<PretrainExample> {
      yield* examples;
    }
    const progress: number[] = [];
    const result = await pretrainTrunk({
      spec,
      examples: asynchronous(),
      epochs: 3,
      batchSize: 32,
      learningRate: 0.5,
      seed: 1,
      onProgress: (p) => p.batch === p.batches && progress.push(p.epochLoss),
    });
    expect(result.examples).toBe(2000);
    expect(result.tasks).toEqual(['source']);
    expect(result.trunk).toHaveLength(1);
    expect(result.rejectedSteps).toBe(0);
    expect(progress).toHaveLength(3);
    expect(progress[2]!).toBeLessThan(progress[0]!);
    // Friedman #1's target has a std of about 5; the mean predictor's MAE is about 4.
    expect(result.targetStd).toBeGreaterThan(4);
    expect(result.trainingMae).toBeLessThan(0.5 * result.targetStd);
    result.inputMean.forEach((m) => expect(m).toBeCloseTo(0.5, 1));
  });

  it('is deterministic under a seed', async () => {
    const run = (): ReturnType<typeof pretrainTrunk> =>
      pretrainTrunk({ spec, examples: friedman(300), epochs: 2, batchSize: 16, learningRate: 0.5, seed: 9 });
    expect((await run()).trunk).toEqual((await run()).trunk);
  });

  it('refuses examples of the wrong dimension, no examples and bad settings', async () => {
    const options = { spec, epochs: 1, batchSize: 8, learningRate: 0.5, seed: 1 };
    await expect(pretrainTrunk({ ...options, examples: [{ x: [1, 2], y: 1 }] })).rejects.toThrow(/has 2 features, the model's inputDim is 10/);
    await expect(pretrainTrunk({ ...options, examples: [] })).rejects.toBeInstanceOf(ModelError);
    await expect(pretrainTrunk({ ...options, epochs: 0, examples: friedman(10) })).rejects.toThrow(/epochs/);
  });
});

describe('tangent pretrain (file input)', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  function pipeline(dir: string): string {
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(file, 'model:\n  hidden: [16, 8]\n  backend: cpu\nbatch:\n  size: 16\n');
    return file;
  }

  it('reads JSONL with the consumer\'s decoder (bad records skipped), honours --limit and writes a loadable artifact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tangent-pretrain-'));
    const lines = friedman(400).map((r) => JSON.stringify(r));
    lines.splice(5, 0, 'not json', '{"task":"source","x":[1,2,3],"y":1}', '{"task":"source","x":[0,0,0,0,0,0,0,0,0,0],"y":"NaN"}');
    const input = join(dir, 'source.jsonl');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const out = join(dir, 'trunk');
    expect(await pretrainCommand({ input, out, pipeline: pipeline(dir), epochs: 2, limit: 300 }, silent)).toBe(0);
    const artifact = readTrunkArtifact(out);
    expect(artifact.spec.hidden).toEqual([16, 8]);
    expect(artifact.metadata).toMatchObject({ examples: 300, epochs: 2, batchSize: 16, learningRate: 0.5, seed: 42, source: input });
    expect(artifact.metadata.skippedRecords).toEqual({ invalid_json: 1, wrong_dimension: 1, non_finite: 1 });
    const trunk = loadTrunkArtifact(out, { ...spec, hidden: [16, 8] });
    expect(trunk).toHaveLength(2);
  });

  it('reads CSV with a task,x0..x9,y header', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tangent-pretrain-'));
    const header = ['task', ...Array.from({ length: 10 }, (_, i) => `x${i}`), 'y'].join(',');
    const rows = friedman(100).map((r) => [r.task, ...Array.from(r.x), r.y].join(','));
    const input = join(dir, 'source.csv');
    writeFileSync(input, `${header}\n${rows.join('\n')}\n`);
    const out = join(dir, 'trunk');
    expect(await pretrainCommand({ input, out, pipeline: pipeline(dir), epochs: 1 }, silent)).toBe(0);
    expect(readTrunkArtifact(out).metadata.examples).toBe(100);
  });

  it('names the bad option', async () => {
    expect(() => parseSource(undefined, undefined)).toThrow(UsageError);
    expect(() => parseSource('data.parquet', undefined)).toThrow(/neither a .jsonl\/.csv file nor topic:NAME/);
    expect(() => parseSource('topic:a', 'b')).toThrow(/either --input or --topic/);
    expect(parseSource('topic:records', undefined)).toEqual({ kind: 'topic', topic: 'records' });
    expect(parseSource(undefined, 'records')).toEqual({ kind: 'topic', topic: 'records' });
  });
});
