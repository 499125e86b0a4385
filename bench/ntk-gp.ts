/**
 * Benchmark: the NTK-GP's sliding-window update (evict the oldest + append,
 * O(N²)) against refactoring the same kernel matrix from scratch (O(N³)).
 *
 *   npx tsx bench/ntk-gp.ts [--quick] [--out bench/results/ntk-gp.json]
 *
 * Without --out the result JSON goes to stdout; progress goes to stderr.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ArchitectureSpec } from '../src/spec/architecture-spec.js';
import { IncrementalCholesky, IncrementalGP, type IncrementalGPState, type TriangularBackend, defaultBackend, gramMatrix } from '../src/ntk/index.js';
import { uniformRandom } from './lib/common.js';

/** Options of {@link runNtkGpBench}. */
export interface NtkGpBenchOptions {
  /** Small sizes only (256, 512, 1024). */
  readonly quick?: boolean;
  /** Window sizes N to measure; overrides `quick`. */
  readonly sizes?: readonly number[];
  /** Timed sliding-window updates per size; default 64 (32 when quick). */
  readonly updates?: number;
  /** Untimed updates before timing, to let the JIT settle; default 4. */
  readonly warmupUpdates?: number;
  /** Architecture whose NTK is used; default the demo's shape (10 inputs, relu 256-256 trunk, 64 head). */
  readonly spec?: ArchitectureSpec;
  /** Jitter s; default 1e-3. */
  readonly noise?: number;
  readonly seed?: number;
  /** Progress lines; default silent. */
  readonly log?: (line: string) => void;
}

/** Median cost of one operation: wall-clock, and CPU time of this process (robust to other load on a shared machine). */
export interface Timing {
  readonly wallMicros: number;
  readonly cpuMicros: number;
}

/** Measurements at one window size N. */
export interface NtkGpBenchRow {
  readonly n: number;
  readonly timedUpdates: number;
  /** Factor only, `evictOldest()` then `append()` with a precomputed kernel row. */
  readonly separateUpdate: Timing;
  /** Factor only, `replaceOldest()`: the same slide fused into one pass over the factor (what the GP uses). */
  readonly fusedUpdate: Timing;
  /** The same fused slide with the TypeScript fallback kernels, on the same matrices. */
  readonly fusedUpdateTypeScript: Timing;
  /** Whole `IncrementalGP.add` on a full window: kernel row + fused slide. */
  readonly gpAdd: Timing;
  /** Refactoring the N × N kernel matrix from scratch (excludes building the matrix). */
  readonly refit: Timing;
  /** Building the N × N kernel matrix, which a from-scratch rebuild also needs. */
  readonly gram: Timing;
  /** refit / separateUpdate, CPU time. */
  readonly refitOverSeparateUpdate: number;
  /** refit / fusedUpdate, CPU time. */
  readonly refitOverFusedUpdate: number;
  /** (gram + refit) / gpAdd, CPU time: a full GP rebuild against one incremental GP update. */
  readonly rebuildOverGpAdd: number;
  /** max |L_incremental − L_fresh| / max |L_fresh| after all the updates (both kinds, interleaved). */
  readonly factorRelativeError: number;
}

/** Result of {@link runNtkGpBench}, ready for JSON. */
export interface NtkGpBenchResult {
  readonly benchmark: 'ntk-gp';
  readonly startedAt: string;
  readonly environment: { readonly node: string; readonly platform: string; readonly cpu: string; readonly cores: number };
  readonly spec: ArchitectureSpec;
  readonly noise: number;
  /** Kernels behind the timed factor (`fusedUpdate`, `separateUpdate`, `gpAdd`). */
  readonly backend: TriangularBackend;
  readonly rows: readonly NtkGpBenchRow[];
}

const FULL_SIZES = [256, 512, 1024, 2048, 4096];
const QUICK_SIZES = [256, 512, 1024];
const DEMO_SPEC: ArchitectureSpec = {
  inputDim: 10,
  hidden: [256, 256],
  headHidden: [64],
  activation: 'relu',
  sigmaW2: 2,
  sigmaB2: 0.1,
};

/** Runs the benchmark over every size and returns the measurements. */
export function runNtkGpBench(options: NtkGpBenchOptions = {}): NtkGpBenchResult {
  const quick = options.quick ?? false;
  const sizes = options.sizes ?? (quick ? QUICK_SIZES : FULL_SIZES);
  const updates = options.updates ?? (quick ? 32 : 64);
  const warmup = options.warmupUpdates ?? 4;
  const spec = options.spec ?? DEMO_SPEC;
  const noise = options.noise ?? 1e-3;
  const log = options.log ?? (() => undefined);
  const random = uniformRandom(options.seed ?? 1);
  const startedAt = new Date().toISOString();
  const rows = sizes.map((n) => {
    const row = measureSize(spec, noise, n, warmup, updates, random);
    log(
      `N=${n}: slide ${micros(row.separateUpdate)} separate, ${micros(row.fusedUpdate)} fused (${micros(row.fusedUpdateTypeScript)} TypeScript), ` +
        `GP add ${micros(row.gpAdd)}; refit ${micros(row.refit)}; refit/fused ${row.refitOverFusedUpdate.toFixed(0)}×; ` +
        `factor error ${row.factorRelativeError.toExponential(1)}`,
    );
    return row;
  });
  return {
    benchmark: 'ntk-gp',
    startedAt,
    environment: { node: process.version, platform: `${process.platform}-${process.arch}`, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length },
    spec,
    noise,
    backend: defaultBackend(),
    rows,
  };
}

function measureSize(
  spec: ArchitectureSpec,
  noise: number,
  n: number,
  warmup: number,
  updates: number,
  random: () => number,
): NtkGpBenchRow {
  // Separate and fused slides alternate, so both see the same matrices and machine load.
  const slides = 2 * (warmup + updates);
  const total = n + slides;
  const points = new Float64Array(total * spec.inputDim);
  for (let i = 0; i < points.length; i++) points[i] = random();

  // One Gram over every point serves the initial window, every appended row and the final check.
  const gram = gramMatrix(spec, points);
  const gramTiming = timeOnce(() => gramMatrix(spec, points.subarray(0, n * spec.inputDim)));

  const factor = new IncrementalCholesky(n, { jitter: noise });
  const initialWindow = principalBlock(gram, total, 0, n);
  const refitTimings: Timing[] = [];
  for (let repeat = 0; repeat < (n <= 1024 ? 3 : 1); repeat++) {
    refitTimings.push(
      timeOnce(() => {
        if (!factor.refactor(initialWindow, n)) throw new Error(`kernel matrix not positive definite at N=${n}`);
      }),
    );
  }

  const fallback = new IncrementalCholesky(n, { jitter: noise, backend: 'typescript' });
  fallback.refactor(initialWindow, n);
  const separateTimings: Timing[] = [];
  const fusedTimings: Timing[] = [];
  const fallbackTimings: Timing[] = [];
  for (let u = 0; u < slides; u++) {
    const newest = n + u;
    const kernelRow = gram.subarray(newest * total + u + 1, newest * total + newest);
    const kappa = gram[newest * total + newest];
    const fused = u % 2 === 1;
    const timing = timeOnce(() => {
      if (!fused) factor.evictOldest();
      const appended = fused ? factor.replaceOldest(kernelRow, kappa) : factor.append(kernelRow, kappa);
      if (!appended) throw new Error(`unexpected breakdown at N=${n}`);
    });
    if (u >= 2 * warmup) (fused ? fusedTimings : separateTimings).push(timing);
    const fallbackTiming = timeOnce(() => {
      if (!fused) fallback.evictOldest();
      if (!(fused ? fallback.replaceOldest(kernelRow, kappa) : fallback.append(kernelRow, kappa))) throw new Error(`unexpected breakdown at N=${n}`);
    });
    if (u >= 2 * warmup && fused) fallbackTimings.push(fallbackTiming);
  }
  const fresh = new IncrementalCholesky(n, { jitter: noise });
  fresh.refactor(principalBlock(gram, total, slides, n), n);
  const factorRelativeError = relativeDifference(factor.toDense(), fresh.toDense());

  const gp = IncrementalGP.fromJSON(windowState(spec, noise, points, n));
  const gpTimings: Timing[] = [];
  for (let u = 0; u < warmup + updates; u++) {
    const newest = n + u;
    const point = points.subarray(newest * spec.inputDim, (newest + 1) * spec.inputDim);
    const timing = timeOnce(() => gp.add(point, 0));
    if (u >= warmup) gpTimings.push(timing);
  }

  const separateUpdate = medianTiming(separateTimings);
  const fusedUpdate = medianTiming(fusedTimings);
  const gpAdd = medianTiming(gpTimings);
  const refit = medianTiming(refitTimings);
  return {
    n,
    timedUpdates: updates,
    separateUpdate,
    fusedUpdate,
    fusedUpdateTypeScript: medianTiming(fallbackTimings),
    gpAdd,
    refit,
    gram: gramTiming,
    refitOverSeparateUpdate: refit.cpuMicros / separateUpdate.cpuMicros,
    refitOverFusedUpdate: refit.cpuMicros / fusedUpdate.cpuMicros,
    rebuildOverGpAdd: (gramTiming.cpuMicros + refit.cpuMicros) / gpAdd.cpuMicros,
    factorRelativeError,
  };
}

function timeOnce(operation: () => void): Timing {
  const cpuStarted = process.cpuUsage();
  const wallStarted = performance.now();
  operation();
  const wallMicros = (performance.now() - wallStarted) * 1000;
  const cpu = process.cpuUsage(cpuStarted);
  return { wallMicros, cpuMicros: cpu.user + cpu.system };
}

function medianTiming(timings: readonly Timing[]): Timing {
  return { wallMicros: median(timings.map((t) => t.wallMicros)), cpuMicros: median(timings.map((t) => t.cpuMicros)) };
}

function micros(timing: Timing): string {
  return `${timing.cpuMicros.toFixed(0)} µs cpu (${timing.wallMicros.toFixed(0)} wall)`;
}

function principalBlock(gram: Float64Array, order: number, from: number, size: number): Float64Array {
  const block = new Float64Array(size * size);
  for (let i = 0; i < size; i++) block.set(gram.subarray((from + i) * order + from, (from + i) * order + from + size), i * size);
  return block;
}

function windowState(spec: ArchitectureSpec, noise: number, points: Float64Array, n: number): IncrementalGPState {
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from(points.subarray(i * spec.inputDim, (i + 1) * spec.inputDim)));
  return {
    format: 'tangent.ntk-gp/1',
    spec,
    kind: 'ntk',
    window: n,
    noise,
    breakdownTolerance: 1e-10,
    refactorCount: 0,
    points: rows,
    targets: rows.map(() => 0),
  };
}

function relativeDifference(actual: Float64Array, expected: Float64Array): number {
  let difference = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    difference = Math.max(difference, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return difference / scale;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}


function main(argv: readonly string[]): void {
  const quick = argv.includes('--quick');
  const outIndex = argv.indexOf('--out');
  const out = outIndex >= 0 ? argv[outIndex + 1] : undefined;
  if (outIndex >= 0 && out === undefined) throw new Error('--out needs a file path');
  const result = runNtkGpBench({ quick, log: (line) => process.stderr.write(`${line}\n`) });
  const json = `${JSON.stringify(result, null, 2)}\n`;
  if (out === undefined) {
    process.stdout.write(json);
  } else {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, json);
    process.stderr.write(`wrote ${out}\n`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
