import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../src/model/backend.js';
import { CompiledSteps, compileOnRun, maxGraphs, verifyEvery } from '../../../src/model/compiled-steps.js';
import type { NamedTensors } from '../../../src/model/kernel-trace.js';

/** A dense ReLU layer and its loss: the kind of kernels a model step runs, with shape constants and an uploaded scalar. */
function layerStep(inputs: NamedTensors, scale: tf.Scalar): NamedTensors {
  const x = inputs.x as tf.Tensor2D;
  const hidden = tf.relu(tf.add(tf.matMul(x, tf.mul(inputs.w!, scale) as tf.Tensor2D), inputs.b!));
  const out = tf.reshape(tf.sum(hidden, 1), [x.shape[0], 1]);
  return { out, loss: tf.mean(tf.squaredDifference(out, inputs.y!)), scaled: tf.mul(out, 2 / x.shape[0]) };
}

function randomInputs(seed: number): NamedTensors {
  return {
    x: tf.randomNormal([12, 5], 0, 1, 'float32', seed),
    w: tf.randomNormal([5, 7], 0, 1, 'float32', seed + 1),
    b: tf.randomNormal([7], 0, 1, 'float32', seed + 2),
    y: tf.randomNormal([12, 1], 0, 1, 'float32', seed + 3),
  };
}

function bits(tensors: NamedTensors): Record<string, number[]> {
  return Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, [...new Uint32Array((t.dataSync() as Float32Array).slice().buffer)]]));
}

describe('CompiledSteps (TensorFlow graphs recorded from kernels)', () => {
  beforeAll(async () => {
    // The native backend is the one that runs graphs: CI builds it (infra/tfjs), and this must not pass on another.
    await selectBackend('tensorflow');
  });

  it('runs a recorded graph that gives the same bits as the kernels, on new inputs every run', () => {
    const scale = tf.keep(tf.scalar(0.37));
    const offs: string[] = [];
    const compiled = new CompiledSteps(true, (reason) => offs.push(reason));
    const before = tf.memory().numTensors;
    for (let run = 0; run < compileOnRun + 20; run++) {
      tf.tidy(() => {
        const inputs = randomInputs(100 * run);
        const expected = bits(layerStep(inputs, scale));
        expect(bits(compiled.run('layer', inputs, [scale], () => layerStep(inputs, scale)))).toEqual(expected);
      });
      expect(compiled.size).toBe(run >= compileOnRun ? 1 : 0);
    }
    expect(offs).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
    compiled.dispose();
    scale.dispose();
  });

  it('checks a graph against its kernels: a recorded value that changed under the same key sends every step back to kernels', () => {
    const scale = tf.keep(tf.scalar(1));
    const offs: string[] = [];
    const compiled = new CompiledSteps(true, (reason) => offs.push(reason));
    let factor = 3;
    // The computation uploads `factor` itself, so the graph holds it as recorded: the key does not name it (a caller's bug).
    const step = (inputs: NamedTensors): NamedTensors => ({ out: tf.mul(layerStep(inputs, scale).out!, factor) });
    for (let run = 0; run <= compileOnRun; run++) tf.tidy(() => void compiled.run('k', randomInputs(run), [scale], () => step(randomInputs(run))));
    expect(compiled.size).toBe(1);
    factor = 5;
    tf.tidy(() => {
      const inputs = randomInputs(7);
      // The graph's first run is checked: the kernels' result is the one returned.
      expect(bits(compiled.run('k', inputs, [scale], () => step(inputs)))).toEqual(bits(step(inputs)));
    });
    expect(compiled.offReason).toMatch(/the graph of "k" gave a different out\[\d+\] from its kernels/);
    expect(offs).toHaveLength(1);
    expect(compiled.size).toBe(0);
    tf.tidy(() => {
      const inputs = randomInputs(8);
      expect(bits(compiled.run('k', inputs, [scale], () => step(inputs)))).toEqual(bits(step(inputs)));
    });
    expect(compiled.size).toBe(0);
    expect(verifyEvery).toBeGreaterThan(1);
    scale.dispose();
  });

  it('runs kernel by kernel a computation that reads a tensor neither input nor constant', () => {
    const scale = tf.keep(tf.scalar(0.5));
    const hidden = tf.keep(tf.scalar(2));
    const offs: string[] = [];
    const compiled = new CompiledSteps(true, (reason) => offs.push(reason));
    const step = (inputs: NamedTensors): NamedTensors => ({ out: tf.mul(layerStep(inputs, scale).out!, hidden) });
    for (let run = 0; run < compileOnRun + 3; run++) {
      tf.tidy(() => {
        const inputs = randomInputs(run);
        expect(bits(compiled.run('k', inputs, [scale], () => step(inputs)))).toEqual(bits(step(inputs)));
      });
    }
    expect(compiled.size).toBe(0);
    expect(offs).toEqual([expect.stringMatching(/steps "k" run kernel by kernel: kernel input \d+ was made before the trace/)]);
    compiled.dispose();
    scale.dispose();
    hidden.dispose();
  });

  it('keeps the most run keys compiled when more keys recur than graphs fit, instead of compiling and evicting in turn', () => {
    const scale = tf.keep(tf.scalar(0.5));
    const compiled = new CompiledSteps(true);
    const inputs = tf.tidy(() => Object.fromEntries(Object.entries(randomInputs(1)).map(([k, t]) => [k, tf.keep(t)])));
    const expected = tf.tidy(() => bits(layerStep(inputs, scale)));
    const runKey = (key: string): void =>
      tf.tidy(() => {
        expect(bits(compiled.run(key, inputs, [scale], () => layerStep(inputs, scale)))).toEqual(expected);
      });
    // More keys than graph slots, each recurring as often: the first to recur fill the slots, the rest stay kernel by kernel.
    const keys = Array.from({ length: maxGraphs + 8 }, (_, i) => `size ${i}`);
    for (let round = 0; round < 12; round++) for (const key of keys) runKey(key);
    expect(compiled.size).toBe(maxGraphs);
    expect(compiled.compilations).toBe(maxGraphs);
    // A key that comes to run far more often than the loaded ones takes a slot.
    for (let run = 0; run < 40; run++) runKey('full batch');
    expect(compiled.compilations).toBe(maxGraphs + 1);
    expect(compiled.size).toBe(maxGraphs);
    compiled.dispose();
    tf.dispose([scale, ...Object.values(inputs)]);
  });

  it('compiles nothing when turned off', () => {
    const scale = tf.keep(tf.scalar(0.5));
    const compiled = new CompiledSteps(false);
    for (let run = 0; run < compileOnRun + 2; run++) tf.tidy(() => void compiled.run('k', randomInputs(run), [scale], () => layerStep(randomInputs(run), scale)));
    expect(compiled.size).toBe(0);
    scale.dispose();
  });
});
