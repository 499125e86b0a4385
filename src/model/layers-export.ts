import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../errors.js';
import { decodeFloat32 } from '../math/float-codec.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import { effectiveDense, type EffectiveDense } from './effective-dense.js';
import type { RobustBandState } from './robust-band.js';

/** Per feature, the band's edges; null: unbounded. */
export type FeatureBounds = Pick<RobustBandState, 'low' | 'high'>;
import { RunningMoments, type RunningMomentsState } from './running-moments.js';
import type { LayerState } from './trunk-heads-network.js';

/**
 * tangent's network as standard TensorFlow.js LayersModels: plain Dense,
 * Maximum and Minimum layers that `tf.loadLayersModel` reads in Node and in
 * the browser, with nothing of tangent needed to use them.
 *
 * Each step tangent takes around the weights is a layer of its own that
 * computes what tangent computes, in the same order, so the exported model
 * rounds where tangent rounds (folding them into the weights rounds
 * differently: up to 1.1e-5 in target units):
 * - the scale stage's clipping of outlying features to their robust band:
 *   `min(max(x, low), high)` with Maximum and Minimum layers against constant
 *   rows (a Dense with zero weights outputs exactly its bias) — exact;
 * - input standardisation `(x − μ)/σ`: a diagonal Dense;
 * - the trunk and head layers with the weights tangent multiplies by, the NTK
 *   scales applied as tfjs applies them (`fround(W·fround(σ_w/√fan_in))`,
 *   `fround(b·fround(σ_b))`) — bit for bit tangent's;
 * - target de-standardisation `m + s·out`: a one-unit Dense `s·out + (m − fround(m))`
 *   then one adding `fround(m)`, so the mean's float32 rounding is not lost.
 * So a model takes the raw features `x` and returns y in the task's own units.
 */
export interface ExportSource {
  readonly spec: ArchitectureSpec;
  readonly trunk: readonly LayerState[];
  readonly head: readonly LayerState[];
  readonly featureMoments: RunningMomentsState;
  readonly targetMoments: RunningMomentsState;
  /** The scale stage's feature band (robust-band.ts): exported as clipping layers in front of the trunk once it applies; absent in older checkpoints. */
  readonly featureBand: FeatureBounds | undefined;
}

/** A layer's weights as applyNtkDense multiplies by them: tfjs' float32 products of the parameters and the float32 scales. */
function ntkLayer(state: LayerState, fanIn: number, spec: ArchitectureSpec, where: string): EffectiveDense {
  const weight = decodeFloat32(state.weight);
  const bias = decodeFloat32(state.bias);
  if (weight.length !== fanIn * bias.length) throw new ModelError(`${where}: ${weight.length} weights, expected ${fanIn}×${bias.length}`);
  return effectiveDense(weight, bias, spec);
}

function diagonal(values: ArrayLike<number>): Float32Array {
  const dim = values.length;
  const weight = new Float32Array(dim * dim);
  for (let i = 0; i < dim; i++) weight[i * dim + i] = values[i]!;
  return weight;
}

/** A Dense layer with fixed weights (set after the model is built). */
function dense(weights: EffectiveDense, name: string, activation: 'relu' | 'linear', input: tf.SymbolicTensor): { output: tf.SymbolicTensor; set: () => void } {
  const layer = tf.layers.dense({ units: weights.width, activation, useBias: true, name });
  const output = layer.apply(input) as tf.SymbolicTensor;
  return { output, set: () => layer.setWeights([tf.tensor2d(weights.weight, [weights.fanIn, weights.width]), tf.tensor1d(weights.bias)]) };
}

/** One task's network as a tf.LayersModel (the caller disposes it): raw features [n, inputDim] in, y [n, 1] out. */
export function taskLayersModel(source: ExportSource): tf.LayersModel {
  const { spec } = source;
  if (spec.activation !== 'relu') {
    throw new ModelError(`export needs model.activation relu: TensorFlow.js layers have no built-in "${spec.activation}" activation`);
  }
  const dim = spec.inputDim;
  let fanIn = dim;
  const layers = [...source.trunk.map((l, i) => ({ l, name: `trunk_${i}` })), ...source.head.map((l, i) => ({ l, name: `head_${i}` }))].map(({ l, name }) => {
    const weights = ntkLayer(l, fanIn, spec, name.replace('_', ' layer '));
    fanIn = weights.width;
    return { weights, name };
  });
  if (layers.length === 0 || layers[layers.length - 1]!.weights.width !== 1) throw new ModelError('a task network must end in a one-unit read-out');

  const setters: (() => void)[] = [];
  const input = tf.input({ shape: [dim], name: 'features' });
  let x: tf.SymbolicTensor = input;
  const band = source.featureBand;
  if (band && band.low.every((l) => l !== null) && band.high.every((h) => h !== null)) {
    // min(max(x, low), high), as RobustBand.clip writes its float64 edges into the float32 features.
    const constant = (values: readonly (number | null)[], name: string): tf.SymbolicTensor => {
      const layer = dense({ weight: new Float32Array(dim * dim), bias: Float32Array.from(values, (v) => v!), fanIn: dim, width: dim }, name, 'linear', input);
      setters.push(layer.set);
      return layer.output;
    };
    const low = constant(band.low, 'feature_low');
    const high = constant(band.high, 'feature_high');
    const raised = tf.layers.maximum({ name: 'feature_clip_low' }).apply([x, low]) as tf.SymbolicTensor;
    x = tf.layers.minimum({ name: 'feature_clip_high' }).apply([raised, high]) as tf.SymbolicTensor;
  }
  const features = RunningMoments.fromJSON(source.featureMoments);
  const inverseStd = Float64Array.from({ length: dim }, (_, i) => 1 / features.standardDeviation(i));
  const standardise = dense(
    { weight: diagonal(inverseStd), bias: Float32Array.from(inverseStd, (w, i) => -features.mean[i]! * w), fanIn: dim, width: dim },
    'standardise',
    'linear',
    x,
  );
  setters.push(standardise.set);
  x = standardise.output;
  layers.forEach(({ weights, name }, i) => {
    const layer = dense(weights, name, i === layers.length - 1 ? 'linear' : 'relu', x);
    setters.push(layer.set);
    x = layer.output;
  });
  const target = RunningMoments.fromJSON(source.targetMoments);
  const mean = target.mean[0]!;
  const meanHigh = Math.fround(mean);
  const scaled = dense({ weight: Float32Array.of(target.standardDeviation(0)), bias: Float32Array.of(mean - meanHigh), fanIn: 1, width: 1 }, 'destandardise_scale', 'linear', x);
  const shifted = dense({ weight: Float32Array.of(1), bias: Float32Array.of(meanHigh), fanIn: 1, width: 1 }, 'destandardise_mean', 'linear', scaled.output);
  setters.push(scaled.set, shifted.set);
  const model = tf.model({ inputs: input, outputs: shifted.output });
  tf.tidy(() => setters.forEach((set) => set()));
  return model;
}

/** A trunk on its own and the input standardisation it was trained behind (as `tangent pretrain` writes it). */
export interface TrunkExportSource {
  readonly spec: ArchitectureSpec;
  readonly trunk: readonly LayerState[];
  readonly inputMean: readonly number[];
  readonly inputStd: readonly number[];
}

/**
 * A trunk as a tf.LayersModel of Dense layers: raw features in, the last
 * hidden layer's features out; the input standardisation a diagonal Dense in
 * front, the trunk's layers with the weights tangent multiplies by (see
 * {@link taskLayersModel}; the caller disposes it). Loadable with plain
 * `tf.loadLayersModel`, e.g. as the feature extractor of another model.
 */
export function trunkLayersModel(source: TrunkExportSource): tf.LayersModel {
  const { spec } = source;
  if (spec.activation !== 'relu') {
    throw new ModelError(`export needs model.activation relu: TensorFlow.js layers have no built-in "${spec.activation}" activation`);
  }
  if (source.inputMean.length !== spec.inputDim || source.inputStd.length !== spec.inputDim) {
    throw new ModelError(`the trunk's input moments have ${source.inputMean.length}/${source.inputStd.length} values, expected inputDim ${spec.inputDim}`);
  }
  if (source.trunk.length === 0) throw new ModelError('a trunk needs at least one layer');
  const dim = spec.inputDim;
  const setters: (() => void)[] = [];
  const input = tf.input({ shape: [dim], name: 'features' });
  const inverseStd = Float64Array.from(source.inputStd, (s) => 1 / s);
  const standardise = dense(
    { weight: diagonal(inverseStd), bias: Float32Array.from(inverseStd, (w, i) => -source.inputMean[i]! * w), fanIn: dim, width: dim },
    'standardise',
    'linear',
    input,
  );
  setters.push(standardise.set);
  let x = standardise.output;
  let fanIn = dim;
  source.trunk.forEach((state, i) => {
    const weights = ntkLayer(state, fanIn, spec, `trunk layer ${i}`);
    fanIn = weights.width;
    const layer = dense(weights, `trunk_${i}`, 'relu', x);
    setters.push(layer.set);
    x = layer.output;
  });
  const model = tf.model({ inputs: input, outputs: x });
  tf.tidy(() => setters.forEach((set) => set()));
  return model;
}

/** What `tangent export` writes beside the models: which directory holds which task, and what they were made from. */
export interface ExportIndex {
  readonly format: 'tangent-export';
  readonly version: 1;
  /** Minibatches the exported model had learned (a checkpoint's); null when exported from the state in Kafka, which has no global count. */
  readonly modelVersion: number | null;
  readonly inputDim: number;
  readonly tasks: { readonly task: string; readonly path: string }[];
  readonly exportedFrom: string;
}

/** A directory name for a task id: readable when it can be, always unique and safe. */
export function taskDirectory(task: string): string {
  return encodeURIComponent(task).replace(/^\.+/, (dots) => '%2E'.repeat(dots.length));
}

/**
 * Saves a LayersModel as model.json + weights.bin in `dir` (the files
 * `tf.loadLayersModel` reads), without a file:// handler, so it works on
 * every backend.
 */
export async function saveLayersModel(model: tf.LayersModel, dir: string, metadata: Record<string, unknown>): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = artifacts.weightData instanceof ArrayBuffer ? artifacts.weightData : tf.io.concatenateArrayBuffers(artifacts.weightData ?? []);
      writeFileSync(join(dir, 'weights.bin'), Buffer.from(weights));
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers} (tangent export)`,
        convertedBy: null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
        userDefinedMetadata: { tangent: metadata as {} },
      };
      writeFileSync(join(dir, 'model.json'), `${JSON.stringify(modelJson)}\n`);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}
