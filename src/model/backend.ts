import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

/**
 * Picks the TensorFlow.js backend at run time. The native packages are
 * optional dependencies whose install may have failed (no libtensorflow), so
 * each candidate is tried and the first that loads wins.
 */
export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendChoice {
  /** tf.getBackend() after selection: 'tensorflow', 'wasm' or 'cpu'. */
  readonly name: string;
  /** The package that provides it. */
  readonly source: string;
  /** Why earlier candidates were skipped, for the start-up log. */
  readonly skipped: readonly string[];
}

const require = createRequire(import.meta.url);

/**
 * Importing a native package whose addon was never built registers half its
 * kernels before failing, which pollutes the next candidate; look first.
 */
function nativeAddonBuilt(pkg: string): boolean {
  let packageDir: string;
  try {
    packageDir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return false;
  }
  const libDir = join(packageDir, 'lib');
  return (
    existsSync(libDir) &&
    readdirSync(libDir).some((entry) => existsSync(join(libDir, entry, 'tfjs_binding.node')))
  );
}

async function tryNative(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): Promise<void> {
  if (!nativeAddonBuilt(pkg)) throw new Error('not installed or its native addon is not built (see infra/tfjs)');
  // libtensorflow's C++ start-up chatter (oneDNN, CPU features) is noise in a consumer's log.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  // tangent's kernels are small (64×64 matmuls): handing each to TensorFlow's intra-op thread pool and
  // waiting for it costs more than the arithmetic. One thread runs them on the caller's: the same numbers
  // bit for bit, a model step ~35% faster on 2 cores (docs/architecture.md). Read once, when TensorFlow starts.
  process.env.TF_NUM_INTRAOP_THREADS ??= '1';
  // A compiled step is one TensorFlow session run of ~20-70 small kernels. With the default options the session
  // hands each kernel to the inter-op thread pool while the caller waits; a negative count runs them on the
  // caller's thread (DirectSession's run_in_caller_thread): a compiled step 25-45% faster, the same kernels and
  // numbers (docs/architecture.md).
  process.env.TF_NUM_INTEROP_THREADS ??= '-1';
  // The native packages register the 'tensorflow' backend on import; they
  // bundle their own copy of tfjs-core, which is the same version we pin.
  await import(pkg);
  if (!(await tf.setBackend('tensorflow'))) throw new Error('backend "tensorflow" did not initialise');
}

async function tryWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const dir = require.resolve('@tensorflow/tfjs-backend-wasm').replace(/[^/]+$/, '');
  wasm.setWasmPaths(dir);
  if (!(await tf.setBackend('wasm'))) throw new Error('backend "wasm" did not initialise');
}

async function tryCpu(): Promise<void> {
  if (!(await tf.setBackend('cpu'))) throw new Error('backend "cpu" did not initialise');
}

const candidates: Record<Exclude<BackendPreference, 'auto'>, [string, () => Promise<void>][]> = {
  tensorflow: [
    ['@tensorflow/tfjs-node-gpu', () => tryNative('@tensorflow/tfjs-node-gpu')],
    ['@tensorflow/tfjs-node', () => tryNative('@tensorflow/tfjs-node')],
  ],
  wasm: [['@tensorflow/tfjs-backend-wasm', tryWasm]],
  cpu: [['@tensorflow/tfjs-backend-cpu', tryCpu]],
};

let chosen: BackendChoice | undefined;

/** Selects (once per process) the backend; a named preference must load or this throws. */
export async function selectBackend(preference: BackendPreference = 'auto'): Promise<BackendChoice> {
  if (chosen) return chosen;
  const order =
    preference === 'auto'
      ? [...candidates.tensorflow, ...candidates.wasm, ...candidates.cpu]
      : candidates[preference];
  // Production mode skips tfjs' debug checks and its "install the node backend" banner.
  tf.enableProdMode();
  const skipped: string[] = [];
  for (const [source, load] of order) {
    try {
      await load();
      await tf.ready();
      chosen = { name: tf.getBackend(), source, skipped };
      return chosen;
    } catch (error) {
      skipped.push(`${source}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`no TensorFlow.js backend loads for preference "${preference}": ${skipped.join('; ')}`);
}
