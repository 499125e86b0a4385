/**
 * 4. ntk-gp — the GP's per-point update against a refit from scratch
 * (runNtkGpBench from bench/ntk-gp.ts), and against the peers on the very
 * same kernel matrices:
 *   - for each N, N + 1 points of the demo spec's NTK Gram are written to a
 *     .npy; tangent factors K_N + sI and times its forward substitution
 *     L⁻¹k (the O(N²) core of an append) on that file's matrix;
 *   - bench/peers/ntk_gp_peer.py loads the same file: LAPACK dpotrf (scipy
 *     cho_factor) and dtrsv (solve_triangular / blas.dtrsv) on it, checks its
 *     L⁻¹k against tangent's, and, when GPyTorch is installed, times
 *     ExactGP.get_fantasy_model with that matrix as a precomputed kernel.
 * The peers run single-threaded, like tangent; CPU times (robust on a shared
 * machine) are compared, wall times reported beside them.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ArchitectureSpec } from '../../src/spec/architecture-spec.js';
import { IncrementalCholesky, gramMatrix } from '../../src/ntk/index.js';
import { runNtkGpBench, type NtkGpBenchResult } from '../ntk-gp.js';
import { benchDir, median, note, progress, pythonEnv, uniformRandom, writeNpy, type BenchContext } from '../lib/common.js';

export interface SharedMatrixRow {
  readonly n: number;
  /** tangent, same matrix: median µs of one forward substitution L⁻¹k (wall). */
  readonly tangentForwardSolveMicros: number;
  /** The same, process CPU time per call (mean over the repeats). */
  readonly tangentForwardSolveCpuMicros: number;
  /** tangent, same matrix: one refactor of K + sI, ms (wall). */
  readonly tangentRefitMillis: number;
  readonly tangentRefitCpuMillis: number;
}

export interface PeerRow {
  readonly n: number;
  readonly choFactorMillis: number;
  readonly choFactorCpuMillis: number;
  readonly solveTriangularMicros: number;
  readonly solveTriangularCpuMicros: number;
  readonly dtrsvMicros: number;
  readonly dtrsvCpuMicros: number;
  /** max |l_scipy − l_tangent| / max |l_scipy| on the same matrix. */
  readonly solutionRelativeDifference: number;
  readonly gpytorchFantasyMillis?: number;
  readonly gpytorchFantasyCpuMillis?: number;
  readonly gpytorchPredictionCacheMillis?: number;
  readonly gpytorchError?: string;
}

export interface NtkGpResult {
  readonly benchmark: 'ntk-gp';
  readonly tangent: NtkGpBenchResult;
  readonly shared: readonly SharedMatrixRow[];
  readonly peers: { readonly rows: readonly PeerRow[]; readonly versions: Record<string, string>; readonly blas: string; readonly error?: string };
  readonly backend: string;
}

export async function run(ctx: BenchContext): Promise<NtkGpResult> {
  const sizes = ctx.quick ? [256, 512] : [256, 512, 1024, 2048, 4096];
  const steps = sizes.length * 3;
  let done = 0;
  progress('tangent: slide vs refit (runNtkGpBench)', done, steps);
  const tangent = runNtkGpBench({
    sizes,
    updates: ctx.quick ? 8 : 64,
    log: (line) => {
      note(`ntk-gp: ${line}`);
      progress('tangent: slide vs refit (runNtkGpBench)', ++done, steps);
    },
  });
  const spec: ArchitectureSpec = tangent.spec;
  const noise = tangent.noise;
  const dir = join(ctx.rawDir, 'ntk-gp');
  mkdirSync(dir, { recursive: true });
  const shared: SharedMatrixRow[] = [];
  try {
    for (const n of sizes) {
      progress(`shared matrices: tangent at N=${n}`, ++done, steps);
      const order = n + 1;
      const random = uniformRandom(1000 + n);
      const points = new Float64Array(order * spec.inputDim);
      for (let i = 0; i < points.length; i++) points[i] = random();
      const gram = gramMatrix(spec, points);
      writeNpy(join(dir, `gram-${n}.npy`), gram, [order, order]);
      const K = new Float64Array(n * n);
      for (let i = 0; i < n; i++) K.set(gram.subarray(i * order, i * order + n), i * n);
      const k = gram.slice(n * order, n * order + n);
      const factor = new IncrementalCholesky(n, { jitter: noise });
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      if (!factor.refactor(K, n)) throw new Error(`not positive definite at N=${n}`);
      const refitMillis = performance.now() - t0;
      const refitCpu = process.cpuUsage(cpu0);
      const out = new Float64Array(n);
      const repeats = Math.max(20, Math.min(400, Math.floor(4e7 / (n * n))));
      const times: number[] = [];
      for (let r = 0; r < 5; r++) factor.forwardSolve(k, out);
      const solveCpu0 = process.cpuUsage();
      for (let r = 0; r < repeats; r++) {
        const s = performance.now();
        factor.forwardSolve(k, out);
        times.push((performance.now() - s) * 1000);
      }
      const solveCpu = process.cpuUsage(solveCpu0);
      writeNpy(join(dir, `solve-${n}.npy`), out, [n]);
      shared.push({
        n,
        tangentForwardSolveMicros: median(times),
        tangentForwardSolveCpuMicros: (solveCpu.user + solveCpu.system) / repeats,
        tangentRefitMillis: refitMillis,
        tangentRefitCpuMillis: (refitCpu.user + refitCpu.system) / 1000,
      });
    }
    progress('peers: scipy / LAPACK, GPyTorch', ++done, steps);
    const peers = runPeer(ctx, dir, sizes, noise);
    progress('done', steps, steps);
    return { benchmark: 'ntk-gp', tangent, shared, peers, backend: tangent.backend };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runPeer(ctx: BenchContext, dir: string, sizes: readonly number[], noise: number): NtkGpResult['peers'] {
  const args = [join(benchDir, 'peers/ntk_gp_peer.py'), '--dir', dir, '--sizes', sizes.join(','), '--noise', String(noise)];
  if (ctx.quick) args.push('--quick');
  if (!ctx.gpytorch) args.push('--no-gpytorch');
  // One thread, like tangent's JavaScript: a like-for-like comparison, and robust on a shared machine.
  const threads = { OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const r = spawnSync(ctx.python ?? 'python3', args, { env: pythonEnv(threads), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    note(`ntk-gp peer failed: ${r.stderr}`);
    return { rows: [], versions: {}, blas: 'unknown', error: r.stderr.trim().split('\n').slice(-3).join(' | ') };
  }
  return JSON.parse(r.stdout) as NtkGpResult['peers'];
}
