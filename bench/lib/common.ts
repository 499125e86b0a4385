/**
 * Shared pieces of the benchmarks: the context a benchmark child runs in,
 * progress reports to the runner, machine facts, statistics and file output.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PipelineConfig } from '../../src/config/pipeline-config.js';
import { SeededRandom } from '../../src/math/seeded-random.js';

export const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const repoDir = resolve(benchDir, '..');

/** What the runner hands every benchmark child (JSON in TANGENT_BENCH_CONTEXT). */
export interface BenchContext {
  readonly quick: boolean;
  /** Where results/<name>.json and plots go (bench/results or bench/results-quick). */
  readonly outDir: string;
  /** Scratch space for large intermediate files (gitignored). */
  readonly rawDir: string;
  /** Bootstrap brokers, when the benchmark needs Kafka. */
  readonly brokers?: string;
  /** The peers' virtualenv python. */
  readonly python?: string;
  /** Whether the GPyTorch peer is installed in that venv. */
  readonly gpytorch?: boolean;
}

export function contextFromEnv(): BenchContext {
  const raw = process.env.TANGENT_BENCH_CONTEXT;
  if (raw) return JSON.parse(raw) as BenchContext;
  const quick = process.argv.includes('--quick');
  const outDir = join(benchDir, quick ? 'results-quick' : 'results');
  return { quick, outDir, rawDir: join(outDir, 'raw'), brokers: process.env.KAFKA_BROKERS, python: process.env.PYTHON };
}

/** A progress report to the runner (IPC when forked by bench/run.ts, else a line on stderr). */
export interface ProgressMessage {
  readonly type: 'progress';
  readonly phase: string;
  readonly value: number;
  readonly total: number;
}

let lastLine = 0;
export function progress(phase: string, value: number, total: number): void {
  const message: ProgressMessage = { type: 'progress', phase, value, total };
  if (process.send) {
    process.send(message);
    return;
  }
  const now = Date.now();
  if (now - lastLine > 2000 || value >= total) {
    lastLine = now;
    process.stderr.write(`[bench] ${phase}: ${value}/${total}\n`);
  }
}

export function note(line: string): void {
  if (process.send) process.send({ type: 'note', line });
  else process.stderr.write(`[bench] ${line}\n`);
}

export interface MachineFacts {
  readonly cores: number;
  readonly cpuModel: string;
  readonly totalMemoryGiB: number;
  readonly node: string;
  readonly platform: string;
  readonly hostname: string;
  readonly loadAverage: readonly number[];
  readonly avx512: boolean;
}

export function machineFacts(): MachineFacts {
  const cpus = os.cpus();
  let flags = '';
  try {
    flags = execFileSync('lscpu', { encoding: 'utf8' });
  } catch {
    // no lscpu: flags unknown
  }
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    totalMemoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    hostname: os.hostname(),
    loadAverage: loadAverage(),
    avx512: /avx512f/.test(flags),
  };
}

/** Which code was measured: the commit, and the files under src/ that differed from it (others edit the tree too). */
export function sourceTree(): { commit: string; uncommittedSrc: string[] } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoDir, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: repoDir, encoding: 'utf8' });
    return { commit, uncommittedSrc: status.split('\n').filter(Boolean).map((l) => l.slice(3)) };
  } catch {
    return { commit: 'unknown', uncommittedSrc: [] };
  }
}

export const loadAverage = (): number[] => os.loadavg().map((l) => +l.toFixed(2));

/** Environment for the Python peers: this machine sets OPENBLAS_CORETYPE/L2_SIZE for old OpenBLAS builds, which slows a current one. */
export function pythonEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

export function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return values.length === 0 ? Number.NaN : sum / values.length;
}

export function median(values: readonly number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string, pollMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

/** Writes a float64 C-order array as a NumPy .npy (format 1.0). */
export function writeNpy(path: string, data: Float64Array, shape: readonly number[]): void {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

/** Keeps at most `points` evenly spaced samples of a long series (for plots in JSON). */
export function downsample<T>(values: readonly T[], points: number): T[] {
  if (values.length <= points) return [...values];
  const step = values.length / points;
  return Array.from({ length: points }, (_, i) => values[Math.floor(i * step)]!);
}

/** Uniform [0, 1) draws from tangent's seeded PRNG (mulberry32): reproducible benchmark inputs across runs. */
export function uniformRandom(seed: number): () => number {
  const random = SeededRandom.fromSeed(seed);
  return () => random.nextFloat();
}

/** The pipeline settings that shape a tangent run, recorded beside its numbers. */
export function pipelineSettings(config: PipelineConfig): Record<string, unknown> {
  return {
    model: { hidden: config.model.hidden, learningRate: config.model.learningRate, learningRateSafety: config.model.learningRateSafety, readout: config.model.readout },
    fineTune: config.fineTune,
    batch: config.batch,
    ntkgp: config.ntkgp,
    drift: config.drift,
    checkpoint: { every: config.checkpoint.every, intervalSeconds: config.checkpoint.intervalSeconds },
  };
}
