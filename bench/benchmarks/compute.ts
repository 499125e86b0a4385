/**
 * 3. compute — one MLP SGD step per tfjs backend against numpy
 * (infra/tfjs/step-bench.mjs and its step_bench_numpy.py, folded in as is).
 *
 * The numpy peer runs in the bench venv with OPENBLAS_CORETYPE/L2_SIZE unset
 * (this machine sets them for old OpenBLAS builds; they pin a current one to
 * its Haswell kernels); it is run a second time with them as set here, for
 * reference. threadpoolctl reports the kernel each time.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { note, progress, pythonEnv, repoDir, type BenchContext } from '../lib/common.js';

interface StepBenchReport {
  readonly machine: Record<string, unknown>;
  readonly results: readonly { name: string; recordsPerSecond?: number; msPerStep?: number; error?: string }[];
  readonly ratios: Record<string, number>;
}

export interface ComputeResult {
  readonly benchmark: 'compute';
  readonly command: string;
  readonly stepBench: StepBenchReport;
  /** numpy with the machine's OPENBLAS_CORETYPE/L2_SIZE left as set. */
  readonly numpyMachineEnv?: StepBenchReport['results'][number] & { blasKernel?: string };
  readonly blasKernel: { readonly unset: string; readonly machineEnv: string };
  readonly nativeOverNumpy: number | null;
  readonly backend: string;
}

function blasKernel(python: string, env: NodeJS.ProcessEnv): string {
  const r = spawnSync(
    python,
    ['-c', 'import numpy, threadpoolctl; i = threadpoolctl.threadpool_info(); print(", ".join(f"{x[\'internal_api\']} {x.get(\'version\')} {x.get(\'architecture\')} x{x[\'num_threads\']}" for x in i))'],
    { env, encoding: 'utf8' },
  );
  return r.status === 0 ? r.stdout.trim() : `unknown (${r.stderr.trim().split('\n').pop()})`;
}

function stepBench(python: string, out: string, args: readonly string[], env: NodeJS.ProcessEnv): StepBenchReport {
  const r = spawnSync(process.execPath, [join(repoDir, 'infra/tfjs/step-bench.mjs'), out, '--python', python, ...args], {
    env,
    encoding: 'utf8',
    cwd: repoDir,
  });
  if (r.status !== 0) throw new Error(`step-bench failed (${r.status}): ${r.stderr}`);
  return JSON.parse(readFileSync(out, 'utf8')) as StepBenchReport;
}

export async function run(ctx: BenchContext): Promise<ComputeResult> {
  const python = ctx.python ?? 'python3';
  const timing = ctx.quick ? ['--warmup', '2', '--steps', '5', '--min-seconds', '0.2'] : ['--warmup', '5', '--steps', '50', '--min-seconds', '5'];
  const env = pythonEnv();
  progress('step-bench (tensorflow, wasm, cpu, numpy)', 0, 2);
  const report = stepBench(python, join(ctx.rawDir, 'step-bench.json'), timing, env);
  progress('numpy with OPENBLAS_CORETYPE as set here', 1, 2);
  const machineEnv = process.env;
  let numpyMachineEnv: ComputeResult['numpyMachineEnv'];
  if (machineEnv.OPENBLAS_CORETYPE || machineEnv.OPENBLAS_L2_SIZE) {
    const again = stepBench(python, join(ctx.rawDir, 'step-bench-numpy-env.json'), [...timing, '--backends', 'numpy'], machineEnv);
    numpyMachineEnv = again.results[0];
  } else {
    note('compute: OPENBLAS_CORETYPE not set here; one numpy run only');
  }
  progress('done', 2, 2);
  const tensorflow = report.results.find((r) => r.name === 'tensorflow' && !r.error);
  const numpy = report.results.find((r) => r.name === 'numpy' && !r.error);
  return {
    benchmark: 'compute',
    command: `node infra/tfjs/step-bench.mjs OUT.json --python bench/.venv/bin/python ${timing.join(' ')}`,
    stepBench: report,
    numpyMachineEnv,
    blasKernel: { unset: blasKernel(python, env), machineEnv: blasKernel(python, machineEnv) },
    nativeOverNumpy: tensorflow?.recordsPerSecond && numpy?.recordsPerSecond ? tensorflow.recordsPerSecond / numpy.recordsPerSecond : null,
    backend: tensorflow ? 'tensorflow' : 'none',
  };
}
