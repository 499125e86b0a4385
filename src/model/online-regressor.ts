import * as tf from '@tensorflow/tfjs';
import type { Example, Query } from '../pipeline/records.js';
import type { ArchitectureSpec } from './architecture-spec.js';
import type { FineTunePhase, LearnResult, OnlineModel } from './online-model.js';
import { StratifiedReservoir, type ReplayState } from './replay-buffer.js';
import { RunningMoments, type RunningMomentsState } from './running-moments.js';
import { TrunkHeadsNetwork, type NetworkState, type TaskGroup } from './trunk-heads-network.js';

export interface FineTuneConfig {
  /** Run a fine-tuning phase every this many learned batches; 0 = only on demand. */
  readonly every: number;
  readonly steps: number;
  /** ρ: the trunk learns at ρ·η during a phase (ρ < 1 keeps pretrained features). */
  readonly trunkLearningRateRatio: number;
  readonly replayPerTask: number;
  readonly batchSize: number;
}

export interface OnlineRegressorConfig {
  readonly spec: ArchitectureSpec;
  readonly learningRate: number;
  readonly seed: number;
  readonly fineTune: FineTuneConfig;
}

interface StepResult {
  readonly applied: boolean;
  /** Mean squared error in standardised target units, before the step. */
  readonly loss: number;
}

/** Everything the regressor learned, for checkpoints (plain JSON; weights as base64 float32). */
export interface OnlineRegressorState {
  readonly network: NetworkState;
  /** Per task, in first-seen order. */
  readonly targetMoments: Record<string, RunningMomentsState>;
  readonly replay: ReplayState;
  readonly batchesSinceFineTune: number;
  readonly fineTunePending: boolean;
}

interface PreparedBatch {
  readonly input: Float32Array;
  readonly targets: Float32Array;
  readonly groups: TaskGroup[];
  /** order[k] = index in the caller's array of the k-th row after grouping by task. */
  readonly order: Int32Array;
}

/**
 * The neural model: per-minibatch SGD on the heads of the tasks present
 * (trunk frozen), plus fine-tuning phases that move the trunk at ρ·η.
 * Targets are standardised with running moments so one learning rate suits
 * tasks of any scale; predictions are returned in the target's own units.
 */
export class OnlineRegressor implements OnlineModel {
  readonly model = 'nn' as const;
  readonly network: TrunkHeadsNetwork;
  /**
   * Running moments of each task's targets: every head learns its task's
   * standardised target, so tasks that differ in scale and offset ask the
   * shared trunk for the same thing.
   */
  readonly targetMoments = new Map<string, RunningMoments>();
  readonly replay: StratifiedReservoir;
  private batchesSinceFineTune = 0;
  private fineTunePending = false;

  constructor(
    readonly config: OnlineRegressorConfig,
    saved?: OnlineRegressorState,
  ) {
    this.network = saved ? TrunkHeadsNetwork.fromJSON(config.spec, saved.network) : new TrunkHeadsNetwork(config.spec, config.seed);
    for (const [task, moments] of Object.entries(saved?.targetMoments ?? {})) this.targetMoments.set(task, RunningMoments.fromJSON(moments));
    this.replay = saved
      ? StratifiedReservoir.fromJSON(saved.replay)
      : new StratifiedReservoir(config.fineTune.replayPerTask, config.seed ^ 0x2e91a7);
    this.batchesSinceFineTune = saved?.batchesSinceFineTune ?? 0;
    this.fineTunePending = saved?.fineTunePending ?? false;
  }

  toJSON(): OnlineRegressorState {
    return {
      network: this.network.toJSON(),
      targetMoments: Object.fromEntries([...this.targetMoments].map(([task, moments]) => [task, moments.toJSON()])),
      replay: this.replay.toJSON(),
      batchesSinceFineTune: this.batchesSinceFineTune,
      fineTunePending: this.fineTunePending,
    };
  }

  /** Whether the task has a head: it has been scored at least once. */
  hasTask(task: string): boolean {
    return this.network.heads.has(task);
  }

  /** The task's target moments, created (empty: mean 0, std 1) on first sight. */
  targetMomentsOf(task: string): RunningMoments {
    let moments = this.targetMoments.get(task);
    if (!moments) this.targetMoments.set(task, (moments = new RunningMoments(1)));
    return moments;
  }

  /** Rows grouped by task; targets standardised when the rows are examples, zero for queries. */
  private prepare(examples: readonly (Query & { readonly y?: number })[]): PreparedBatch {
    const dim = this.config.spec.inputDim;
    const order = Int32Array.from(examples.keys()).sort((a, b) => {
      const ta = examples[a]!.task;
      const tb = examples[b]!.task;
      return ta < tb ? -1 : ta > tb ? 1 : a - b;
    });
    const input = new Float32Array(examples.length * dim);
    const targets = new Float32Array(examples.length);
    const groups: TaskGroup[] = [];
    order.forEach((index, row) => {
      const example = examples[index]!;
      input.set(example.x, row * dim);
      const moments = this.targetMomentsOf(example.task);
      targets[row] = example.y === undefined ? 0 : (example.y - moments.mean[0]!) / moments.standardDeviation(0);
      const last = groups[groups.length - 1];
      if (last && last.task === example.task) groups[groups.length - 1] = { ...last, count: last.count + 1 };
      else groups.push({ task: example.task, start: row, count: 1 });
    });
    return { input, targets, groups, order };
  }

  /** Prequential scoring: predictions (target units) before learning from the batch. */
  predict(examples: readonly Query[]): Float32Array {
    const predictions = new Float32Array(examples.length);
    if (examples.length === 0) return predictions;
    const batch = this.prepare(examples);
    const standardized = tf.tidy(() =>
      this.network.forward(tf.tensor2d(batch.input, [examples.length, this.config.spec.inputDim]), batch.groups).dataSync(),
    );
    batch.order.forEach((index, row) => {
      const moments = this.targetMomentsOf(examples[index]!.task);
      predictions[index] = moments.mean[0]! + moments.standardDeviation(0) * standardized[row]!;
    });
    return predictions;
  }

  /**
   * One SGD step on `variables` with per-variable learning rates. The numerical
   * guard reads the loss and the gradients' squared norm once; anything
   * non-finite rejects the whole step.
   */
  private sgdStep(batch: PreparedBatch, rates: Map<tf.Variable, number>): StepResult {
    const variables = [...rates.keys()];
    return tf.tidy(() => {
      const input = tf.tensor2d(batch.input, [batch.targets.length, this.config.spec.inputDim]);
      const targets = tf.tensor2d(batch.targets, [batch.targets.length, 1]);
      const { value, grads } = tf.variableGrads(
        () => tf.losses.meanSquaredError(targets, this.network.forward(input, batch.groups)) as tf.Scalar,
        variables,
      );
      const squaredNorm = tf.addN(variables.map((v) => tf.sum(tf.square(grads[v.name]!))));
      const [loss, norm] = tf.stack([value, squaredNorm]).dataSync();
      if (!Number.isFinite(loss) || !Number.isFinite(norm)) return { applied: false, loss: loss! };
      for (const v of variables) v.assign(tf.sub(v, tf.mul(grads[v.name]!, rates.get(v)!)));
      return { applied: true, loss: loss! };
    });
  }

  /**
   * Learns one minibatch: heads of the tasks present move at η, the trunk
   * stays; then runs a fine-tuning phase when one is due or was requested.
   */
  learn(examples: readonly Example[]): LearnResult {
    if (examples.length === 0) return { applied: true, loss: 0 };
    for (const example of examples) {
      this.targetMomentsOf(example.task).update([example.y]);
      this.replay.add(example);
    }
    const batch = this.prepare(examples);
    const rates = new Map(this.network.headVariables(batch.groups.map((g) => g.task)).map((v) => [v, this.config.learningRate]));
    const result = this.sgdStep(batch, rates);
    this.batchesSinceFineTune += 1;
    const due = this.config.fineTune.every > 0 && this.batchesSinceFineTune >= this.config.fineTune.every;
    return due || this.fineTunePending ? { ...result, fineTune: this.fineTune() } : result;
  }

  /** Asks for a fine-tuning phase after the next learned batch (e.g. on drift). */
  requestFineTune(): void {
    this.fineTunePending = true;
  }

  /**
   * A fine-tuning phase: `steps` SGD steps on replayed examples, the trunk at
   * ρ·η and the replayed tasks' heads at η.
   */
  fineTune(): FineTunePhase {
    const started = performance.now();
    const { steps, batchSize } = this.config.fineTune;
    let rejectedSteps = 0;
    let taken = 0;
    for (; taken < steps; taken++) {
      const sample = this.replay.sample(batchSize);
      if (sample.length === 0) break;
      if (!this.fineTuneStep(sample).applied) rejectedSteps += 1;
    }
    this.batchesSinceFineTune = 0;
    this.fineTunePending = false;
    return { steps: taken, rejectedSteps, seconds: (performance.now() - started) / 1000 };
  }

  /** One fine-tuning step on given examples: trunk at ρ·η, their heads at η. */
  fineTuneStep(examples: readonly Example[]): { applied: boolean; loss: number } {
    const batch = this.prepare(examples);
    const rates = new Map<tf.Variable, number>();
    const trunkRate = this.config.fineTune.trunkLearningRateRatio * this.config.learningRate;
    for (const v of this.network.trunkVariables()) rates.set(v, trunkRate);
    for (const v of this.network.headVariables(batch.groups.map((g) => g.task))) rates.set(v, this.config.learningRate);
    return this.sgdStep(batch, rates);
  }

  forgetTask(task: string): void {
    this.network.removeHead(task);
    this.targetMoments.delete(task);
    this.replay.forget(task);
  }

  dispose(): void {
    this.network.dispose();
  }
}
