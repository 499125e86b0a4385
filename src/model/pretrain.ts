import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../errors.js';
import { SeededRandom } from '../math/seeded-random.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import { RunningMoments } from './running-moments.js';
import { TrunkHeadsNetwork, type LayerState, type TaskGroup } from './trunk-heads-network.js';

/** One training example for pretraining; `task` defaults to a single task. */
export interface PretrainExample {
  readonly task?: string;
  readonly x: ArrayLike<number>;
  readonly y: number;
}

export interface PretrainProgress {
  /** 1-based epoch in progress. */
  readonly epoch: number;
  readonly epochs: number;
  /** Minibatches done in this epoch, and per epoch. */
  readonly batch: number;
  readonly batches: number;
  /** Mean squared error of the last minibatch, in standardised target units. */
  readonly loss: number;
  /** Mean squared error over this epoch's minibatches so far (before each one's step), standardised units. */
  readonly epochLoss: number;
}

export interface PretrainOptions {
  /** The pipeline's spec: the trunk is `spec.hidden`; temporary heads use `spec.headHidden`. */
  readonly spec: ArchitectureSpec;
  readonly examples: Iterable<PretrainExample> | AsyncIterable<PretrainExample>;
  readonly epochs: number;
  readonly batchSize: number;
  /** η: plain SGD on trunk and heads alike (pretraining is not fine-tuning, no ρ). */
  readonly learningRate: number;
  readonly seed: number;
  readonly onProgress?: (progress: PretrainProgress) => void;
}

export interface PretrainResult {
  /** The trunk's weights, ready for `TrunkHeadsNetwork.loadTrunk` or `saveTrunkArtifact`. */
  readonly trunk: LayerState[];
  /** Mean absolute error on the training examples after the last epoch, in target units. */
  readonly trainingMae: number;
  readonly examples: number;
  readonly tasks: string[];
  /** Moments the features and targets were standardised with. */
  readonly inputMean: number[];
  readonly inputStd: number[];
  readonly targetMean: number;
  readonly targetStd: number;
  /** SGD steps the numerical guard rejected (non-finite loss or gradient). */
  readonly rejectedSteps: number;
}

const defaultTask = 'pretrain';

/** In-memory, standardised copy of the examples: rows of x, targets, task index per row. */
interface Dataset {
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly taskOf: Int32Array;
  readonly tasks: string[];
  readonly inputMoments: RunningMoments;
  readonly targetMoments: RunningMoments;
}

async function collect(spec: ArchitectureSpec, examples: PretrainOptions['examples']): Promise<Dataset> {
  const dim = spec.inputDim;
  let x = new Float32Array(1024 * dim);
  let y = new Float32Array(1024);
  let taskOf = new Int32Array(1024);
  const taskIndex = new Map<string, number>();
  const inputMoments = new RunningMoments(dim);
  const targetMoments = new RunningMoments(1);
  let count = 0;
  for await (const example of examples) {
    if (example.x.length !== dim) {
      throw new ModelError(`pretraining example ${count} has ${example.x.length} features, the model's inputDim is ${dim}`);
    }
    if (count === y.length) {
      const grow = <T extends Float32Array | Int32Array>(a: T, make: (n: number) => T): T => {
        const bigger = make(a.length * 2);
        bigger.set(a);
        return bigger;
      };
      x = grow(x, (n) => new Float32Array(n));
      y = grow(y, (n) => new Float32Array(n));
      taskOf = grow(taskOf, (n) => new Int32Array(n));
    }
    const task = example.task ?? defaultTask;
    let index = taskIndex.get(task);
    if (index === undefined) taskIndex.set(task, (index = taskIndex.size));
    x.set(example.x, count * dim);
    y[count] = example.y;
    taskOf[count] = index;
    inputMoments.update(example.x);
    targetMoments.update([example.y]);
    count += 1;
  }
  if (count === 0) throw new ModelError('pretraining needs at least one example, got none');
  x = x.slice(0, count * dim);
  y = y.slice(0, count);
  taskOf = taskOf.slice(0, count);
  const row = new Float32Array(dim);
  for (let i = 0; i < count; i++) {
    inputMoments.standardize(x.subarray(i * dim, (i + 1) * dim), row);
    x.set(row, i * dim);
    y[i] = (y[i]! - targetMoments.mean[0]!) / targetMoments.standardDeviation(0);
  }
  return { x, y, taskOf, tasks: [...taskIndex.keys()], inputMoments, targetMoments };
}

/** Rows `indices` of the dataset grouped by task, as the network's forward pass wants them. */
function minibatch(data: Dataset, indices: ArrayLike<number>, dim: number): { input: Float32Array; targets: Float32Array; groups: TaskGroup[] } {
  const rows = Array.from(indices).sort((a, b) => data.taskOf[a]! - data.taskOf[b]! || a - b);
  const input = new Float32Array(rows.length * dim);
  const targets = new Float32Array(rows.length);
  const groups: TaskGroup[] = [];
  rows.forEach((index, row) => {
    input.set(data.x.subarray(index * dim, (index + 1) * dim), row * dim);
    targets[row] = data.y[index]!;
    const task = data.tasks[data.taskOf[index]!]!;
    const last = groups[groups.length - 1];
    if (last && last.task === task) groups[groups.length - 1] = { ...last, count: last.count + 1 };
    else groups.push({ task, start: row, count: 1 });
  });
  return { input, targets, groups };
}

/**
 * Pretrains a trunk on a source task: the whole network (trunk and one
 * temporary head per task in the data) by plain minibatch SGD at η on the
 * mean squared error, features and targets standardised with the data's own
 * moments (the consumer standardises its features the same way, online).
 * Examples are held in memory; each epoch visits them in a seeded shuffle.
 * The heads are thrown away: only the trunk is returned.
 */
export async function pretrainTrunk(options: PretrainOptions): Promise<PretrainResult> {
  const { spec, epochs, batchSize, learningRate, seed } = options;
  if (!Number.isInteger(epochs) || epochs < 1) throw new ModelError(`pretraining epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ModelError(`pretraining batch size must be a positive integer, got ${batchSize}`);
  if (!(learningRate > 0)) throw new ModelError(`pretraining learning rate must be positive, got ${learningRate}`);
  const dim = spec.inputDim;
  const data = await collect(spec, options.examples);
  const count = data.y.length;
  const batches = Math.ceil(count / batchSize);
  const network = new TrunkHeadsNetwork(spec, seed);
  const random = SeededRandom.fromSeed(seed ^ 0x7e1a);
  let rejectedSteps = 0;
  try {
    for (const task of data.tasks) network.head(task);
    const variables = [...network.trunkVariables(), ...network.headVariables()];
    const order = Int32Array.from({ length: count }, (_, i) => i);
    for (let epoch = 1; epoch <= epochs; epoch++) {
      let squaredErrorSum = 0;
      let rowsSeen = 0;
      for (let i = count - 1; i > 0; i--) {
        const j = random.integerBelow(i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (let b = 0; b < batches; b++) {
        const { input, targets, groups } = minibatch(data, order.subarray(b * batchSize, Math.min(count, (b + 1) * batchSize)), dim);
        const loss = tf.tidy(() => {
          const inputs = tf.tensor2d(input, [targets.length, dim]);
          const labels = tf.tensor2d(targets, [targets.length, 1]);
          const { value, grads } = tf.variableGrads(
            () => tf.losses.meanSquaredError(labels, network.forward(inputs, groups)) as tf.Scalar,
            variables,
          );
          const squaredNorm = tf.addN(variables.map((v) => tf.sum(tf.square(grads[v.name]!))));
          const [lossValue, norm] = [value.dataSync()[0]!, squaredNorm.dataSync()[0]!];
          if (!Number.isFinite(lossValue) || !Number.isFinite(norm)) {
            rejectedSteps += 1;
            return lossValue;
          }
          for (const v of variables) v.assign(tf.sub(v, tf.mul(grads[v.name]!, learningRate)));
          return lossValue;
        });
        if (Number.isFinite(loss)) {
          squaredErrorSum += loss * targets.length;
          rowsSeen += targets.length;
        }
        options.onProgress?.({ epoch, epochs, batch: b + 1, batches, loss, epochLoss: rowsSeen > 0 ? squaredErrorSum / rowsSeen : Number.NaN });
      }
    }

    const targetMean = data.targetMoments.mean[0]!;
    const targetStd = data.targetMoments.standardDeviation(0);
    let absoluteError = 0;
    const evaluation = Int32Array.from({ length: count }, (_, i) => i);
    const chunk = 4096;
    for (let start = 0; start < count; start += chunk) {
      const rows = evaluation.subarray(start, Math.min(count, start + chunk));
      const { input, targets, groups } = minibatch(data, rows, dim);
      const predictions = tf.tidy(() => network.forward(tf.tensor2d(input, [targets.length, dim]), groups).dataSync());
      for (let i = 0; i < targets.length; i++) absoluteError += Math.abs(predictions[i]! - targets[i]!) * targetStd;
    }
    return {
      trunk: network.toJSON().trunk,
      trainingMae: absoluteError / count,
      examples: count,
      tasks: data.tasks,
      inputMean: Array.from(data.inputMoments.mean),
      inputStd: Array.from(data.inputMoments.mean, (_, i) => data.inputMoments.standardDeviation(i)),
      targetMean,
      targetStd,
      rejectedSteps,
    };
  } finally {
    network.dispose();
  }
}
