import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../../src/errors.js';
import type { ArchitectureSpec } from '../../../src/spec/architecture-spec.js';
import { selectBackend } from '../../../src/model/backend.js';
import { loadTrunkArtifact, readTrunkArtifact, saveTrunkArtifact } from '../../../src/model/trunk-artifact.js';
import { TrunkHeadsNetwork } from '../../../src/model/trunk-heads-network.js';

const spec: ArchitectureSpec = { inputDim: 3, hidden: [8, 5], headHidden: [], activation: 'relu', sigmaW2: 2, sigmaB2: 0.1 };

const freshDir = (): string => mkdtempSync(join(tmpdir(), 'tangent-trunk-'));

function savedNetwork(s: ArchitectureSpec = spec, seed = 5): { dir: string; network: TrunkHeadsNetwork } {
  const network = new TrunkHeadsNetwork(s, seed);
  const dir = freshDir();
  saveTrunkArtifact(dir, s, network.toJSON().trunk, { examples: 123, trainingMae: 0.5 });
  return { dir, network };
}

function thrown(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('pretrained trunk artifact (model.json + weights.bin)', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('round-trips: the loaded trunk equals the saved one and makes a fresh network predict identically', () => {
    const { dir, network } = savedNetwork();
    const trunk = loadTrunkArtifact(dir, spec);
    expect(trunk).toEqual(network.toJSON().trunk);

    const other = new TrunkHeadsNetwork(spec, 99);
    other.loadTrunk(trunk);
    const input = tf.tensor2d([0.3, -1, 2, 1.5, 0.2, -0.7], [2, 3]);
    const features = (n: TrunkHeadsNetwork): number[] => Array.from(tf.tidy(() => n.forwardTrunk(input).dataSync()));
    expect(features(other)).toEqual(features(network));
    input.dispose();
    network.dispose();
    other.dispose();

    const { spec: savedSpec, metadata } = readTrunkArtifact(dir);
    expect(savedSpec).toEqual({ inputDim: 3, hidden: [8, 5], activation: 'relu', sigmaW2: 2, sigmaB2: 0.1 });
    expect(metadata).toMatchObject({ examples: 123, trainingMae: 0.5 });
  });

  it('writes the tf.io ModelJSON shape, and tf.io.decodeWeights reads the weights back without tangent', async () => {
    const { dir, network } = savedNetwork();
    const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    expect(modelJson.format).toBe('tangent-ntk-trunk');
    expect(modelJson.generatedBy).toMatch(/tangent/);
    expect(modelJson.modelTopology).toMatchObject({ spec: { inputDim: 3, hidden: [8, 5], activation: 'relu', sigmaW2: 2, sigmaB2: 0.1 } });
    expect(modelJson.weightsManifest).toEqual([
      {
        paths: ['weights.bin'],
        weights: [
          { name: 'trunk/0/w', shape: [3, 8], dtype: 'float32' },
          { name: 'trunk/0/b', shape: [8], dtype: 'float32' },
          { name: 'trunk/1/w', shape: [8, 5], dtype: 'float32' },
          { name: 'trunk/1/b', shape: [5], dtype: 'float32' },
        ],
      },
    ]);
    expect(readFileSync(join(dir, 'weights.bin')).byteLength).toBe(4 * (3 * 8 + 8 + 8 * 5 + 5));

    // The generic tf.io path: manifest → (specs, bytes) → ModelArtifacts → named tensors.
    const artifacts = await tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
      const bytes = Buffer.concat(manifest.flatMap((group) => group.paths.map((p) => readFileSync(join(dir, p)))));
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      return [manifest.flatMap((group) => group.weights), buffer];
    });
    const tensors = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
    network.trunk.forEach((layer, i) => {
      expect(tensors[`trunk/${i}/w`]!.shape).toEqual(layer.weight.shape);
      expect(Array.from(tensors[`trunk/${i}/w`]!.dataSync())).toEqual(Array.from(layer.weight.dataSync()));
      expect(Array.from(tensors[`trunk/${i}/b`]!.dataSync())).toEqual(Array.from(layer.bias.dataSync()));
    });
    Object.values(tensors).forEach((t) => t.dispose());
    network.dispose();
  });

  it('refuses a trunk whose spec differs from the pipeline\'s, naming the field and both values', () => {
    const small: ArchitectureSpec = { ...spec, inputDim: 10, hidden: [64, 64] };
    const { dir, network } = savedNetwork(small);
    network.dispose();

    const wider = thrown(() => loadTrunkArtifact(dir, { ...small, hidden: [128, 64] }));
    expect(wider).toBeInstanceOf(ModelError);
    expect(wider.message).toBe(`pretrained trunk at ${dir} has hidden [64, 64], the pipeline's model has [128, 64]`);

    expect(thrown(() => loadTrunkArtifact(dir, { ...small, activation: 'erf' })).message).toBe(
      `pretrained trunk at ${dir} has activation relu, the pipeline's model has erf`,
    );
    expect(thrown(() => loadTrunkArtifact(dir, { ...small, inputDim: 12 })).message).toBe(
      `pretrained trunk at ${dir} has inputDim 10, the pipeline's model has 12`,
    );
    expect(thrown(() => loadTrunkArtifact(dir, { ...small, sigmaB2: 0.2 })).message).toBe(
      `pretrained trunk at ${dir} has sigmaB2 0.1, the pipeline's model has 0.2`,
    );
    // Heads are not part of the trunk: a pipeline with hidden head layers may use it.
    expect(loadTrunkArtifact(dir, { ...small, headHidden: [16] })).toHaveLength(2);
  });

  it('refuses a weights.bin of the wrong length (truncated or padded)', () => {
    const { dir, network } = savedNetwork();
    network.dispose();
    const path = join(dir, 'weights.bin');
    const bytes = readFileSync(path);
    const expected = 4 * (3 * 8 + 8 + 8 * 5 + 5);

    writeFileSync(path, bytes.subarray(0, bytes.byteLength - 4));
    const truncated = thrown(() => loadTrunkArtifact(dir, spec));
    expect(truncated).toBeInstanceOf(ModelError);
    expect(truncated.message).toContain(`weights are ${expected - 4} bytes, the manifest describes ${expected}`);

    writeFileSync(path, Buffer.concat([bytes, Buffer.alloc(8)]));
    expect(thrown(() => loadTrunkArtifact(dir, spec)).message).toContain(`weights are ${expected + 8} bytes`);

    writeFileSync(path, bytes);
    expect(loadTrunkArtifact(dir, spec)).toHaveLength(2);
  });

  it('refuses non-finite weights, a missing weights file, a foreign model.json and a missing directory', () => {
    const { dir, network } = savedNetwork();
    network.dispose();
    const path = join(dir, 'weights.bin');
    const bytes = Buffer.from(readFileSync(path));
    bytes.writeFloatLE(Number.NaN, 4 * 3);
    writeFileSync(path, bytes);
    expect(thrown(() => loadTrunkArtifact(dir, spec)).message).toContain('trunk/0/w holds a non-finite value at index 3');

    const foreign = freshDir();
    writeFileSync(join(foreign, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: {}, weightsManifest: [] }));
    const foreignError = thrown(() => loadTrunkArtifact(foreign, spec));
    expect(foreignError).toBeInstanceOf(ModelError);
    expect(foreignError.message).toContain('has format "layers-model"');

    const noWeights = freshDir();
    writeFileSync(join(noWeights, 'model.json'), readFileSync(join(dir, 'model.json')));
    expect(thrown(() => loadTrunkArtifact(noWeights, spec)).message).toContain('cannot read weights.bin');

    const missing = join(freshDir(), 'nowhere');
    const missingError = thrown(() => loadTrunkArtifact(missing, spec));
    expect(missingError).toBeInstanceOf(ModelError);
    expect(missingError.message).toContain(`pretrained trunk at ${missing}: cannot read model.json`);
  });
});
