import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { ModelError } from '../errors.js';
import { decodeFloat32, encodeFloat32 } from '../math/float-codec.js';
import { sameTrunk, type ArchitectureSpec } from '../spec/architecture-spec.js';
import type { LayerState } from './trunk-heads-network.js';

/**
 * A pretrained trunk on disk, as a TensorFlow.js artifact directory:
 *
 * - `model.json`: the tf.io `ModelJSON` shape. `modelTopology` holds the
 *   trunk part of tangent's architecture spec (there is no Keras topology:
 *   the spec *is* the topology), `weightsManifest` one group naming every
 *   weight with its shape and dtype.
 * - `weights.bin`: the weights in manifest order, little-endian float32,
 *   concatenated.
 *
 * Any tf.io reader gets the tensors back (`tf.io.getModelArtifactsForJSON`
 * then `tf.io.decodeWeights`); tangent reads it with {@link loadTrunkArtifact},
 * which refuses a trunk whose spec differs from the pipeline's.
 */
const trunkArtifactFormat = 'tangent-ntk-trunk';
const trunkArtifactVersion = 1;
const modelJsonFile = 'model.json';
const weightsFile = 'weights.bin';

/** The part of an {@link ArchitectureSpec} that determines the trunk's weights. */
export type TrunkSpec = Pick<ArchitectureSpec, 'inputDim' | 'hidden' | 'activation' | 'sigmaW2' | 'sigmaB2'>;

export interface TrunkTopology {
  readonly kind: typeof trunkArtifactFormat;
  readonly version: number;
  readonly spec: TrunkSpec;
}

/**
 * What pretraining knew about its data, kept beside the weights: the trunk
 * expects standardised features, and these are the moments it was trained with.
 */
export interface TrunkMetadata {
  readonly inputMean?: number[];
  readonly inputStd?: number[];
  readonly targetMean?: number;
  readonly targetStd?: number;
  readonly examples?: number;
  readonly epochs?: number;
  readonly trainingMae?: number;
  readonly [key: string]: unknown;
}

export interface TrunkArtifactJSON extends tf.io.ModelJSON {
  readonly format: typeof trunkArtifactFormat;
  readonly generatedBy: string;
  readonly modelTopology: TrunkTopology;
  readonly userDefinedMetadata?: { [key: string]: {} };
}

export interface LoadedTrunk {
  readonly spec: TrunkSpec;
  readonly trunk: LayerState[];
  readonly metadata: TrunkMetadata;
}

function trunkSpecOf(spec: TrunkSpec): TrunkSpec {
  return {
    inputDim: spec.inputDim,
    hidden: [...spec.hidden],
    activation: spec.activation,
    sigmaW2: spec.sigmaW2,
    sigmaB2: spec.sigmaB2,
  };
}

/** Weight names and shapes of a trunk, in the order they are stored. */
function trunkWeightSpecs(spec: TrunkSpec): tf.io.WeightsManifestEntry[] {
  const entries: tf.io.WeightsManifestEntry[] = [];
  let fanIn = spec.inputDim;
  spec.hidden.forEach((width, i) => {
    entries.push({ name: `trunk/${i}/w`, shape: [fanIn, width], dtype: 'float32' });
    entries.push({ name: `trunk/${i}/b`, shape: [width], dtype: 'float32' });
    fanIn = width;
  });
  return entries;
}

const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function writeFileDurably(path: string, bytes: Uint8Array): void {
  const temporary = `${path}.tmp-${process.pid}`;
  const fd = openSync(temporary, 'w');
  try {
    let written = 0;
    while (written < bytes.byteLength) written += writeSync(fd, bytes, written, bytes.byteLength - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/**
 * Writes the artifact into `dir` (created if missing). weights.bin goes first
 * and model.json last, each through a temp file and rename, so a directory
 * with a model.json always has the weights it describes.
 */
export function saveTrunkArtifact(dir: string, spec: TrunkSpec, trunk: readonly LayerState[], metadata: TrunkMetadata = {}): TrunkArtifactJSON {
  const weights = trunkWeightSpecs(spec);
  if (trunk.length !== spec.hidden.length) {
    throw new ModelError(`cannot save a trunk of ${trunk.length} layers with a spec of ${spec.hidden.length} hidden layers`);
  }
  const values = trunk.flatMap((layer) => [decodeFloat32(layer.weight), decodeFloat32(layer.bias)]);
  const totalFloats = weights.reduce((n, w) => n + elementCount(w.shape), 0);
  const bytes = new Uint8Array(totalFloats * 4);
  const view = new DataView(bytes.buffer);
  let offset = 0;
  weights.forEach((entry, k) => {
    const data = values[k]!;
    if (data.length !== elementCount(entry.shape)) {
      throw new ModelError(`cannot save ${entry.name}: it holds ${data.length} values, its shape [${entry.shape.join(', ')}] needs ${elementCount(entry.shape)}`);
    }
    for (let i = 0; i < data.length; i++, offset += 4) view.setFloat32(offset, data[i]!, true);
  });

  const modelJson: TrunkArtifactJSON = {
    format: trunkArtifactFormat,
    generatedBy: 'tangent pretrain',
    convertedBy: null,
    modelTopology: { kind: trunkArtifactFormat, version: trunkArtifactVersion, spec: trunkSpecOf(spec) },
    weightsManifest: [{ paths: [weightsFile], weights }],
    userDefinedMetadata: { tangent: metadata as {} },
  };
  mkdirSync(dir, { recursive: true });
  writeFileDurably(join(dir, weightsFile), bytes);
  writeFileDurably(join(dir, modelJsonFile), Buffer.from(`${JSON.stringify(modelJson, null, 2)}\n`));
  return modelJson;
}

const describeValue = (value: unknown): string => (Array.isArray(value) ? `[${value.join(', ')}]` : String(value));

/** The first trunk field in which two specs differ, for an error that names it. */
function firstDifference(saved: TrunkSpec, wanted: TrunkSpec): keyof TrunkSpec | undefined {
  const fields: (keyof TrunkSpec)[] = ['inputDim', 'hidden', 'activation', 'sigmaW2', 'sigmaB2'];
  return fields.find((field) => describeValue(saved[field]) !== describeValue(wanted[field]));
}

function readTopology(json: unknown, where: string): { topology: TrunkTopology; manifest: tf.io.WeightsManifestConfig; metadata: TrunkMetadata } {
  const doc = json as Partial<TrunkArtifactJSON> | null;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ModelError(`${where}: model.json is not a JSON object`);
  if (doc.format !== trunkArtifactFormat) {
    throw new ModelError(`${where}: model.json has format ${JSON.stringify(doc.format)}, expected "${trunkArtifactFormat}" (a trunk written by tangent pretrain)`);
  }
  const topology = doc.modelTopology as Partial<TrunkTopology> | undefined;
  const spec = topology?.spec as Partial<TrunkSpec> | undefined;
  const valid =
    topology?.kind === trunkArtifactFormat &&
    topology.version === trunkArtifactVersion &&
    spec !== undefined &&
    Number.isInteger(spec.inputDim) &&
    Array.isArray(spec.hidden) &&
    spec.hidden.every((w) => Number.isInteger(w) && w > 0) &&
    (spec.activation === 'relu' || spec.activation === 'erf') &&
    typeof spec.sigmaW2 === 'number' &&
    typeof spec.sigmaB2 === 'number';
  if (!valid) throw new ModelError(`${where}: model.json's modelTopology is not a version-${trunkArtifactVersion} tangent trunk spec`);
  if (!Array.isArray(doc.weightsManifest)) throw new ModelError(`${where}: model.json has no weightsManifest`);
  const metadata = ((doc.userDefinedMetadata as { tangent?: TrunkMetadata } | undefined)?.tangent ?? {}) as TrunkMetadata;
  return { topology: topology as TrunkTopology, manifest: doc.weightsManifest, metadata };
}

/**
 * Reads an artifact directory without checking it against a pipeline: the
 * spec it was saved with, the trunk's {@link LayerState}s and its metadata.
 *
 * @throws ModelError when model.json or weights.bin is missing, malformed,
 *   or the weights do not have the length and names the spec implies
 */
export function readTrunkArtifact(dir: string): LoadedTrunk {
  const where = `pretrained trunk at ${dir}`;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(join(dir, modelJsonFile), 'utf8'));
  } catch (cause) {
    throw new ModelError(`${where}: cannot read ${modelJsonFile}: ${(cause as Error).message}`, { cause });
  }
  const { topology, manifest, metadata } = readTopology(json, where);
  const spec = topology.spec;

  const expected = trunkWeightSpecs(spec);
  const listed = manifest.flatMap((group) => group.weights);
  const namesMatch =
    listed.length === expected.length &&
    listed.every((w, i) => w.name === expected[i]!.name && w.dtype === 'float32' && describeValue(w.shape) === describeValue(expected[i]!.shape));
  if (!namesMatch) {
    throw new ModelError(
      `${where}: weightsManifest lists ${listed.map((w) => `${w.name} [${w.shape.join(', ')}]`).join(', ') || 'nothing'}, ` +
        `the spec needs ${expected.map((w) => `${w.name} [${w.shape.join(', ')}] float32`).join(', ')}`,
    );
  }

  const chunks: Buffer[] = [];
  for (const path of manifest.flatMap((group) => group.paths)) {
    try {
      chunks.push(readFileSync(join(dir, path)));
    } catch (cause) {
      throw new ModelError(`${where}: cannot read ${path}: ${(cause as Error).message}`, { cause });
    }
  }
  const bytes = Buffer.concat(chunks);
  const expectedBytes = expected.reduce((n, w) => n + 4 * elementCount(w.shape), 0);
  if (bytes.byteLength !== expectedBytes) {
    throw new ModelError(`${where}: weights are ${bytes.byteLength} bytes, the manifest describes ${expectedBytes} (${expectedBytes / 4} float32 values); the file is truncated or not this trunk's`);
  }

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  const arrays = expected.map((entry) => {
    const values = new Float32Array(elementCount(entry.shape));
    for (let i = 0; i < values.length; i++, offset += 4) values[i] = view.getFloat32(offset, true);
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new ModelError(`${where}: ${entry.name} holds a non-finite value at index ${bad}`);
    return values;
  });
  const trunk: LayerState[] = spec.hidden.map((_, i) => ({
    weight: encodeFloat32(arrays[2 * i]!),
    bias: encodeFloat32(arrays[2 * i + 1]!),
  }));
  return { spec, trunk, metadata };
}

/**
 * Loads a pretrained trunk for a pipeline whose model is `spec`: the
 * {@link LayerState}s that `TrunkHeadsNetwork.loadTrunk` takes.
 *
 * @throws ModelError naming the mismatch when the artifact's trunk is not the
 *   pipeline's (e.g. `hidden [64, 64]` vs `[128, 64]`), or when it is unreadable
 */
export function loadTrunkArtifact(dir: string, spec: ArchitectureSpec): LayerState[] {
  const loaded = readTrunkArtifact(dir);
  const saved: ArchitectureSpec = { ...loaded.spec, headHidden: spec.headHidden };
  if (!sameTrunk(saved, spec)) {
    const field = firstDifference(loaded.spec, spec) ?? 'spec';
    throw new ModelError(
      `pretrained trunk at ${dir} has ${field} ${describeValue(loaded.spec[field as keyof TrunkSpec])}, ` +
        `the pipeline's model has ${describeValue(spec[field as keyof TrunkSpec])}`,
    );
  }
  return loaded.trunk;
}
