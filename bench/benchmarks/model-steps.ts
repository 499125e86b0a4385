/**
 * model-steps — tfjs kernels issued per model step and wall time per step,
 * at 3 and at 64 tasks, for the three steps the network takes on the hot
 * path: prequential scoring of a batch (`predict`), the heads' step
 * (`learn` with no fine-tuning phase due) and one fine-tuning step on
 * replayed records (`fineTuneStep`). A small MLP step is op-dispatch bound,
 * so kernels per step is the number that sets its cost; it should not grow
 * with the number of tasks in a batch.
 *
 * Kernels are counted with tf.profile (every kernel the backend runs,
 * gradients included) on a model running kernel by kernel; on the native
 * backend the default model runs those same kernels as one TensorFlow graph
 * call per step (`model.compiledSteps`), and both are timed, alternating,
 * on the same batches: medians of unprofiled steps. The two models stay in
 * lockstep (their steps give the same numbers bit for bit), which the
 * benchmark checks on their networks at the end.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/model/backend.js';
import { compileOnRun } from '../../src/model/compiled-steps.js';
import { OnlineRegressor, type OnlineRegressorConfig } from '../../src/model/online-regressor.js';
import type { Example } from '../../src/spec/example.js';
import { loadAverage, median, progress, uniformRandom, type BenchContext } from '../lib/common.js';

const batchSize = 64;
const inputDim = 10;
const taskCounts = [3, 64] as const;
const stepKinds = ['score', 'heads', 'fineTune'] as const;
type StepKind = (typeof stepKinds)[number];

export interface StepMeasurement {
  readonly tasks: number;
  readonly step: StepKind;
  /** Kernels of one step run kernel by kernel, from tf.profile. */
  readonly kernels: number;
  /** Kernels tf.profile sees in one step of the default model (0 when the whole step is one graph call). */
  readonly compiledKernels: number;
  /** Kernel name → count, for reading where the ops go. */
  readonly kernelNames: Record<string, number>;
  /** Task groups in the measured batch. */
  readonly taskGroups: number;
  /** The default model (compiled steps on the native backend). */
  readonly medianMs: number;
  /** The same steps run kernel by kernel. */
  readonly kernelByKernelMedianMs: number;
  readonly steps: number;
}

export interface ModelStepsResult {
  readonly benchmark: 'model-steps';
  readonly setup: string;
  readonly measurements: readonly StepMeasurement[];
  /** Kernels per step at 64 tasks over kernels at 3 tasks, per step kind (1 = independent of the task count). */
  readonly kernelGrowth: Record<StepKind, number>;
  readonly loadAverageBefore: readonly number[];
  readonly loadAverageAfter: readonly number[];
  readonly backend: string;
  /** Graphs the default model had loaded at the end, per task count (0: its steps ran kernel by kernel). */
  readonly compiledGraphs: Record<number, number>;
}

function regressorConfig(seed: number, compiledSteps: boolean): OnlineRegressorConfig {
  return {
    spec: { inputDim, hidden: [64, 64], headHidden: [], activation: 'relu', sigmaW2: 2, sigmaB2: 0.1 },
    learningRate: 'auto',
    learningRateSafety: 0.7,
    readout: 'zero',
    lookahead: 0.2,
    seed,
    // every: 0 keeps fine-tuning phases out of `learn`; the fine-tuning step is measured on its own.
    fineTune: { every: 0, steps: 20, trunkLearningRateRatio: 1, replayPerTask: 1000, batchSize },
    compiledSteps,
    onCompiledStepsOff: (reason) => {
      throw new Error(`compiled steps turned off: ${reason}`);
    },
  };
}

/** A batch of `batchSize` records, each of a task drawn uniformly from `tasks`. */
function makeBatch(random: () => number, tasks: number): Example[] {
  return Array.from({ length: batchSize }, () => {
    const task = Math.floor(random() * tasks);
    const x = Float32Array.from({ length: inputDim }, () => 2 * random() - 1);
    const y = Math.sin(3 * x[0]! + task) + x[1]! * x[2]! + 0.1 * (random() - 0.5);
    return { task: `task-${task}`, x, y, ts: 0 };
  });
}

async function kernelsOf(step: () => unknown): Promise<Record<string, number>> {
  const profile = await tf.profile(() => {
    step();
  });
  const names: Record<string, number> = {};
  for (const kernel of profile.kernels) names[kernel.name] = (names[kernel.name] ?? 0) + 1;
  return names;
}

export async function measureModelSteps(quick: boolean): Promise<ModelStepsResult> {
  const backend = await selectBackend('auto');
  const loadAverageBefore = loadAverage();
  const timedSteps = quick ? 20 : 200;
  const measurements: StepMeasurement[] = [];
  let done = 0;
  const compiledGraphs: Record<number, number> = {};
  for (const tasks of taskCounts) {
    const random = uniformRandom(7 + tasks);
    const compiled = new OnlineRegressor(regressorConfig(42, true));
    const kernelByKernel = new OnlineRegressor(regressorConfig(42, false));
    const models = [compiled, kernelByKernel];
    // Warm-up: every task has a head, moments and replay; tfjs has compiled its kernels, the default model its graphs.
    for (let i = 0; i < Math.max(20, 2 * tasks); i++) {
      const batch = makeBatch(random, tasks);
      for (const model of models) model.learn(batch);
    }
    for (const step of stepKinds) {
      progress(`${tasks} tasks: ${step}`, done++, taskCounts.length * stepKinds.length);
      const batches = Array.from({ length: timedSteps + compileOnRun + 3 }, () => (step === 'fineTune' ? compiled.replay.sample(batchSize) : makeBatch(random, tasks)));
      const run = (model: OnlineRegressor, batch: Example[]): unknown =>
        step === 'score' ? model.predict(batch) : step === 'heads' ? model.learn(batch) : model.fineTuneStep(batch);
      // The default model compiles this step's graph after compileOnRun runs (if warm-up has not) and checks it
      // against the kernels on the graph's first run; the run after is profiled.
      const warm = compileOnRun + 2;
      const kernelNames = await kernelsOf(() => run(kernelByKernel, batches[0]!));
      run(compiled, batches[0]!);
      for (const batch of batches.slice(1, warm)) for (const model of models) run(model, batch);
      const compiledKernels = Object.values(await kernelsOf(() => run(compiled, batches[warm]!))).reduce((a, b) => a + b, 0);
      run(kernelByKernel, batches[warm]!);
      const times = { compiled: [] as number[], kernelByKernel: [] as number[] };
      batches.slice(warm + 1).forEach((batch, i) => {
        // Alternating which goes first, so neither always runs on a cache the other warmed.
        for (const name of i % 2 === 0 ? (['compiled', 'kernelByKernel'] as const) : (['kernelByKernel', 'compiled'] as const)) {
          const started = performance.now();
          run(name === 'compiled' ? compiled : kernelByKernel, batch);
          times[name].push(performance.now() - started);
        }
      });
      measurements.push({
        tasks,
        step,
        kernels: Object.values(kernelNames).reduce((a, b) => a + b, 0),
        compiledKernels,
        kernelNames,
        taskGroups: new Set(batches[0]!.map((e) => e.task)).size,
        medianMs: +median(times.compiled).toFixed(3),
        kernelByKernelMedianMs: +median(times.kernelByKernel).toFixed(3),
        steps: times.compiled.length,
      });
    }
    // The networks, not the whole states: the replayed batches are drawn from the default model's reservoir alone.
    if (JSON.stringify(compiled.network.toJSON()) !== JSON.stringify(kernelByKernel.network.toJSON())) {
      throw new Error(`at ${tasks} tasks the compiled model's network differs from the kernel-by-kernel model's`);
    }
    compiledGraphs[tasks] = compiled.compiledStepGraphs;
    for (const model of models) model.dispose();
  }
  progress('done', done, done);
  const kernels = (tasks: number, step: StepKind): number => measurements.find((m) => m.tasks === tasks && m.step === step)!.kernels;
  const kernelGrowth = Object.fromEntries(stepKinds.map((s) => [s, +(kernels(64, s) / kernels(3, s)).toFixed(3)])) as Record<StepKind, number>;
  return {
    benchmark: 'model-steps',
    setup: `OnlineRegressor with the default network (${inputDim} → 64 → 64 → 1 per task, ReLU, auto η, look-ahead 0.2), batch ${batchSize}, tasks drawn uniformly; ${timedSteps} timed steps per row after warm-up`,
    measurements,
    kernelGrowth,
    loadAverageBefore,
    loadAverageAfter: loadAverage(),
    backend: backend.name,
    compiledGraphs,
  };
}

export async function run(ctx: BenchContext): Promise<ModelStepsResult> {
  return measureModelSteps(ctx.quick);
}
