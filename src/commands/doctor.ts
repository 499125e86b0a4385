import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { Option, type Command } from 'commander';
import { selectBackend, type BackendPreference } from '../model/backend.js';

interface NativeBinding {
  readonly TF_Version?: string;
}

/** Times one SGD step of a 32→256→256→1 ReLU MLP on a batch of 256 (the benchmarks' reference step). */
function measureStep(steps: number): number {
  const widths = [32, 256, 256, 1];
  const weights = widths.slice(1).map((w, i) => tf.variable(tf.randomNormal([widths[i]!, w], 0, Math.sqrt(2 / widths[i]!), 'float32', i)));
  const input = tf.randomNormal([256, 32], 0, 1, 'float32', 7);
  const target = tf.randomNormal([256, 1], 0, 1, 'float32', 8);
  const step = (): void =>
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        let h: tf.Tensor2D = input as tf.Tensor2D;
        weights.forEach((w, i) => {
          h = tf.matMul(h, w);
          if (i < weights.length - 1) h = tf.relu(h);
        });
        return tf.losses.meanSquaredError(target, h) as tf.Scalar;
      }, weights);
      for (const w of weights) w.assign(tf.sub(w, tf.mul(grads[w.name]!, 0.01)));
      weights[0]!.dataSync();
    });
  for (let i = 0; i < 3; i++) step();
  const started = performance.now();
  for (let i = 0; i < steps; i++) step();
  const msPerStep = (performance.now() - started) / steps;
  weights.forEach((w) => w.dispose());
  input.dispose();
  target.dispose();
  return msPerStep;
}

/** Adds `tangent doctor` to the program. */
export function addDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('which TensorFlow.js backend loads, its versions, threads and a measured step time')
    .addOption(new Option('--backend <name>', 'backend to try').choices(['auto', 'tensorflow', 'wasm', 'cpu']).env('TANGENT_BACKEND').default('auto'))
    .action(async (options: { backend: BackendPreference }) => {
      process.exitCode = await doctorCommand(options.backend);
    });
}

/** `tangent doctor`: which backend loads, its versions and threads, and a measured step time. */
export async function doctorCommand(preference: BackendPreference): Promise<number> {
  const choice = await selectBackend(preference);
  const binding = (tf.backend() as unknown as { binding?: NativeBinding }).binding;
  const msPerStep = measureStep(20);
  const report = {
    backend: choice.name,
    package: choice.source,
    tfjsVersion: tf.version.tfjs,
    tensorflowVersion: binding?.TF_Version ?? null,
    // libtensorflow's intra-op pool defaults to one thread per core; wasm and cpu run on the JS thread in Node.
    threads: choice.name === 'tensorflow' ? availableParallelism() : 1,
    skipped: choice.skipped,
    step: { model: '32→256→256→1 ReLU, batch 256, SGD', msPerStep: Number(msPerStep.toFixed(3)), recordsPerSecond: Math.round((256 * 1000) / msPerStep) },
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return 0;
}
