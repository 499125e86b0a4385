import * as tf from '@tensorflow/tfjs';
import { decodeFloat32, encodeFloat32 } from '../math/float-codec.js';
import { ModelError } from '../errors.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import { applyNtkDense, createNtkDense, disposeNtkDense, type NtkDense } from './ntk-dense.js';

/**
 * The network: a shared trunk of hidden layers and one head per task (hidden
 * layers + a scalar read-out), all NTK-parameterised from one spec.
 */
/** tfjs variable names are process-global; each network gets its own prefix. */
let networksCreated = 0;

export class TrunkHeadsNetwork {
  readonly trunk: NtkDense[];
  private readonly namePrefix = `net${(networksCreated += 1)}`;
  readonly heads = new Map<string, NtkDense[]>();
  private headsCreated = 0;

  /**
   * @param readout - `zero` starts each head's read-out layer (weights and
   *   bias) at 0: an untrained head outputs exactly 0, the task's standardised
   *   mean. Its gradients are the plain NTK ones (the read-out's gradient does
   *   not depend on its own weights), so the kernel of a head step is unchanged.
   */
  constructor(
    readonly spec: ArchitectureSpec,
    private readonly seed: number,
    readonly readout: 'zero' | 'random' = 'random',
  ) {
    let fanIn = spec.inputDim;
    this.trunk = spec.hidden.map((width, i) => {
      const layer = createNtkDense(fanIn, width, seed + 1000 * i, `${this.namePrefix}/trunk/${i}`);
      fanIn = width;
      return layer;
    });
  }

  get trunkWidth(): number {
    return this.spec.hidden.length > 0 ? this.spec.hidden[this.spec.hidden.length - 1]! : this.spec.inputDim;
  }

  /** The head of `task`, created on first sight with a seed derived from creation order. */
  head(task: string): NtkDense[] {
    let head = this.heads.get(task);
    if (!head) {
      const headSeed = this.seed + 1_000_003 * (this.headsCreated += 1);
      let fanIn = this.trunkWidth;
      const last = this.spec.headHidden.length;
      head = [...this.spec.headHidden, 1].map((width, i) => {
        const layer = createNtkDense(fanIn, width, headSeed + 1000 * i, `${this.namePrefix}/head/${task}/${i}`);
        if (i === last && this.readout === 'zero') tf.tidy(() => (layer.weight.assign(tf.zerosLike(layer.weight)), layer.bias.assign(tf.zerosLike(layer.bias))));
        fanIn = width;
        return layer;
      });
      this.heads.set(task, head);
    }
    return head;
  }

  /** A fresh head for `task` (after a divergence), seeded as a new head would be. */
  resetHead(task: string): void {
    this.removeHead(task);
    this.head(task);
  }

  removeHead(task: string): void {
    this.heads.get(task)?.forEach(disposeNtkDense);
    this.heads.delete(task);
  }

  forwardTrunk(input: tf.Tensor2D): tf.Tensor2D {
    let activations = input;
    for (const layer of this.trunk) activations = applyNtkDense(layer, activations, this.spec, this.spec.activation);
    return activations;
  }

  /** A head's read-out for trunk features; no activation after the last layer. */
  forwardHead(task: string, features: tf.Tensor2D): tf.Tensor2D {
    const layers = this.head(task);
    let activations = features;
    layers.forEach((layer, i) => {
      activations = applyNtkDense(layer, activations, this.spec, i === layers.length - 1 ? undefined : this.spec.activation);
    });
    return activations;
  }

  /**
   * Predictions for rows grouped by task: `groups` are consecutive row ranges
   * of `input`, each one task's. Returns an [n, 1] tensor in row order.
   */
  forward(input: tf.Tensor2D, groups: readonly TaskGroup[]): tf.Tensor2D {
    const features = this.forwardTrunk(input);
    const outputs = groups.map((g) => this.forwardHead(g.task, tf.slice(features, [g.start, 0], [g.count, -1])));
    return outputs.length === 1 ? outputs[0]! : tf.concat(outputs, 0);
  }

  trunkVariables(): tf.Variable[] {
    return this.trunk.flatMap((l) => [l.weight, l.bias]);
  }

  headVariables(tasks: Iterable<string>): tf.Variable[] {
    return [...tasks].flatMap((task) => this.head(task).flatMap((l) => [l.weight, l.bias]));
  }

  toJSON(): NetworkState {
    return {
      seed: this.seed,
      headsCreated: this.headsCreated,
      trunk: this.trunk.map(layerState),
      heads: [...this.heads].map(([task, layers]) => ({ task, layers: layers.map(layerState) })),
    };
  }

  /** One task's head as saved state, or undefined when the task has none. */
  headState(task: string): LayerState[] | undefined {
    return this.heads.get(task)?.map(layerState);
  }

  /** Gives `task` the saved head (creating the head if needed), e.g. when the task's partition moves here. */
  loadHead(task: string, layers: readonly LayerState[]): void {
    const head = this.head(task);
    if (layers.length !== head.length) throw new ModelError(`saved head "${task}" has ${layers.length} layers, the architecture ${head.length}`);
    layers.forEach((layer, i) => assignLayer(head[i]!, layer, `head "${task}" layer ${i}`));
  }

  /** The trunk's weights as saved state (for trunk synchronisation between members). */
  trunkState(): LayerState[] {
    return this.trunk.map(layerState);
  }

  /** Copies the trunk's weights from a saved state (a pretrained trunk, a checkpoint). */
  loadTrunk(trunk: readonly LayerState[]): void {
    if (trunk.length !== this.trunk.length) throw new ModelError(`saved trunk has ${trunk.length} layers, the architecture ${this.trunk.length}`);
    trunk.forEach((state, i) => assignLayer(this.trunk[i]!, state, `trunk layer ${i}`));
  }

  static fromJSON(spec: ArchitectureSpec, state: NetworkState, readout: 'zero' | 'random' = 'random'): TrunkHeadsNetwork {
    const network = new TrunkHeadsNetwork(spec, state.seed, readout);
    network.loadTrunk(state.trunk);
    network.headsCreated = 0;
    for (const { task, layers } of state.heads) {
      const head = network.head(task);
      if (layers.length !== head.length) throw new ModelError(`saved head "${task}" has ${layers.length} layers, the architecture ${head.length}`);
      layers.forEach((layer, i) => assignLayer(head[i]!, layer, `head "${task}" layer ${i}`));
    }
    network.headsCreated = state.headsCreated;
    return network;
  }

  dispose(): void {
    this.trunk.forEach(disposeNtkDense);
    for (const task of [...this.heads.keys()]) this.removeHead(task);
  }
}

export interface LayerState {
  readonly weight: string;
  readonly bias: string;
}

export interface NetworkState {
  readonly seed: number;
  readonly headsCreated: number;
  readonly trunk: LayerState[];
  /** In creation order, so a restored network seeds later heads the same way. */
  readonly heads: { task: string; layers: LayerState[] }[];
}

function layerState(layer: NtkDense): LayerState {
  return { weight: encodeFloat32(layer.weight.dataSync() as Float32Array), bias: encodeFloat32(layer.bias.dataSync() as Float32Array) };
}

function assignLayer(layer: NtkDense, state: LayerState, where: string): void {
  const weight = decodeFloat32(state.weight);
  const bias = decodeFloat32(state.bias);
  if (weight.length !== layer.weight.size || bias.length !== layer.bias.size) {
    throw new ModelError(`${where}: saved shape does not match the architecture (weights ${weight.length} vs ${layer.weight.size})`);
  }
  tf.tidy(() => {
    layer.weight.assign(tf.tensor2d(weight, layer.weight.shape));
    layer.bias.assign(tf.tensor1d(bias));
  });
}

export interface TaskGroup {
  readonly task: string;
  readonly start: number;
  readonly count: number;
}
