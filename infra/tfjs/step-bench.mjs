#!/usr/bin/env node
// One online-learning step, per backend: MLP 32→256→256→1 (ReLU), batch 256, MSE,
// plain SGD lr 0.01, weights as tf.variable, each step in tf.tidy and synchronised by
// reading the loss. Warm-up 5 steps, then ≥ 30 timed steps (and ≥ --min-seconds).
// Backends that load here: tensorflow (tfjs-node, native), wasm (tfjs-backend-wasm), cpu;
// plus numpy float32 doing the same forward+backward+update (step_bench_numpy.py).
// Every implementation starts from the same data and weights (shared LCG), so
// lossAfterWarmup must agree across them.
//
//   node infra/tfjs/step-bench.mjs [OUT.json] [--project DIR] [--backends tensorflow,wasm,cpu,numpy]
//        [--warmup 5] [--steps 30] [--min-seconds 2] [--threads N] [--python python3]
//
// --threads N pins every implementation to N compute threads (OPENBLAS/OMP/MKL_NUM_THREADS for
// numpy, TF_NUM_INTRAOP_THREADS for native TF; wasm is single-threaded in Node, cpu is JS);
// without it each library uses its default (all cores). machine.loadAverage records how busy
// the host was: on a shared 2-core box other processes move these numbers a lot.
//
// Output: a single JSON object { machine, results: [{ name, msPerStep, recordsPerSecond, ... }],
// ratios } on stdout, or written to OUT.json. msPerStep is the mean wall time per step (what
// records/s is computed from); medianMsPerStep and cpuMsPerStep (process CPU time, all threads)
// help to read runs on a busy host. A human summary goes to stderr.
// Each backend runs in its own child process (isolated threads, memory and JIT).
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const IN = 32, H1 = 256, H2 = 256, OUT = 1, BATCH = 256, LR = 0.01;

function parseArgs(argv) {
  const o = {
    out: null, project: resolve(HERE, '..', '..'), backends: ['tensorflow', 'wasm', 'cpu', 'numpy'],
    warmup: 5, steps: 30, minSeconds: 2, maxSteps: 5000, python: process.env.PYTHON ?? 'python3', child: null, threads: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => argv[++i];
    if (a === '--project') o.project = resolve(val());
    else if (a === '--backends') o.backends = val().split(',').filter(Boolean);
    else if (a === '--warmup') o.warmup = Number(val());
    else if (a === '--steps') o.steps = Number(val());
    else if (a === '--min-seconds') o.minSeconds = Number(val());
    else if (a === '--max-steps') o.maxSteps = Number(val());
    else if (a === '--python') o.python = val();
    else if (a === '--threads') o.threads = Number(val());
    else if (a === '--child') o.child = val();
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else o.out = resolve(a);
  }
  return o;
}

// ---- shared problem (identical to make_problem() in step_bench_numpy.py) ----
function lcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
}
// Float64 generation then a float32 cast, in the exact order python uses.
function problem() {
  const r = lcg(12345);
  const normal = () => {
    const u1 = r(), u2 = r();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  };
  const x64 = Array.from({ length: BATCH * IN }, () => 2 * r() - 1);
  const y64 = [];
  for (let i = 0; i < BATCH; i++) {
    const a = x64.slice(i * IN, i * IN + 5);
    y64.push(Math.sin(Math.PI * a[0] * a[1]) + 2 * (a[2] - 0.5) ** 2 + a[3] + 0.5 * a[4]);
  }
  const w1 = Array.from({ length: IN * H1 }, () => normal() * Math.sqrt(2 / IN));
  const w2 = Array.from({ length: H1 * H2 }, () => normal() * Math.sqrt(2 / H1));
  const w3 = Array.from({ length: H2 * OUT }, () => normal() * Math.sqrt(2 / H2));
  return {
    x: Float32Array.from(x64), y: Float32Array.from(y64),
    w1: Float32Array.from(w1), w2: Float32Array.from(w2), w3: Float32Array.from(w3),
  };
}

// ---- child: one tfjs backend ----
async function loadTf(backend, project) {
  const req = createRequire(join(project, 'package.json'));
  const imp = async (name) => {
    const m = await import(pathToFileURL(req.resolve(name)).href);
    return m.default ?? m;
  };
  let tf;
  const info = {};
  if (backend === 'tensorflow') {
    tf = await imp('@tensorflow/tfjs-node');
  } else {
    tf = await imp('@tensorflow/tfjs');
    tf.env().set('IS_TEST', true); // silence the "install our node backend" notice
    if (backend === 'wasm') {
      info.wasmModule = await imp('@tensorflow/tfjs-backend-wasm');
    }
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') returned false`);
  await tf.ready();
  if (tf.getBackend() !== backend) throw new Error(`backend is ${tf.getBackend()}, not ${backend}`);
  const details = { tfjs: tf.version?.tfjs ?? tf.version_core };
  if (backend === 'tensorflow') details.tfCVersion = tf.backend().binding.TF_Version;
  if (backend === 'wasm') {
    details.wasmSimd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    details.wasmMultithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    if (typeof info.wasmModule.getThreadsCount === 'function') details.wasmThreads = info.wasmModule.getThreadsCount();
  }
  return { tf, details };
}

async function runChild(o) {
  const backend = o.child;
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const { tf, details } = await loadTf(backend, o.project);
  const p = problem();
  const x = tf.tensor2d(p.x, [BATCH, IN]);
  const y = tf.tensor2d(p.y, [BATCH, OUT]);
  const vars = [
    tf.variable(tf.tensor2d(p.w1, [IN, H1]), true, 'w1'),
    tf.variable(tf.zeros([H1]), true, 'b1'),
    tf.variable(tf.tensor2d(p.w2, [H1, H2]), true, 'w2'),
    tf.variable(tf.zeros([H2]), true, 'b2'),
    tf.variable(tf.tensor2d(p.w3, [H2, OUT]), true, 'w3'),
    tf.variable(tf.zeros([OUT]), true, 'b3'),
  ];
  const [w1, b1, w2, b2, w3, b3] = vars;
  const lr = tf.scalar(LR);
  const step = () => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const a1 = tf.relu(tf.add(tf.matMul(x, w1), b1));
        const a2 = tf.relu(tf.add(tf.matMul(a1, w2), b2));
        const out = tf.add(tf.matMul(a2, w3), b3);
        return tf.mean(tf.square(tf.sub(out, y)));
      }, vars);
      for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], lr)));
      return value;
    });
    const l = loss.dataSync()[0];
    loss.dispose();
    return l;
  };
  let lossAfterWarmup;
  for (let i = 0; i < o.warmup; i++) lossAfterWarmup = step();
  const tensorsBefore = tf.memory().numTensors;
  const times = [];
  let loss = lossAfterWarmup;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (times.length < o.maxSteps && (times.length < o.steps || performance.now() - t0 < o.minSeconds * 1000)) {
    const s = performance.now();
    loss = step();
    times.push(performance.now() - s);
  }
  const cpu = process.cpuUsage(cpu0);
  const ms = times.reduce((a, b) => a + b, 0) / times.length;
  times.sort((a, b) => a - b);
  return {
    name: backend,
    msPerStep: ms,
    medianMsPerStep: times[times.length >> 1],
    cpuMsPerStep: (cpu.user + cpu.system) / 1000 / times.length,
    recordsPerSecond: BATCH / (ms / 1000),
    steps: times.length,
    warmup: o.warmup,
    lossAfterWarmup,
    lossFinal: loss,
    leakedTensorsPerRun: tf.memory().numTensors - tensorsBefore,
    ...details,
  };
}

// ---- parent ----
function machineInfo() {
  const cpus = os.cpus();
  let lscpu = {};
  try {
    const out = execFileSync('lscpu', { encoding: 'utf8' });
    for (const l of out.split('\n')) {
      const m = l.match(/^([^:]+):\s+(.*)$/);
      if (m) lscpu[m[1].trim()] = m[2].trim();
    }
  } catch {}
  return {
    hostname: os.hostname(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model,
    logicalCpus: cpus.length,
    availableParallelism: os.availableParallelism?.() ?? cpus.length,
    cpuFlagsAvx512: /avx512f/.test(lscpu.Flags ?? ''),
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    loadAverage: os.loadavg().map((l) => +l.toFixed(2)),
    node: process.version,
    date: new Date().toISOString(),
  };
}

function childEnv(o) {
  const env = { ...process.env };
  if (o.threads) {
    const n = String(o.threads);
    Object.assign(env, { OPENBLAS_NUM_THREADS: n, OMP_NUM_THREADS: n, MKL_NUM_THREADS: n,
      TF_NUM_INTRAOP_THREADS: n, TF_NUM_INTEROP_THREADS: '1' });
  }
  return env;
}

function runOne(o, name) {
  let r;
  const opts = { encoding: 'utf8', env: childEnv(o) };
  if (name === 'numpy') {
    r = spawnSync(o.python, [join(HERE, 'step_bench_numpy.py'), '--warmup', String(o.warmup), '--steps', String(o.steps),
      '--min-seconds', String(o.minSeconds), '--max-steps', String(o.maxSteps)], opts);
  } else {
    r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', name, '--project', o.project,
      '--warmup', String(o.warmup), '--steps', String(o.steps), '--min-seconds', String(o.minSeconds),
      '--max-steps', String(o.maxSteps)], opts);
  }
  const line = (r.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status === 0 && line) {
    try {
      return JSON.parse(line);
    } catch {}
  }
  const err = (r.error?.message ?? (r.stderr || r.stdout || `exit ${r.status}`)).trim().split('\n').slice(-3).join(' | ');
  return { name, error: err };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.child) {
    try {
      console.log(JSON.stringify(await runChild(o)));
      process.exit(0);
    } catch (e) {
      console.error(String(e?.stack ?? e));
      process.exit(1);
    }
  }
  const machine = machineInfo();
  machine.config = { layers: [IN, H1, H2, OUT], activation: 'relu', batch: BATCH, loss: 'mse', optimizer: `sgd lr=${LR}`,
    warmup: o.warmup, minSteps: o.steps, minSeconds: o.minSeconds, threads: o.threads ?? 'library default' };
  const results = [];
  for (const name of o.backends) {
    process.stderr.write(`[step-bench] ${name} ...`);
    const r = runOne(o, name);
    results.push(r);
    process.stderr.write(r.error ? ` unavailable: ${r.error}\n`
      : ` ${r.msPerStep.toFixed(3)} ms/step, ${Math.round(r.recordsPerSecond)} records/s (${r.steps} steps, loss after warm-up ${r.lossAfterWarmup.toFixed(6)})\n`);
  }
  const ok = Object.fromEntries(results.filter((r) => !r.error).map((r) => [r.name, r]));
  const ratios = {};
  const pairs = [['tensorflow', 'numpy'], ['tensorflow', 'wasm'], ['tensorflow', 'cpu'], ['wasm', 'numpy'], ['cpu', 'numpy']];
  for (const [a, b] of pairs) {
    if (ok[a] && ok[b]) ratios[`${a}/${b}`] = +(ok[a].recordsPerSecond / ok[b].recordsPerSecond).toFixed(3);
  }
  const losses = results.filter((r) => !r.error).map((r) => r.lossAfterWarmup);
  if (losses.length > 1) {
    machine.lossAfterWarmupSpread = Math.max(...losses) - Math.min(...losses);
  }
  machine.loadAverageAfter = os.loadavg().map((l) => +l.toFixed(2));
  if (ok.tensorflow) machine.tensorflowC = ok.tensorflow.tfCVersion;
  if (ok.numpy) machine.numpy = `${ok.numpy.numpy} (${ok.numpy.blas})`;
  const report = { machine, results, ratios };
  if ('tensorflow/numpy' in ratios) process.stderr.write(`[step-bench] native/numpy records/s ratio = ${ratios['tensorflow/numpy']}\n`);
  const json = JSON.stringify(report, null, 2);
  if (o.out) {
    writeFileSync(o.out, json + '\n');
    process.stderr.write(`[step-bench] wrote ${o.out}\n`);
  } else {
    process.stdout.write(json + '\n');
  }
}

await main();
