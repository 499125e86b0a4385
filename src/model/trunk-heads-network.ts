import * as tf from '@tensorflow/tfjs';
import { decodeFloat32, encodeFloat32 } from '../math/float-codec.js';
import { ModelError } from '../errors.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { LayerWithBackward } from './custom-gradient.js';
import { meanSquaredError, meanSquaredErrorWithGradient } from './mean-squared-error.js';
import { applyNtkDense, applyReluNtkDenseWithBackward, createNtkDense, disposeNtkDense, type NtkDense } from './ntk-dense.js';
import { applyStackedLayer, applyStackedLayerWithBackward, createStackedLayer, disposeStackedLayer, growStackedLayer, writeSlot, type StackedLayer } from './stacked-heads.js';

/**
 * The network: a shared trunk of hidden layers and one head per task (hidden
 * layers + a scalar read-out), all NTK-parameterised from one spec. The heads
 * live stacked, one slot per task (stacked-heads.ts), so a forward or a
 * gradient over a batch of many tasks costs the same few kernels as one task.
 */
/** tfjs variable names are process-global; each network gets its own prefix. */
let networksCreated = 0;

/** Slots the stacked heads start with; they double when full. */
const initialSlots = 4;

export class TrunkHeadsNetwork {
  readonly trunk: NtkDense[];
  private readonly namePrefix = `net${(networksCreated += 1)}`;
  /** task → its slot in the stacked heads, in creation order (the checkpoint's order). */
  private readonly slots = new Map<string, number>();
  private readonly freeSlots: number[] = [];
  private headLayers: StackedLayer[] | undefined;
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
      const layer = createNtkDense(fanIn, width, seed + 1000 * i, `${this.namePrefix}/trunk/${i}`, spec);
      fanIn = width;
      return layer;
    });
  }

  get trunkWidth(): number {
    return this.spec.hidden.length > 0 ? this.spec.hidden[this.spec.hidden.length - 1]! : this.spec.inputDim;
  }

  /** The tasks that have a head, in creation order. */
  get tasks(): string[] {
    return [...this.slots.keys()];
  }

  hasHead(task: string): boolean {
    return this.slots.has(task);
  }

  /** Slots allocated in the stacked heads (at least the number of heads). */
  get slotCapacity(): number {
    return this.headLayers?.[0]!.weight.shape[0] ?? 0;
  }

  /** The slot of `task`'s head, the head created on first sight with a seed derived from creation order. */
  head(task: string): number {
    const existing = this.slots.get(task);
    if (existing !== undefined) return existing;
    const slot = this.freeSlots.pop() ?? this.slots.size;
    if (slot >= this.slotCapacity) this.allocate(Math.max(initialSlots, 2 * this.slotCapacity));
    const headSeed = this.seed + 1_000_003 * (this.headsCreated += 1);
    const layers = this.headLayers!;
    layers.forEach((layer, i) => {
      // The initial values a head has always had: N(0, 1) from its own seed per layer, the read-out at 0 under `zero`.
      const zero = i === layers.length - 1 && this.readout === 'zero';
      const [weight, bias] = tf.tidy(() =>
        zero
          ? [new Float32Array(layer.fanIn * layer.width), new Float32Array(layer.width)]
          : [
              tf.randomNormal([layer.fanIn, layer.width], 0, 1, 'float32', headSeed + 1000 * i).dataSync() as Float32Array,
              tf.randomNormal([layer.width], 0, 1, 'float32', headSeed + 1000 * i + 1).dataSync() as Float32Array,
            ],
      );
      writeSlot(layer, slot, weight, bias);
    });
    this.slots.set(task, slot);
    return slot;
  }

  private allocate(slots: number): void {
    const name = (i: number): string => `${this.namePrefix}/heads/${i}`;
    if (this.headLayers) {
      this.headLayers = this.headLayers.map((layer, i) => growStackedLayer(layer, slots, name(i)));
      return;
    }
    let fanIn = this.trunkWidth;
    this.headLayers = [...this.spec.headHidden, 1].map((width, i) => {
      const layer = createStackedLayer(fanIn, width, slots, name(i), this.spec);
      fanIn = width;
      return layer;
    });
  }

  /** A fresh head for `task` (after a divergence), seeded as a new head would be. */
  resetHead(task: string): void {
    this.removeHead(task);
    this.head(task);
  }

  removeHead(task: string): void {
    const slot = this.slots.get(task);
    if (slot === undefined) return;
    this.slots.delete(task);
    this.freeSlots.push(slot);
  }

  forwardTrunk(input: tf.Tensor2D): tf.Tensor2D {
    let activations = input;
    this.trunk.forEach((layer, i) => {
      activations = applyNtkDense(layer, activations, this.spec.activation, i > 0);
    });
    return activations;
  }

  /**
   * Each row's read-out through its own head: `slots` [n] int32 are the rows' head slots (see {@link slotsOf}).
   * `featuresGradient`: whether a gradient flows back into `features` (false when the trunk is frozen).
   */
  forwardHeads(features: tf.Tensor2D, slots: tf.Tensor1D, featuresGradient = true): tf.Tensor2D {
    const layers = this.headLayers;
    if (!layers) throw new ModelError('no head has been created yet');
    let activations = features;
    layers.forEach((layer, i) => {
      const output = applyStackedLayer(layer, activations, slots, i > 0 || featuresGradient);
      activations = i === layers.length - 1 ? output : this.spec.activation === 'relu' ? tf.relu(output) : tf.erf(output);
    });
    return activations;
  }

  /** The head slot of every row, from groups of consecutive rows (heads created as needed). */
  slotsOf(groups: readonly TaskGroup[]): Int32Array {
    const rows = new Int32Array(groups.reduce((n, g) => Math.max(n, g.start + g.count), 0));
    for (const { task, start, count } of groups) rows.fill(this.head(task), start, start + count);
    return rows;
  }

  /**
   * Predictions for rows grouped by task: `groups` are consecutive row ranges
   * of `input`, each one task's. Returns an [n, 1] tensor in row order.
   */
  forward(input: tf.Tensor2D, groups: readonly TaskGroup[]): tf.Tensor2D {
    const slots = this.slotsOf(groups);
    return this.forwardHeads(this.forwardTrunk(input), tf.tensor1d(slots, 'int32'));
  }

  /**
   * The mean squared error of the outputs on `input` against `targets` [n, 1], and its gradients
   * aligned with `[...trunkVariables(), ...headVariables()]` when `trainTrunk`, else with
   * `headVariables()` (the trunk's features then computed off the tape). With ReLU (the default) the
   * backward pass is run here, layer by layer, off the tape: the kernels tf.variableGrads runs, so the
   * same numbers bit for bit, without the engine recording and replaying them (~8% of a fine-tuning
   * step, ~6% of a heads' step, measured alternating in one process). An erf network goes through
   * tf.variableGrads.
   */
  lossAndGradients(input: tf.Tensor2D, slots: tf.Tensor1D, targets: tf.Tensor2D, trainTrunk: boolean): { loss: tf.Scalar; gradients: tf.Tensor[] } {
    const layers = this.headLayers;
    if (!layers) throw new ModelError('no head has been created yet');
    if (this.spec.activation !== 'relu') {
      const variables = trainTrunk ? [...this.trunkVariables(), ...this.headVariables()] : this.headVariables();
      const frozenFeatures = trainTrunk ? undefined : this.forwardTrunk(input);
      const { value, grads } = tf.variableGrads(() => meanSquaredError(this.forwardHeads(frozenFeatures ?? this.forwardTrunk(input), slots, trainTrunk), targets), variables);
      return { loss: value, gradients: variables.map((v) => grads[v.name]!) };
    }
    const trunk: LayerWithBackward[] = [];
    let activations = trainTrunk ? input : this.forwardTrunk(input);
    if (trainTrunk) {
      for (const layer of this.trunk) {
        trunk.push(applyReluNtkDenseWithBackward(layer, activations));
        activations = trunk[trunk.length - 1]!.value;
      }
    }
    const heads: LayerWithBackward[] = [];
    layers.forEach((layer, i) => {
      heads.push(applyStackedLayerWithBackward(layer, activations, slots));
      activations = i === layers.length - 1 ? heads[i]!.value : tf.relu(heads[i]!.value);
    });
    const { value, gradient } = meanSquaredErrorWithGradient(activations, targets);
    const gradients: tf.Tensor[] = [];
    let dy = gradient;
    for (let i = heads.length - 1; i >= 0; i--) {
      // tfjs' gradient of a ReLU between two head layers: dy · step(its input).
      if (i < heads.length - 1) dy = tf.mul(dy, tf.step(heads[i]!.value));
      const { weight, bias, input: inputGradient } = heads[i]!.backward(dy);
      gradients.unshift(weight, bias);
      if (i > 0 || trunk.length > 0) dy = inputGradient() as tf.Tensor2D;
    }
    for (let i = trunk.length - 1; i >= 0; i--) {
      const { weight, bias, input: inputGradient } = trunk[i]!.backward(dy);
      gradients.unshift(weight, bias);
      if (i > 0) dy = inputGradient() as tf.Tensor2D;
    }
    return { loss: value, gradients };
  }

  /** The tensors its kernels read besides its variables, which never change: every layer's NTK scales. */
  constants(): tf.Tensor[] {
    return [...this.trunk, ...(this.headLayers ?? [])].flatMap((layer) => [layer.scales.weight, layer.scales.bias]);
  }

  trunkVariables(): tf.Variable[] {
    return this.trunk.flatMap((l) => [l.weight, l.bias]);
  }

  /** The stacked heads' variables: every task's head, one slot each (layer by layer, weight then bias). */
  headVariables(): tf.Variable[] {
    return (this.headLayers ?? []).flatMap((l) => [l.weight, l.bias]);
  }

  toJSON(): NetworkState {
    const stacked = this.readHeads();
    return {
      seed: this.seed,
      headsCreated: this.headsCreated,
      trunk: this.trunk.map(layerState),
      heads: [...this.slots].map(([task, slot]) => ({ task, layers: slotState(stacked, slot) })),
    };
  }

  /** One task's head as saved state, or undefined when the task has none. */
  headState(task: string): LayerState[] | undefined {
    const slot = this.slots.get(task);
    return slot === undefined ? undefined : slotState(this.readHeads(), slot);
  }

  /** One task's head as numbers, layer by layer (weights [fanIn, width] row-major). */
  headParameters(task: string): { weight: Float32Array; bias: Float32Array }[] | undefined {
    const slot = this.slots.get(task);
    return slot === undefined ? undefined : slotParameters(this.readHeads(), slot);
  }

  /** Every task's head as numbers (see {@link headParameters}), in creation order, the stacked heads read once. */
  allHeadParameters(): Map<string, { weight: Float32Array; bias: Float32Array }[]> {
    const stacked = this.readHeads();
    return new Map([...this.slots].map(([task, slot]) => [task, slotParameters(stacked, slot)]));
  }

  /** Gives `task` the saved head (creating the head if needed), e.g. when the task's partition moves here. */
  loadHead(task: string, layers: readonly LayerState[]): void {
    const slot = this.head(task);
    const stacked = this.headLayers!;
    if (layers.length !== stacked.length) throw new ModelError(`saved head "${task}" has ${layers.length} layers, the architecture ${stacked.length}`);
    layers.forEach((state, i) => {
      const layer = stacked[i]!;
      const weight = decodeFloat32(state.weight);
      const bias = decodeFloat32(state.bias);
      if (weight.length !== layer.fanIn * layer.width || bias.length !== layer.width) {
        throw new ModelError(`head "${task}" layer ${i}: saved shape does not match the architecture (weights ${weight.length} vs ${layer.fanIn * layer.width})`);
      }
      writeSlot(layer, slot, weight, bias);
    });
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
    for (const { task, layers } of state.heads) network.loadHead(task, layers);
    network.headsCreated = state.headsCreated;
    return network;
  }

  /** Every stacked head layer's values, read once. */
  private readHeads(): StackedValues[] {
    return (this.headLayers ?? []).map((layer) => ({
      weight: layer.weight.dataSync() as Float32Array,
      bias: layer.bias.dataSync() as Float32Array,
      fanIn: layer.fanIn,
      width: layer.width,
    }));
  }

  dispose(): void {
    this.trunk.forEach(disposeNtkDense);
    this.headLayers?.forEach(disposeStackedLayer);
    this.headLayers = undefined;
    this.slots.clear();
    this.freeSlots.length = 0;
  }
}

interface StackedValues {
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly fanIn: number;
  readonly width: number;
}

function slotParameters(stacked: readonly StackedValues[], slot: number): { weight: Float32Array; bias: Float32Array }[] {
  return stacked.map(({ weight, bias, fanIn, width }) => ({
    weight: weight.slice(slot * fanIn * width, (slot + 1) * fanIn * width),
    bias: bias.slice(slot * width, (slot + 1) * width),
  }));
}

function slotState(stacked: readonly StackedValues[], slot: number): LayerState[] {
  return slotParameters(stacked, slot).map(({ weight, bias }) => ({ weight: encodeFloat32(weight), bias: encodeFloat32(bias) }));
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
