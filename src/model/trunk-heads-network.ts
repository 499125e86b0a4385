import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from './architecture-spec.js';
import { activate, applyNtkDense, createNtkDense, disposeNtkDense, type NtkDense } from './ntk-dense.js';

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

  constructor(
    readonly spec: ArchitectureSpec,
    private readonly seed: number,
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
      head = [...this.spec.headHidden, 1].map((width, i) => {
        const layer = createNtkDense(fanIn, width, headSeed + 1000 * i, `${this.namePrefix}/head/${task}/${i}`);
        fanIn = width;
        return layer;
      });
      this.heads.set(task, head);
    }
    return head;
  }

  removeHead(task: string): void {
    this.heads.get(task)?.forEach(disposeNtkDense);
    this.heads.delete(task);
  }

  forwardTrunk(input: tf.Tensor2D): tf.Tensor2D {
    let activations = input;
    for (const layer of this.trunk) activations = activate(applyNtkDense(layer, activations, this.spec), this.spec.activation);
    return activations;
  }

  /** A head's read-out for trunk features; no activation after the last layer. */
  forwardHead(task: string, features: tf.Tensor2D): tf.Tensor2D {
    const layers = this.head(task);
    let activations = features;
    layers.forEach((layer, i) => {
      const preActivation = applyNtkDense(layer, activations, this.spec);
      activations = i === layers.length - 1 ? preActivation : activate(preActivation, this.spec.activation);
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

  dispose(): void {
    this.trunk.forEach(disposeNtkDense);
    for (const task of [...this.heads.keys()]) this.removeHead(task);
  }
}

export interface TaskGroup {
  readonly task: string;
  readonly start: number;
  readonly count: number;
}
