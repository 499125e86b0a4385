import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { stringify } from 'yaml';
import { CheckpointStore, type StoredCheckpoint } from '../../../src/checkpoint/checkpoint-store.js';
import type { LearningState } from '../../../src/checkpoint/learning-state.js';
import { decodeFloat32 } from '../../../src/math/float-codec.js';
import { produceRecords } from '../../../src/demo/produce.js';
import type { OutgoingRecord } from '../../../src/demo/record-sources.js';
import { ensureTopics } from '../../../src/kafka/topics.js';
import { brokers, committedAndEndOffsets, testKafka } from '../kafka-helpers.js';
import { batchSizeAt } from '../../../src/pipeline/batch.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const kafkaScripts = join(repoRoot, 'infra/kafka/');

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tangent-faults-${prefix}-`));
}

/** Writes a pipeline YAML (brokers filled in) and returns its path. */
export function writePipeline(dir: string, document: Record<string, unknown>): string {
  const file = join(dir, `pipeline-${Math.floor(Math.random() * 1e9)}.yaml`);
  writeFileSync(file, stringify(document));
  return file;
}

/** Creates the topic with `partitions` and writes every record before anything consumes it. */
export async function produceAll(topic: string, records: readonly OutgoingRecord[], partitions: number): Promise<void> {
  const kafka = testKafka();
  await ensureTopics(kafka, [topic], partitions);
  const sent = await produceRecords(kafka, records, { topic, rate: 0 });
  if (sent !== records.length) throw new Error(`produced ${sent} of ${records.length} records`);
}

export interface Offsets {
  readonly committed: Record<number, bigint>;
  readonly end: Record<number, bigint>;
}

export async function groupOffsets(topic: string, groupId: string): Promise<Offsets> {
  const { committed, end } = await committedAndEndOffsets(topic, groupId);
  const toBigInts = (offsets: Record<number, string>): Record<number, bigint> =>
    Object.fromEntries(Object.entries(offsets).map(([p, o]) => [Number(p), BigInt(o)]));
  return { committed: toBigInts(committed), end: toBigInts(end) };
}

export const committedSum = (o: Offsets): bigint => Object.values(o.committed).reduce((a, b) => a + (b > 0n ? b : 0n), 0n);
export const endSum = (o: Offsets): bigint => Object.values(o.end).reduce((a, b) => a + b, 0n);
/** Every record committed; a partition that never held a record has nothing to commit. */
export const fullyCommitted = (o: Offsets): boolean =>
  Object.entries(o.end).every(([p, end]) => (o.committed[Number(p)] ?? -1n) === end || (end === 0n && (o.committed[Number(p)] ?? -1n) < 0n));

/** The newest intact checkpoint of a consumer (`<dir>/<groupId>/`). */
export function latestCheckpoint(checkpointDir: string, groupId: string): StoredCheckpoint<LearningState> | undefined {
  const dir = join(checkpointDir, groupId);
  if (!existsSync(dir)) return undefined;
  return new CheckpointStore<LearningState>(dir, 1000).loadLatest();
}

/** Every network weight of a checkpoint, trunk then heads in task order, as one float array. */
export function networkWeights(state: LearningState): Float32Array {
  const parts: Float32Array[] = [];
  for (const layer of state.network.network.trunk) parts.push(decodeFloat32(layer.weight), decodeFloat32(layer.bias));
  const heads = [...state.network.network.heads].sort((a, b) => (a.task < b.task ? -1 : a.task > b.task ? 1 : 0));
  for (const head of heads) for (const layer of head.layers) parts.push(decodeFloat32(layer.weight), decodeFloat32(layer.bias));
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

export function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= max)) max = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return max;
}

/** One log line of the consumer (pino JSON), or the raw text when it is not JSON. */
export type LogLine = Record<string, unknown> & { msg?: string };

/**
 * The consumer as a real child process — `node --import tsx src/cli.ts run
 * --pipeline FILE` — so SIGKILL and SIGTERM are real signals to a real
 * process. Every byte of stdout/stderr is kept (for the secret-leak check).
 */
export class ConsumerProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private metricsPortValue: number | undefined;

  constructor(pipelineFile: string, env: NodeJS.ProcessEnv = {}) {
    // The pipeline file names the consumer's ports (0 = any free one): a port from the test runner's
    // environment would override it, and two consumers of tests running side by side would collide.
    const { TANGENT_METRICS_PORT: _metricsPort, TANGENT_SERVING_PORT: _servingPort, ...inherited } = process.env;
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'run', '--pipeline', pipelineFile], {
      cwd: repoRoot,
      env: { ...inherited, KAFKA_BROKERS: brokers().join(','), TANGENT_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      if (this.metricsPortValue === undefined) {
        const match = /"msg":"consuming"/.test(chunk) ? /"metrics":\{"host":"[^"]*","port":(\d+)\}/.exec(this.stdout) : null;
        if (match) this.metricsPortValue = Number(match[1]);
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get metricsPort(): number | undefined {
    return this.metricsPortValue;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  logs(): LogLine[] {
    return this.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as LogLine;
        } catch {
          return { msg: l };
        }
      });
  }

  hasLogged(message: string): boolean {
    return this.stdout.includes(`"msg":"${message}"`);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Scrapes the child's /metrics; undefined while it does not answer. */
  async scrape(): Promise<string | undefined> {
    if (this.metricsPortValue === undefined) return undefined;
    try {
      const response = await fetch(`http://127.0.0.1:${this.metricsPortValue}/metrics`, { signal: AbortSignal.timeout(5_000) });
      return await response.text();
    } catch {
      return undefined;
    }
  }
}

/** VmRSS of a process in bytes (Linux), undefined once it is gone. */
export function residentBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * The local broker of infra/kafka behind the test brokers, when that is what
 * the global setup started (one address on 127.0.0.1 with our run dir):
 * only then can a test kill and restart it.
 */
export function localBroker(): { port: number; runDir: string; pid(): number | undefined; kill9(): void; restartKeepingData(): void } | undefined {
  const list = brokers();
  const match = list.length === 1 ? /^127\.0\.0\.1:(\d+)$/.exec(list[0]!) : null;
  if (!match) return undefined;
  const port = Number(match[1]);
  const runDir = process.env.TANGENT_RUN_DIR ?? `/tmp/tangent-kafka-${port}`;
  if (!existsSync(join(runDir, 'kafka.pid')) || !existsSync(join(runDir, '.tangent-kafka'))) return undefined;
  const controllerPort = /^controller\.quorum\.bootstrap\.servers=127\.0\.0\.1:(\d+)$/m.exec(readFileSync(join(runDir, 'server.properties'), 'utf8'))?.[1];
  const env = { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: controllerPort ?? '', TANGENT_RUN_DIR: runDir };
  const pid = (): number | undefined => {
    try {
      const value = Number(readFileSync(join(runDir, 'kafka.pid'), 'utf8').trim());
      process.kill(value, 0);
      return value;
    } catch {
      return undefined;
    }
  };
  return {
    port,
    runDir,
    pid,
    kill9: () => {
      const value = pid();
      if (value === undefined) throw new Error(`no broker process in ${runDir}`);
      process.kill(value, 'SIGKILL');
    },
    restartKeepingData: () => {
      execFileSync('bash', [`${kafkaScripts}start.sh`], { env: { ...env, KAFKA_KEEP_DATA: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
    },
  };
}

/** Records in the stream's first `batchCount` count-based batches, warm-up included (1, 2, 4, … then `batchSize`). */
export function recordsInBatches(batchCount: number, batchSize: number): number {
  return Array.from({ length: batchCount }, (_, index) => batchSizeAt(index, { size: batchSize, warmup: true })).reduce((a, b) => a + b, 0);
}
