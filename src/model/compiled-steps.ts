import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { nativeBackend, traceKernels, UntraceableError, type NamedTensors, type NativeBackend } from './kernel-trace.js';

/** A loaded graph: the session TensorFlow runs it in, and its inputs' and outputs' graph tensors. */
interface CompiledGraph {
  readonly session: number;
  readonly inputNames: readonly string[];
  readonly inputKeys: readonly string[];
  readonly outputNames: readonly string[];
  readonly outputKeys: readonly string[];
  runs: number;
}

/** Every this many runs of a graph, it runs beside the kernels it was traced from and the two must agree bit for bit. */
export const verifyEvery = 512;

/**
 * Graphs loaded per model at most (a key per step kind, batch size and head capacity): each holds
 * ~0.5 MiB in TensorFlow once it has run.
 */
export const maxGraphs = 32;

/**
 * A key is compiled once it has run this many times lately: recording a graph, loading it and
 * TensorFlow preparing its first run block for ~10–15 ms, so a shape seen once or twice (a timed
 * minibatch of an odd size) runs kernel by kernel, and a replay step's, which recurs every batch, is
 * compiled at once.
 */
export const compileOnRun = 3;

/**
 * Runs are counted per key, and every this many runs (of all keys) every count is halved: "lately".
 * With every graph slot taken, a key is compiled only when it ran more than twice as often lately
 * as the least run loaded graph, which it replaces: timed minibatches of many sizes then keep the
 * most frequent sizes compiled instead of compiling and evicting in turn.
 */
const agingPeriod = 4096;

/** Keys counted at most; beyond, the rarest are forgotten at the next aging. */
const maxCountedKeys = 4096;

/**
 * Model steps compiled to TensorFlow graphs (docs/architecture.md, "The model"): on tfjs-node, a step
 * that runs ~20–70 small kernels, each one a native call costing more than its
 * arithmetic, runs as one call into a TensorFlow session instead. Once a `key`
 * has run {@link compileOnRun} times, its next run records the kernels as they
 * run (kernel-trace.ts); later runs feed the inputs to the recorded graph. The
 * graph holds the same ops with the same attributes, so the numbers are the
 * same bit for bit; this is checked on a graph's first run and every
 * {@link verifyEvery} runs after, by running both, and on any difference every
 * step of this model runs kernel by kernel from then on (a computation that
 * cannot be recorded runs so under its key).
 *
 * `key` must name everything the recorded constants depend on: shapes, and
 * any value the computation uploads itself.
 */
export class CompiledSteps {
  private readonly graphs = new Map<string, CompiledGraph>();
  private readonly untraceable = new Set<string>();
  /** Runs per key lately (loaded or not), halved every {@link agingPeriod} runs. */
  private readonly recentRuns = new Map<string, number>();
  private runsSinceAging = 0;
  private compiled = 0;
  private off: string | undefined;

  constructor(
    private readonly enabled: boolean,
    private readonly onOff: (reason: string) => void = () => {},
  ) {}

  /** Why steps run kernel by kernel (undefined while graphs run, or before any ran). */
  get offReason(): string | undefined {
    return this.off;
  }

  /** How many graphs are loaded. */
  get size(): number {
    return this.graphs.size;
  }

  /** How many graphs were recorded and loaded so far (evicted ones included). */
  get compilations(): number {
    return this.compiled;
  }

  /**
   * `compute(inputs)`'s result, from the graph recorded for `key` when there is
   * one. `constants` are tensors `compute` reads besides `inputs` that never
   * change for this model (they are written into the graph). The result's
   * tensors are the caller's (inside its tidy, like any kernel's outputs).
   */
  run(key: string, inputs: NamedTensors, constants: readonly tf.Tensor[], compute: () => NamedTensors): NamedTensors {
    const backend = this.enabled && this.off === undefined ? nativeBackend() : undefined;
    if (!backend || this.untraceable.has(key)) return compute();
    const recent = this.countRun(key);
    const graph = this.graphs.get(key);
    if (!graph) return recent > compileOnRun && this.makeRoomFor(recent) ? this.compile(backend, key, inputs, constants, compute) : compute();
    graph.runs += 1;
    const outputs = this.runGraph(backend, graph, inputs);
    if (graph.runs % verifyEvery !== 1) return outputs;
    const expected = compute();
    const difference = firstDifference(expected, outputs);
    tf.dispose(Object.values(difference === undefined ? expected : outputs));
    if (difference === undefined) return outputs;
    this.turnOff(`the graph of "${key}" gave a different ${difference} from its kernels`);
    return expected;
  }

  private countRun(key: string): number {
    const runs = (this.recentRuns.get(key) ?? 0) + 1;
    this.recentRuns.set(key, runs);
    if ((this.runsSinceAging += 1) >= agingPeriod) {
      this.runsSinceAging = 0;
      for (const [k, n] of this.recentRuns) {
        if (n <= 1 && !this.graphs.has(k)) this.recentRuns.delete(k);
        else this.recentRuns.set(k, n >> 1);
      }
      if (this.recentRuns.size > maxCountedKeys) {
        const rarest = [...this.recentRuns].filter(([k]) => !this.graphs.has(k)).sort((a, b) => a[1] - b[1]);
        for (const [k] of rarest.slice(0, this.recentRuns.size - maxCountedKeys)) this.recentRuns.delete(k);
      }
    }
    return runs;
  }

  /** Whether a key run `recent` times lately may be compiled now: a slot is free, or it is freed from a graph run less than half as often. */
  private makeRoomFor(recent: number): boolean {
    if (this.graphs.size < maxGraphs) return true;
    let rarest: string | undefined;
    let rarestRuns = Number.POSITIVE_INFINITY;
    for (const key of this.graphs.keys()) {
      const runs = this.recentRuns.get(key) ?? 0;
      if (runs < rarestRuns) [rarest, rarestRuns] = [key, runs];
    }
    if (rarest === undefined || recent <= 2 * rarestRuns) return false;
    this.unload(rarest);
    return true;
  }

  private compile(backend: NativeBackend, key: string, inputs: NamedTensors, constants: readonly tf.Tensor[], compute: () => NamedTensors): NamedTensors {
    let trace: ReturnType<typeof traceKernels>;
    try {
      trace = traceKernels(backend, inputs, constants, compute);
    } catch (error) {
      if (!(error instanceof UntraceableError) || !error.result) throw error;
      this.untraceable.add(key);
      this.onOff(`steps "${key}" run kernel by kernel: ${error.message}`);
      return error.result;
    }
    const dir = mkdtempSync(join(tmpdir(), 'tangent-graph-'));
    let session: number;
    try {
      mkdirSync(join(dir, 'variables'));
      writeFileSync(join(dir, 'saved_model.pb'), trace.savedModel);
      session = backend.binding.loadSavedModel(dir, 'serve');
    } catch (error) {
      this.turnOff(`a recorded graph did not load: ${(error as Error).message}`);
      return trace.result;
    } finally {
      // TensorFlow has read the graph; nothing else needs the files.
      rmSync(dir, { recursive: true, force: true });
    }
    this.compiled += 1;
    const inputKeys = Object.keys(inputs);
    const outputKeys = Object.keys(trace.result);
    this.graphs.set(key, {
      session,
      inputKeys,
      inputNames: inputKeys.map((k) => trace.inputNames[k]!),
      outputKeys,
      outputNames: outputKeys.map((k) => trace.outputNames[k]!),
      runs: 0,
    });
    return trace.result;
  }

  private runGraph(backend: NativeBackend, graph: CompiledGraph, inputs: NamedTensors): NamedTensors {
    const outputs = backend.runSavedModel(
      graph.session,
      graph.inputKeys.map((k) => inputs[k]!),
      graph.inputNames.map((name) => ({ name })),
      [...graph.outputNames],
    );
    const named: NamedTensors = {};
    graph.outputKeys.forEach((k, i) => (named[k] = outputs[i]!));
    return named;
  }

  private turnOff(reason: string): void {
    this.off = reason;
    for (const key of [...this.graphs.keys()]) this.unload(key);
    this.onOff(`model steps run kernel by kernel from now on: ${reason}`);
  }

  private unload(key: string): void {
    const graph = this.graphs.get(key);
    this.graphs.delete(key);
    const backend = nativeBackend();
    if (graph && backend) backend.binding.deleteSavedModel(graph.session);
  }

  dispose(): void {
    for (const key of [...this.graphs.keys()]) this.unload(key);
  }
}

/** The first output whose bits differ ("loss[3]"), or undefined when every output is the same. */
function firstDifference(expected: NamedTensors, actual: NamedTensors): string | undefined {
  for (const [key, tensor] of Object.entries(expected)) {
    const other = actual[key];
    if (!other || other.dtype !== tensor.dtype || other.size !== tensor.size) return key;
    const a = new Uint32Array(tensor.dataSync().slice().buffer);
    const b = new Uint32Array(other.dataSync().slice().buffer);
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `${key}[${i}]`;
  }
  return undefined;
}
