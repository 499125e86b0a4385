#!/usr/bin/env node
// Verify the native TensorFlow backend of @tensorflow/tfjs-node in a project:
//   node infra/tfjs/verify.mjs [PROJECT_DIR] [--gpu] [--json]
// Checks: the package imports and selects the 'tensorflow' backend; the TF C library
// version the addon is linked to; `ldd` resolves libtensorflow from the package's deps/lib;
// a small matmul and an MLP gradient equal the pure-JS 'cpu' backend's result within 1e-5.
// Exit 0 when every check passes, 1 otherwise.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const gpu = args.includes('--gpu');
const asJson = args.includes('--json');
const projectDir = resolve(
  args.find((a) => !a.startsWith('--')) ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..'),
);
const pkgName = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
const TOL = 1e-5;

const report = { project: projectDir, package: pkgName, checks: {}, ok: false };
const say = (msg) => {
  if (!asJson) console.log(`[tfjs-native] verify: ${msg}`);
};
const fail = (msg) => {
  report.error = msg;
  if (asJson) console.log(JSON.stringify(report, null, 2));
  else console.error(`[tfjs-native] verify: FAILED: ${msg}`);
  process.exit(1);
};

// TF's C++ INFO logs (oneDNN notice, cpu_feature_guard) are noise here.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';

const projectRequire = createRequire(join(projectDir, 'package.json'));
let pkgDir;
let tf;
try {
  pkgDir = dirname(projectRequire.resolve(`${pkgName}/package.json`));
  const mod = await import(pathToFileURL(projectRequire.resolve(pkgName)).href);
  tf = mod.default ?? mod;
} catch (e) {
  fail(`import('${pkgName}') from ${projectDir}: ${String(e?.message ?? e).split('\n')[0]}`);
}
await tf.ready();

// 1. backend + versions
const backendName = tf.getBackend();
report.backend = backendName;
report.tfjsVersion = tf.version;
say(`backend = ${backendName}`);
say(`tf.version = ${JSON.stringify(tf.version)}`);
if (backendName !== 'tensorflow') fail(`expected backend 'tensorflow', got '${backendName}'`);
const binding = tf.backend().binding;
report.tfCVersion = binding?.TF_Version;
say(`TensorFlow C library (binding.TF_Version) = ${report.tfCVersion}`);
if (!report.tfCVersion) fail('binding.TF_Version is missing');

// 2. ldd: libtensorflow must come from <pkg>/deps/lib
const pkgRequire = createRequire(join(pkgDir, 'package.json'));
const bindingPath = pkgRequire('@mapbox/node-pre-gyp').find(join(pkgDir, 'package.json'));
report.binding = bindingPath;
say(`addon = ${bindingPath}`);
const depsLib = realpathSync(join(pkgDir, 'deps', 'lib'));
let lddOut;
try {
  lddOut = execFileSync('ldd', [bindingPath], { encoding: 'utf8' });
} catch (e) {
  fail(`ldd ${bindingPath}: ${e.message}`);
}
const tfLines = lddOut
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => /libtensorflow/.test(l));
const resolved = tfLines.map((l) => {
  const m = l.match(/^(\S+) => (\S+)/);
  if (!m || m[2] === 'not') return { lib: l.split(' ')[0], path: null };
  return { lib: m[1], path: realpathSync(m[2]) };
});
report.checks.ldd = resolved;
for (const r of resolved) say(`ldd ${r.lib} => ${r.path ?? 'NOT FOUND'}`);
if (resolved.length < 2) fail(`ldd shows ${resolved.length} libtensorflow libraries (expected cc + framework):\n${lddOut}`);
const stray = resolved.filter((r) => !r.path || dirname(r.path) !== depsLib);
if (stray.length) fail(`libtensorflow not resolved from ${depsLib}: ${JSON.stringify(stray)}`);

// 3. numerics vs the cpu backend (same inputs, deterministic generator)
function lcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
}
function uniform(n, seed, scale = 1) {
  const r = lcg(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * r() - 1) * scale;
  return a;
}
const B = 16, D = 32, H = 24;
const data = {
  x: uniform(B * D, 1),
  w1: uniform(D * H, 2, 1 / Math.sqrt(D)),
  b1: uniform(H, 3, 0.1),
  w2: uniform(H, 4, 1 / Math.sqrt(H)),
  y: uniform(B, 5),
};
function compute() {
  return tf.tidy(() => {
    const x = tf.tensor2d(data.x, [B, D]);
    const y = tf.tensor2d(data.y, [B, 1]);
    const w1 = tf.tensor2d(data.w1, [D, H]);
    const b1 = tf.tensor1d(data.b1);
    const w2 = tf.tensor2d(data.w2, [H, 1]);
    const mm = tf.matMul(x, w1);
    const loss = (w1_, b1_, w2_) => tf.losses.meanSquaredError(y, tf.matMul(tf.relu(tf.add(tf.matMul(x, w1_), b1_)), w2_));
    const { value, grads } = tf.valueAndGrads(loss)([w1, b1, w2]);
    return {
      matmul: mm.dataSync().slice(),
      loss: value.dataSync().slice(),
      gradW1: grads[0].dataSync().slice(),
      gradB1: grads[1].dataSync().slice(),
      gradW2: grads[2].dataSync().slice(),
    };
  });
}
const native = compute();
const isTest = tf.env().getBool('IS_TEST');
tf.env().set('IS_TEST', true); // silences tfjs' "install our node backend" notice on first cpu use
await tf.setBackend('cpu');
const reference = compute();
await tf.setBackend('tensorflow');
tf.env().set('IS_TEST', isTest);
let allOk = true;
report.checks.numerics = {};
for (const k of Object.keys(native)) {
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < native[k].length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(native[k][i] - reference[k][i]));
    maxRef = Math.max(maxRef, Math.abs(reference[k][i]));
  }
  const ok = Number.isFinite(maxAbs) && maxAbs <= TOL * Math.max(1, maxRef);
  allOk &&= ok;
  report.checks.numerics[k] = { n: native[k].length, maxAbsDiff: maxAbs, maxAbsRef: maxRef, ok };
  say(`${k.padEnd(7)} n=${String(native[k].length).padStart(3)} max|tensorflow-cpu| = ${maxAbs.toExponential(2)} (max|ref| ${maxRef.toFixed(3)}) ${ok ? 'ok' : 'MISMATCH'}`);
}
if (!allOk) fail(`native results differ from the cpu backend by more than ${TOL}`);
report.ok = true;
if (asJson) console.log(JSON.stringify(report, null, 2));
else say(`OK: ${pkgName} runs on TensorFlow ${report.tfCVersion} (native), numerics match cpu within ${TOL}`);
