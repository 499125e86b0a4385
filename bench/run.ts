/**
 * tangent's benchmarks: one entry point.
 *
 *   npx tsx bench/run.ts [--quick] [--only name,...] [--no-gpytorch]
 *
 * Runs each benchmark in its own process (bench/lib/child.ts), writes
 * <out>/<name>.json with the machine's facts, renders PNG plots (matplotlib,
 * bench/peers/plot.py) and regenerates the report from every JSON in <out>:
 *   full:    out = bench/results,        report = BENCHMARKS.md
 *   --quick: out = bench/results-quick,  report = bench/results-quick/BENCHMARKS.md
 * (--quick is a smoke run with tiny sizes; it never touches the committed
 * full results). The Python peers go into bench/.venv (bench/peers/setup-venv.sh);
 * full runs add GPyTorch (torch from PyPI, ~5.6 GB) unless --no-gpytorch.
 * Kafka: KAFKA_BROKERS when set, else the local broker of infra/kafka is
 * started (honouring KAFKA_PORT / KAFKA_CONTROLLER_PORT) and stopped at the end.
 */
import { execFileSync, fork, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import cliProgress from 'cli-progress';
import { benchDir, loadAverage, pythonEnv, repoDir, writeJson, type BenchContext, type ProgressMessage } from './lib/common.js';
import { writeReport, type Invocation } from './report.js';

export const BENCHMARKS = ['throughput', 'latency', 'compute', 'ntk-gp', 'memory', 'quality', 'quality-real', 'drift', 'serving', 'responsiveness', 'model-steps'] as const;
type Name = (typeof BENCHMARKS)[number];
const NEEDS_KAFKA = new Set<Name>(['throughput', 'latency', 'memory', 'quality', 'quality-real', 'serving', 'responsiveness']);
const NEEDS_PYTHON = new Set<Name>(['compute', 'ntk-gp', 'quality', 'quality-real']);

interface Options {
  readonly quick: boolean;
  readonly only: readonly Name[];
  readonly gpytorch: boolean;
  readonly reportOnly: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  let quick = false;
  let only: Name[] = [...BENCHMARKS];
  let gpytorch = true;
  let reportOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--report-only') reportOnly = true;
    else if (arg === '--no-gpytorch') gpytorch = false;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const list = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      if (!list) throw new Error('--only needs a comma-separated list');
      only = list.split(',').map((s) => s.trim()).filter(Boolean) as Name[];
      const unknown = only.filter((n) => !BENCHMARKS.includes(n));
      if (unknown.length) throw new Error(`unknown benchmark(s) ${unknown.join(', ')}; known: ${BENCHMARKS.join(', ')}`);
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`usage: npx tsx bench/run.ts [--quick] [--only ${BENCHMARKS.join(',')}] [--no-gpytorch] [--report-only]\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  return { quick, only: reportOnly ? [] : only, gpytorch: gpytorch && !quick && !reportOnly, reportOnly };
}

interface Broker {
  readonly brokers: string;
  readonly startedHere: boolean;
}

function startBroker(log: (line: string) => void): Broker {
  if (process.env.KAFKA_BROKERS) return { brokers: process.env.KAFKA_BROKERS, startedHere: false };
  log(`starting the local Kafka broker (infra/kafka, port ${process.env.KAFKA_PORT ?? 9092})`);
  const output = execFileSync('bash', [join(repoDir, 'infra/kafka/start.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const line = output.split('\n').find((l) => l.startsWith('KAFKA_BROKERS='));
  if (!line) throw new Error(`infra/kafka/start.sh did not report KAFKA_BROKERS:\n${output}`);
  return { brokers: line.slice('KAFKA_BROKERS='.length).trim(), startedHere: !output.includes('already running') };
}

function stopBroker(): void {
  spawnSync('bash', [join(repoDir, 'infra/kafka/stop.sh')], { stdio: 'ignore' });
}

function setupPython(gpytorch: boolean, log: (line: string) => void): { python: string; gpytorch: boolean } {
  log(`Python peers: bench/.venv (${gpytorch ? 'core + GPyTorch' : 'core'}; first time: pip from PyPI)`);
  const r = spawnSync('bash', [join(benchDir, 'peers/setup-venv.sh'), ...(gpytorch ? ['--gpytorch'] : [])], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/peers/setup-venv.sh failed:\n${r.stderr}`);
  const python = r.stdout.trim().split('\n').pop()!;
  const probe = spawnSync(python, ['-c', 'import gpytorch'], { env: pythonEnv(), stdio: 'ignore' });
  return { python, gpytorch: probe.status === 0 };
}

interface Outcome {
  readonly name: Name;
  readonly ok: boolean;
  readonly seconds: number;
  readonly error?: string;
  readonly loadBefore: readonly number[];
}

function runChild(name: Name, ctx: BenchContext, bars: Bars): Promise<Outcome> {
  const logDir = join(ctx.rawDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = createWriteStream(join(logDir, `${name}.log`));
  const started = performance.now();
  const loadBefore = loadAverage();
  return new Promise((resolve) => {
    const child = fork(join(benchDir, 'lib/child.ts'), [name], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, TANGENT_BENCH_CONTEXT: JSON.stringify(ctx), TANGENT_LOG_LEVEL: process.env.TANGENT_LOG_LEVEL ?? 'warn' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      cwd: repoDir,
    });
    child.stdout!.pipe(logFile, { end: false });
    child.stderr!.pipe(logFile, { end: false });
    let error: string | undefined;
    child.on('message', (m: ProgressMessage | { type: 'note'; line: string } | { type: 'error'; message: string } | { type: 'done' }) => {
      if (m.type === 'progress') bars.phase(name, m.phase, m.value, m.total);
      else if (m.type === 'note') {
        bars.log(`${name}: ${m.line.replace(/^[a-z-]+: /, '')}`);
        logFile.write(`[note] ${m.line}\n`);
      } else if (m.type === 'error') error = m.message;
    });
    child.on('exit', (code) => {
      logFile.end();
      const seconds = (performance.now() - started) / 1000;
      resolve({ name, ok: code === 0, seconds, error: code === 0 ? undefined : (error ?? `exit code ${code}`), loadBefore });
    });
  });
}

/** Two bars: the suite, and the current benchmark's phase. Plain lines when not on a terminal (CI). */
class Bars {
  private readonly multi: cliProgress.MultiBar;
  private readonly overall: cliProgress.SingleBar;
  private readonly current: cliProgress.SingleBar;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(total: number) {
    this.multi = new cliProgress.MultiBar(
      {
        format: '{label} |{bar}| {value}/{total} {phase}',
        barCompleteChar: '█',
        barIncompleteChar: '░',
        hideCursor: true,
        clearOnComplete: false,
        noTTYOutput: true,
        notTTYSchedule: 10_000,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    this.overall = this.multi.create(total, 0, { label: 'suite     ', phase: '' });
    this.current = this.multi.create(1, 0, { label: 'benchmark ', phase: 'starting' });
  }

  start(name: string): void {
    this.current.setTotal(1);
    this.current.update(0, { phase: `${name}: starting` });
  }

  phase(name: string, phase: string, value: number, total: number): void {
    this.current.setTotal(Math.max(1, total));
    this.current.update(Math.min(value, total), { phase: `${name}: ${phase}` });
  }

  finished(done: number): void {
    this.overall.update(done);
  }

  log(line: string): void {
    if (this.tty) this.multi.log(`${line}\n`);
    else process.stderr.write(`${line}\n`);
  }

  stop(): void {
    this.multi.stop();
  }
}

/**
 * Appends this invocation to <outDir>/invocations.json and returns the ones the
 * report covers: the last that ran every benchmark, and every one after it.
 */
function logInvocation(outDir: string, invocation: Invocation | undefined): Invocation[] {
  const file = join(outDir, 'invocations.json');
  const all: Invocation[] = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Invocation[]) : [];
  if (invocation) {
    all.push(invocation);
    writeJson(file, all.slice(-20));
  }
  let from = 0;
  all.forEach((inv, i) => {
    if (BENCHMARKS.every((name) => inv.outcomes.some((o) => o.name === name))) from = i;
  });
  return all.slice(from);
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const outDir = join(benchDir, options.quick ? 'results-quick' : 'results');
  const rawDir = join(outDir, 'raw');
  mkdirSync(rawDir, { recursive: true });
  const command = ['npx tsx bench/run.ts', ...process.argv.slice(2)].join(' ');
  const startedAt = new Date().toISOString();
  const say = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
  say(`${command} → ${relative(repoDir, outDir)}/ (${os.cpus().length} cores, load ${loadAverage().join(' ')})`);

  let python: { python: string; gpytorch: boolean } | undefined;
  let pythonError: string | undefined;
  // Always: the plots need matplotlib too.
  try {
    python = setupPython(options.gpytorch, say);
    say(`Python peers ready (${python.gpytorch ? 'with' : 'without'} GPyTorch)`);
  } catch (error) {
    pythonError = (error as Error).message;
    say(`Python peers unavailable: ${pythonError}`);
  }
  let broker: Broker | undefined;
  const stopOwnBroker = (): void => {
    if (broker?.startedHere) {
      say('stopping the local Kafka broker');
      stopBroker();
      broker = undefined;
    }
  };
  process.on('SIGINT', () => {
    stopOwnBroker();
    process.exit(130);
  });

  const outcomes: Outcome[] = [];
  const bars = new Bars(options.only.length);
  try {
    for (const name of options.only) {
      if (NEEDS_KAFKA.has(name) && !broker) {
        try {
          broker = startBroker((line) => bars.log(line));
        } catch (error) {
          outcomes.push({ name, ok: false, seconds: 0, error: `no broker: ${(error as Error).message}`, loadBefore: loadAverage() });
          bars.finished(outcomes.length);
          continue;
        }
      }
      if (NEEDS_PYTHON.has(name) && !python) {
        outcomes.push({ name, ok: false, seconds: 0, error: `no Python peers: ${pythonError}`, loadBefore: loadAverage() });
        bars.finished(outcomes.length);
        continue;
      }
      const load = loadAverage();
      if (load[0]! > 1.5 * os.cpus().length) bars.log(`${name}: note: load average ${load[0]} on ${os.cpus().length} cores — numbers may be contaminated`);
      bars.start(name);
      const ctx: BenchContext = {
        quick: options.quick,
        outDir,
        rawDir,
        brokers: broker?.brokers,
        python: python?.python,
        gpytorch: python?.gpytorch ?? false,
      };
      const outcome = await runChild(name, ctx, bars);
      outcomes.push(outcome);
      bars.finished(outcomes.length);
      bars.log(
        `${name}: ${outcome.ok ? 'done' : `FAILED (${outcome.error}; log ${relative(repoDir, join(rawDir, 'logs', `${name}.log`))})`} in ${outcome.seconds.toFixed(0)} s`,
      );
    }
  } finally {
    bars.stop();
    stopOwnBroker();
  }

  if (python) {
    const plot = spawnSync(python.python, [join(benchDir, 'peers/plot.py'), '--dir', outDir], { env: pythonEnv(), encoding: 'utf8' });
    if (plot.status !== 0) say(`plots failed: ${plot.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    else say(plot.stdout.trim() || 'plots written');
  }
  const reportPath = options.quick ? join(outDir, 'BENCHMARKS.md') : join(repoDir, 'BENCHMARKS.md');
  const seconds = (performance.now() - t0) / 1000;
  const invocations = logInvocation(outDir, options.reportOnly ? undefined : { command, startedAt, seconds, outcomes: outcomes.map(({ name, ok, seconds: s, error }) => ({ name, ok, seconds: s, error })) });
  writeReport({ outDir, reportPath, quick: options.quick, invocations });
  say(`report: ${relative(repoDir, reportPath)}`);
  for (const o of outcomes) say(`${o.ok ? 'ok    ' : 'FAILED'} ${o.name.padEnd(10)} ${o.seconds.toFixed(0).padStart(5)} s${o.error ? `  ${o.error}` : ''}`);
  say(`total ${seconds.toFixed(0)} s`);
  if (outcomes.some((o) => !o.ok)) process.exitCode = 1;
  if (!existsSync(reportPath)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`[bench] ${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
