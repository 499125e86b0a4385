import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../errors.js';
import { decodeFloat32 } from '../math/float-codec.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { RobustBandState } from './robust-band.js';

/** Per feature, the band's edges; null: unbounded. */
export type FeatureBounds = Pick<RobustBandState, 'low' | 'high'>;
import { RunningMoments, type RunningMomentsState } from './running-moments.js';
import type { LayerState } from './trunk-heads-network.js';

/**
 * tangent's network as standard TensorFlow.js LayersModels: plain Dense
 * layers that `tf.loadLayersModel` reads in Node and in the browser, with
 * nothing of tangent needed to use them.
 *
 * Everything tangent does around the weights is folded into them, in float64
 * and rounded once to float32:
 * - NTK parameterisation: `(σ_w/√fan_in)·W` and `σ_b·b` become the weights;
 * - the scale stage's clipping of outlying features to their robust band: a
 *   pair of ReLU layers in front (clip(x) = high − relu(high − low − relu(x − low)));
 * - input standardisation `(x − μ)/σ`: into the first layer,
 *   `W₁ ← W₁/σ` (row-wise), `b₁ ← b₁ − (μ/σ)·W₁`;
 * - target de-standardisation `m + s·out`: into the read-out, `W ← s·W`, `b ← s·b + m`.
 * So a model takes the raw features `x` and returns y in the task's own units.
 */
export interface ExportSource {
  readonly spec: ArchitectureSpec;
  readonly trunk: readonly LayerState[];
  readonly head: readonly LayerState[];
  readonly featureMoments: RunningMomentsState;
  readonly targetMoments: RunningMomentsState;
  /** The scale stage's feature band (robust-band.ts): exported as ReLU layers in front of the trunk once it applies; absent in older checkpoints. */
  readonly featureBand: FeatureBounds | undefined;
}

interface FoldedLayer {
  readonly weight: Float64Array;
  readonly bias: Float64Array;
  readonly fanIn: number;
  readonly width: number;
}

function ntkLayer(state: LayerState, fanIn: number, spec: ArchitectureSpec, where: string): FoldedLayer {
  const weight = decodeFloat32(state.weight);
  const bias = decodeFloat32(state.bias);
  const width = bias.length;
  if (weight.length !== fanIn * width) throw new ModelError(`${where}: ${weight.length} weights, expected ${fanIn}×${width}`);
  const weightScale = Math.sqrt(spec.sigmaW2 / fanIn);
  const biasScale = Math.sqrt(spec.sigmaB2);
  return {
    weight: Float64Array.from(weight, (w) => w * weightScale),
    bias: Float64Array.from(bias, (b) => b * biasScale),
    fanIn,
    width,
  };
}

/** `(x − μ)/σ` in front of `layer`, folded into it: `W ← W/σ` (row-wise), `b ← b − (μ/σ)·W`. */
function foldStandardisation(layer: FoldedLayer, mean: (i: number) => number, std: (i: number) => number): void {
  for (let i = 0; i < layer.fanIn; i++) {
    for (let j = 0; j < layer.width; j++) {
      const w = layer.weight[i * layer.width + j]! / std(i);
      layer.weight[i * layer.width + j] = w;
      layer.bias[j]! -= mean(i) * w;
    }
  }
}

/** The folded Dense layers of one task's network: trunk then head, weights [fanIn, width] row-major. */
export function foldedLayers(source: ExportSource): FoldedLayer[] {
  const { spec } = source;
  if (spec.activation !== 'relu') {
    throw new ModelError(`export needs model.activation relu: TensorFlow.js layers have no built-in "${spec.activation}" activation`);
  }
  let fanIn = spec.inputDim;
  const layers = [...source.trunk.map((l, i) => ({ l, where: `trunk layer ${i}` })), ...source.head.map((l, i) => ({ l, where: `head layer ${i}` }))].map(
    ({ l, where }) => {
      const layer = ntkLayer(l, fanIn, spec, where);
      fanIn = layer.width;
      return layer;
    },
  );
  if (layers.length === 0 || layers[layers.length - 1]!.width !== 1) throw new ModelError('a task network must end in a one-unit read-out');

  const features = RunningMoments.fromJSON(source.featureMoments);
  const first = layers[0]!;
  foldStandardisation(first, (i) => features.mean[i]!, (i) => features.standardDeviation(i));
  // Clipping x to [low, high] as two ReLU layers in front, r = relu(x − low) then s = relu((high − low) − r), so that
  // clip(x) = high − s, whose linear part folds into the first layer. No intermediate grows with |x|: an outlier
  // is clipped exactly, not as the difference of two large numbers.
  const band = source.featureBand;
  if (band && band.low.every((l) => l !== null) && band.high.every((h) => h !== null)) {
    const dim = first.fanIn;
    const identity = (sign: number): Float64Array => {
      const w = new Float64Array(dim * dim);
      for (let i = 0; i < dim; i++) w[i * dim + i] = sign;
      return w;
    };
    const low = new Float64Array(dim);
    const high = new Float64Array(dim);
    for (let i = 0; i < dim; i++) {
      low[i] = Math.fround(band.low[i]!);
      high[i] = Math.fround(band.high[i]!);
    }
    const bias = Float64Array.from(first.bias);
    const weight = Float64Array.from(first.weight, (w) => -w);
    for (let i = 0; i < dim; i++) for (let j = 0; j < first.width; j++) bias[j]! += high[i]! * first.weight[i * first.width + j]!;
    layers[0] = { weight, bias, fanIn: dim, width: first.width };
    layers.unshift(
      { weight: identity(1), bias: Float64Array.from(low, (l) => -l), fanIn: dim, width: dim },
      { weight: identity(-1), bias: Float64Array.from(high, (h, i) => h - low[i]!), fanIn: dim, width: dim },
    );
  }
  const target = RunningMoments.fromJSON(source.targetMoments);
  const last = layers[layers.length - 1]!;
  const scale = target.standardDeviation(0);
  for (let i = 0; i < last.weight.length; i++) last.weight[i]! *= scale;
  last.bias[0] = last.bias[0]! * scale + target.mean[0]!;
  return layers;
}

/** One task's network as a tf.Sequential of Dense layers (the caller disposes it). */
export function taskLayersModel(source: ExportSource): tf.Sequential {
  const layers = foldedLayers(source);
  const clipLayers = layers.length - source.trunk.length - source.head.length;
  const nameOf = (i: number): string =>
    i < clipLayers ? `feature_clip_${i}` : i - clipLayers < source.trunk.length ? `trunk_${i - clipLayers}` : `head_${i - clipLayers - source.trunk.length}`;
  const model = tf.sequential();
  layers.forEach((layer, i) => {
    const last = i === layers.length - 1;
    model.add(
      tf.layers.dense({
        units: layer.width,
        activation: last ? 'linear' : 'relu',
        useBias: true,
        name: nameOf(i),
        ...(i === 0 ? { inputShape: [source.spec.inputDim] } : {}),
      }),
    );
  });
  tf.tidy(() => {
    model.layers.forEach((dense, i) => {
      const layer = layers[i]!;
      dense.setWeights([tf.tensor2d(Float32Array.from(layer.weight), [layer.fanIn, layer.width]), tf.tensor1d(Float32Array.from(layer.bias))]);
    });
  });
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
 * A trunk as a tf.Sequential of ReLU Dense layers: raw features in, the last
 * hidden layer's features out, NTK scales and the input standardisation folded
 * into the weights (the caller disposes it). Loadable with plain
 * `tf.loadLayersModel`, e.g. as the feature extractor of another model.
 */
export function trunkLayersModel(source: TrunkExportSource): tf.Sequential {
  const { spec } = source;
  if (spec.activation !== 'relu') {
    throw new ModelError(`export needs model.activation relu: TensorFlow.js layers have no built-in "${spec.activation}" activation`);
  }
  if (source.inputMean.length !== spec.inputDim || source.inputStd.length !== spec.inputDim) {
    throw new ModelError(`the trunk's input moments have ${source.inputMean.length}/${source.inputStd.length} values, expected inputDim ${spec.inputDim}`);
  }
  let fanIn = spec.inputDim;
  const layers = source.trunk.map((state, i) => {
    const layer = ntkLayer(state, fanIn, spec, `trunk layer ${i}`);
    fanIn = layer.width;
    return layer;
  });
  if (layers.length === 0) throw new ModelError('a trunk needs at least one layer');
  foldStandardisation(layers[0]!, (i) => source.inputMean[i]!, (i) => source.inputStd[i]!);
  const model = tf.sequential();
  layers.forEach((layer, i) =>
    model.add(tf.layers.dense({ units: layer.width, activation: 'relu', useBias: true, name: `trunk_${i}`, ...(i === 0 ? { inputShape: [spec.inputDim] } : {}) })),
  );
  tf.tidy(() => {
    model.layers.forEach((dense, i) => {
      const layer = layers[i]!;
      dense.setWeights([tf.tensor2d(Float32Array.from(layer.weight), [layer.fanIn, layer.width]), tf.tensor1d(Float32Array.from(layer.bias))]);
    });
  });
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
