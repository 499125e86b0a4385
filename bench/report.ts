/**
 * Renders BENCHMARKS.md from every <outDir>/<name>.json: machine facts,
 * one section per benchmark with its tables and plot, the goals with a
 * met / not met verdict computed from the numbers, and bench/analysis.md
 * (the hand-written reading of the numbers: causes, next steps) verbatim.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { benchDir } from './lib/common.js';
import type { ComputeResult } from './benchmarks/compute.js';
import type { DriftResult } from './benchmarks/drift.js';
import type { LatencyResult } from './benchmarks/latency.js';
import type { MemoryResult } from './benchmarks/memory.js';
import type { ModelStepsResult } from './benchmarks/model-steps.js';
import type { NtkGpResult } from './benchmarks/ntk-gp.js';
import type { QualityResult } from './benchmarks/quality.js';
import type { ServingResult } from './benchmarks/serving.js';
import type { ResponsivenessResult } from './benchmarks/responsiveness.js';
import type { QualityRealResult } from './benchmarks/quality-real.js';
import type { ThroughputResult } from './benchmarks/throughput.js';

interface Meta {
  readonly tree?: { commit: string; uncommittedSrc: string[] };
  readonly quick: boolean;
  readonly startedAt: string;
  readonly wallSeconds: number;
  readonly machine: {
    cores: number;
    cpuModel: string;
    totalMemoryGiB: number;
    node: string;
    platform: string;
    loadAverage: number[];
    loadAverageAfter: number[];
    tfjsBackend: string | null;
    avx512: boolean;
  };
}

/** One invocation of bench/run.ts, as logged in <outDir>/invocations.json. */
export interface Invocation {
  readonly command: string;
  readonly startedAt: string;
  readonly seconds: number;
  readonly outcomes: readonly { name: string; ok: boolean; seconds: number; error?: string }[];
}

export interface ReportOptions {
  readonly outDir: string;
  readonly reportPath: string;
  readonly quick: boolean;
  /** The invocations whose results the report shows: the last one that ran every benchmark, and those after it. */
  readonly invocations: readonly Invocation[];
}

const int = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : Math.round(x).toLocaleString('en-US'));
const fix = (x: number | null | undefined, digits = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));
const sig = (x: number | null | undefined, digits = 3): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : Math.abs(x) >= 10 ** digits ? int(x) : Number(x.toPrecision(digits)).toString();
const table = (header: readonly string[], rows: readonly (readonly string[])[]): string =>
  [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

function read<T>(outDir: string, name: string): (T & Meta) | undefined {
  const file = join(outDir, `${name}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T & Meta) : undefined;
}

/** One sentence on the pipeline settings a run used (whatever tangent's defaults were at the time). */
function describePipeline(settings: Record<string, unknown> | undefined): string {
  if (!settings) return '';
  const s = settings as {
    model?: { hidden?: number[]; learningRate?: number };
    batch?: { size?: number; lingerMs?: number };
    fineTune?: { every?: number; steps?: number };
    drift?: { detectors?: { kind: string }[]; fineTuneOnDrift?: boolean };
    checkpoint?: { every?: number; intervalSeconds?: number };
  };
  const parts = [
    `trunk ${JSON.stringify(s.model?.hidden)}, η ${s.model?.learningRate}`,
    `batch ${s.batch?.size}`,
    `fine-tune every ${s.fineTune?.every} batches × ${s.fineTune?.steps} steps`,
  ];
  if (s.drift) parts.push(`drift detectors ${(s.drift.detectors ?? []).map((d) => d.kind).join(' + ')}${s.drift.fineTuneOnDrift ? ' (a detection on the NN asks for a fine-tune phase)' : ''}`);
  if (s.checkpoint) parts.push(`checkpoints every ${s.checkpoint.every} batches or ${s.checkpoint.intervalSeconds} s`);
  return parts.join(', ');
}

interface Goal {
  readonly benchmark: string;
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean | null;
}

/** How much the ceiling moved over the run, when it was measured more than once. */
function ceilingSpread(samples: readonly { recordsPerSecond: number; loadAverage: readonly number[] }[] | undefined): string {
  if (!samples || samples.length < 2) return '';
  const rates = samples.map((s) => s.recordsPerSecond);
  const loads = samples.map((s) => s.loadAverage[0]!);
  return `The ceiling was measured ${samples.length} times, before each consumer below and after the last: ${int(Math.min(...rates))}–${int(Math.max(...rates))} records/s (load ${fix(Math.min(...loads), 1)}–${fix(Math.max(...loads), 1)}); its row is the median measurement, and every ratio is taken against it.\n`;
}

export function writeReport(options: ReportOptions): void {
  const { outDir } = options;
  const image = (name: string): string => {
    const file = join(outDir, `${name}.png`);
    return existsSync(file) ? `\n![${name}](${relative(dirname(options.reportPath), file)})\n` : '';
  };
  const when = (r: Meta): string =>
    `_Run ${r.startedAt.replace('T', ' ').slice(0, 16)} UTC, ${fix(r.wallSeconds, 0)} s, load average ${r.machine.loadAverage[0]} → ${r.machine.loadAverageAfter[0]} on ${r.machine.cores} cores${r.tree ? `, code at ${r.tree.commit}${r.tree.uncommittedSrc.length ? ` plus uncommitted edits to ${r.tree.uncommittedSrc.join(', ')}` : ''}` : ''}._`;
  const goals: Goal[] = [];
  const sections: string[] = [];
  const machines: Meta['machine'][] = [];

  const throughput = read<ThroughputResult>(outDir, 'throughput');
  if (throughput) {
    machines.push(throughput.machine);
    const rows: string[][] = [
      ['raw kafkajs `eachBatch`, no processing (ceiling; the median measurement)', int(throughput.ceiling.records), int(throughput.ceiling.recordsPerSecond), '1.000', fix(throughput.ceiling.secondsFirstToLast, 1), fix(throughput.ceiling.secondsIncludingJoin, 1), '–'],
      ...throughput.runs.map((r) => {
        const perBatch = (s: number): string => `${fix((s / r.batches) * 1000, 1)}`;
        const learn = Object.entries(r.seconds.learn)
          .map(([m, s]) => `learn ${m} ${perBatch(s)}`)
          .join(', ');
        const size = (r.settings.batch as { size?: number } | undefined)?.size ?? '?';
        // Runs before fineTuneEverywhere counted only the steps inside a batch's turn.
        const fineTune = r.seconds.fineTuneEverywhere
          ? `fine-tune steps ${perBatch(r.seconds.fineTune)} (in a batch's turn or between batches)`
          : `of which fine-tune steps in a batch's turn ${perBatch(r.seconds.fineTune)}`;
        const stages = [`score ${perBatch(r.seconds.score)}`, ...(learn ? [learn] : []), fineTune].join(', ');
        return [r.name, int(r.records), int(r.recordsPerSecond), fix(r.ratioToCeiling, 4), fix(r.secondsFirstToLast, 1), fix(r.secondsIncludingStartup, 1), `${size}: ${stages}`];
      }),
    ];
    sections.push(
      [
        '## 1. Throughput: tangent against the Kafka ceiling',
        when(throughput),
        ceilingSpread(throughput.ceiling.samples),
        `${int(throughput.records)} Friedman records (${throughput.recordBytes} bytes each, 3 partitions) produced to a fresh topic of 3 tasks and as many to one of 64 tasks (the runs that say so) at ${int(throughput.produce.recordsPerSecond)} records/s; then each consumer in a fresh group from the beginning of that topic. Rates are steady-state (first fetch / learned batch to the last); start-up and group join are in the "incl. start-up" column. Backend: \`${throughput.backend}\`. Pipeline settings as of the run: ${describePipeline(throughput.runs[0]?.settings)}.`,
        '',
        table(['consumer', 'records', 'records/s', '× ceiling', 'seconds', 'incl. start-up', 'batch size: ms per batch'], rows),
        image('throughput'),
      ].join('\n'),
    );
    for (const r of throughput.runs) {
      if (r.goal === undefined) continue;
      goals.push({ benchmark: 'throughput', goal: `${r.name} ≥ ${r.goal} × ceiling`, measured: `${fix(r.ratioToCeiling, 4)} × (${int(r.recordsPerSecond)} vs ${int(throughput.ceiling.recordsPerSecond)} records/s)`, met: r.ratioToCeiling >= r.goal });
    }
  }

  const latency = read<LatencyResult>(outDir, 'latency');
  if (latency) {
    machines.push(latency.machine);
    const rows = latency.runs.map((r) => [
      r.name,
      `${int(r.targetRate)} (${r.rateSource})`,
      int(r.producer.achievedRate),
      int(r.records),
      int(r.millis.p50),
      int(r.millis.p90),
      int(r.millis.p99),
      int(r.millis.max),
      fix(r.meanBatchSize, 1),
    ]);
    const s = latency.runs[0]?.settings as { batchSize?: number; lingerMs?: number; maxWaitTimeMs?: number } | undefined;
    sections.push(
      [
        '## 2. Latency: ingest to learned',
        when(latency),
        `A producer process sends at half the maximum rate measured in §1, stamping each record's \`ts\` right before its send request; an observer passed to \`startConsumer\` takes \`Date.now() − ts\` at the end of the batch that learned the record. Settings: \`batch.size: ${s?.batchSize}\`, \`batch.lingerMs: ${s?.lingerMs}\`, \`kafka.maxWaitTimeMs: ${s?.maxWaitTimeMs}\`; the first records (up to 2 s, at most 10%) are warm-up and not counted.`,
        '',
        table(['consumer', 'target rate (records/s)', 'sent at', 'records', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'mean batch'], rows),
        image('latency'),
      ].join('\n'),
    );
    const nn = latency.runs.find((r) => r.name === 'tangent NN only');
    if (nn) goals.push({ benchmark: 'latency', goal: 'p99 ≤ 50 ms (NN only, at half its max rate)', measured: `p99 ${int(nn.millis.p99)} ms (p50 ${int(nn.millis.p50)} ms) at ${int(nn.targetRate)} records/s`, met: nn.millis.p99 <= 50 });
    const gp = latency.runs.find((r) => r.name.startsWith('tangent NN + NTK-GP'));
    if (gp) goals.push({ benchmark: 'latency', goal: 'p99 ≤ 100 ms (NN + NTK-GP, at half its max rate)', measured: `p99 ${int(gp.millis.p99)} ms (p50 ${int(gp.millis.p50)} ms) at ${int(gp.targetRate)} records/s`, met: gp.millis.p99 <= 100 });
    const diagnostic = latency.runs.find((r) => r.name === 'diagnostic: NN only, no fine-tuning phases');
    if (diagnostic) goals.push({ benchmark: 'latency', goal: '(diagnostic) the same, NN only without fine-tuning phases', measured: `p99 ${int(diagnostic.millis.p99)} ms (p50 ${int(diagnostic.millis.p50)} ms) at ${int(diagnostic.targetRate)} records/s`, met: diagnostic.millis.p99 <= 50 });
  }

  const compute = read<ComputeResult>(outDir, 'compute');
  if (compute) {
    machines.push(compute.machine);
    const numpy = compute.stepBench.results.find((r) => r.name === 'numpy' && !r.error);
    const rows = compute.stepBench.results.map((r) => [
      r.name === 'numpy' ? `numpy (${compute.blasKernel.unset})` : `tfjs \`${r.name}\``,
      r.error ? `unavailable: ${r.error}` : int(r.recordsPerSecond),
      r.error ? '–' : fix(r.msPerStep, 3),
      r.error || !numpy?.recordsPerSecond ? '–' : fix(r.recordsPerSecond! / numpy.recordsPerSecond, 2),
    ]);
    if (compute.numpyMachineEnv && !compute.numpyMachineEnv.error) {
      rows.push([
        `numpy, OPENBLAS_CORETYPE as set on this machine (${compute.blasKernel.machineEnv})`,
        int(compute.numpyMachineEnv.recordsPerSecond),
        fix(compute.numpyMachineEnv.msPerStep, 3),
        numpy?.recordsPerSecond ? fix(compute.numpyMachineEnv.recordsPerSecond! / numpy.recordsPerSecond, 2) : '–',
      ]);
    }
    const m = compute.stepBench.machine as { config?: Record<string, unknown>; lossAfterWarmupSpread?: number; tensorflowC?: string };
    sections.push(
      [
        '## 3. Compute: one SGD step per backend against numpy',
        when(compute),
        `\`infra/tfjs/step-bench.mjs\` (MLP 32→256→256→1 ReLU, batch 256, MSE, SGD; same data and weights everywhere, loss after warm-up agrees within ${sig(m.lossAfterWarmupSpread ?? Number.NaN, 2)}), folded in as is. Native TensorFlow C ${m.tensorflowC ?? '?'}. Command: \`${compute.command}\`. numpy runs in the bench venv with this machine's \`OPENBLAS_CORETYPE\`/\`OPENBLAS_L2_SIZE\` unset (they pin OpenBLAS to older kernels); the row with them as set is for reference.`,
        '',
        table(['implementation', 'records/s', 'ms/step', '× numpy'], rows),
        image('compute'),
      ].join('\n'),
    );
    if (compute.nativeOverNumpy !== null) goals.push({ benchmark: 'compute', goal: 'native tfjs / numpy ≥ 0.5 (records/s)', measured: `${fix(compute.nativeOverNumpy, 2)} ×`, met: compute.nativeOverNumpy >= 0.5 });
  }

  const ntk = read<NtkGpResult>(outDir, 'ntk-gp');
  if (ntk) {
    machines.push(ntk.machine);
    const peer = new Map(ntk.peers.rows.map((r) => [r.n, r]));
    const shared = new Map(ntk.shared.map((r) => [r.n, r]));
    const rows = ntk.tangent.rows.map((r) => [
      int(r.n),
      int(r.fusedUpdate.cpuMicros),
      r.fusedUpdateTypeScript ? int(r.fusedUpdateTypeScript.cpuMicros) : '–',
      int(r.separateUpdate.cpuMicros),
      int(r.gpAdd.cpuMicros),
      fix(r.refit.cpuMicros / 1000, 1),
      int(r.refitOverFusedUpdate),
      int(r.rebuildOverGpAdd),
      sig(r.factorRelativeError, 2),
    ]);
    const cpuWall = (cpu: number | undefined, wall: number | undefined, digits = 1): string =>
      cpu === undefined ? '–' : `${fix(cpu, digits)} (${fix(wall, digits)})`;
    const peerRows = ntk.tangent.rows.map((r) => {
      const p = peer.get(r.n);
      const s = shared.get(r.n);
      return [
        int(r.n),
        cpuWall(s?.tangentForwardSolveCpuMicros, s?.tangentForwardSolveMicros),
        cpuWall(p?.dtrsvCpuMicros, p?.dtrsvMicros),
        cpuWall(p?.solveTriangularCpuMicros, p?.solveTriangularMicros),
        p && s ? fix(s.tangentForwardSolveCpuMicros / p.dtrsvCpuMicros, 1) : '–',
        p ? fix(r.fusedUpdate.cpuMicros / p.dtrsvCpuMicros, 1) : '–',
        cpuWall(s?.tangentRefitCpuMillis, s?.tangentRefitMillis),
        cpuWall(p?.choFactorCpuMillis, p?.choFactorMillis),
        p?.gpytorchFantasyMillis !== undefined ? cpuWall(p.gpytorchFantasyCpuMillis, p.gpytorchFantasyMillis) : (p?.gpytorchError ?? 'not installed'),
        p ? sig(p.solutionRelativeDifference, 2) : '–',
      ];
    });
    const v = ntk.peers.versions;
    sections.push(
      [
        '## 4. NTK-GP: incremental update against refit and against LAPACK / GPyTorch',
        when(ntk),
        `\`runNtkGpBench\` (bench/ntk-gp.ts): NTK of the demo spec (${ntk.tangent.spec.inputDim} inputs, ${ntk.tangent.spec.activation} ${JSON.stringify(ntk.tangent.spec.hidden)}, head ${JSON.stringify(ntk.tangent.spec.headHidden)}), jitter ${ntk.tangent.noise}; median CPU time of one sliding-window update (evict the oldest + append the newest) against one from-scratch Cholesky refactor of the same window. The factor's O(N²) loops run in ${ntk.tangent.backend === 'wasm-simd' ? 'WebAssembly SIMD (src/ntk/wasm/triangular-kernels.wat)' : (ntk.tangent.backend ?? 'TypeScript')}; the TypeScript fallback's fused slide is timed beside it on the same matrices.`,
        '',
        table(['N', 'slide, fused µs', 'slide, fused, TypeScript fallback µs', 'slide, evict + append µs', 'GP add (kernel row + slide) µs', 'refit ms', 'refit / fused slide', '(Gram + refit) / GP add', 'factor rel. error'], rows),
        '',
        `Peers on the same kernel matrices (each N: the Gram of N + 1 points written from TypeScript as .npy; tangent's forward substitution L⁻¹k and refit timed on exactly that matrix; Python ${v.python}, numpy ${v.numpy}, scipy ${v.scipy}${v.gpytorch ? `, torch ${v.torch ?? '–'}, gpytorch ${v.gpytorch}` : ''}; BLAS: ${ntk.peers.blas}). Everything single-threaded (tangent's JavaScript is; the peers run with \`OPENBLAS_NUM_THREADS=1\` and \`torch.set_num_threads(1)\`). Cells are CPU time per call (wall-clock median in brackets); the ratios use CPU time, which other load on this shared machine does not inflate. The last column checks that both sides solved the same system.`,
        '',
        table(['N', 'tangent L⁻¹k µs', 'BLAS dtrsv µs', 'scipy solve_triangular µs', 'tangent L⁻¹k / dtrsv', 'tangent slide / dtrsv', 'tangent refit ms', 'LAPACK dpotrf (cho_factor) ms', 'GPyTorch get_fantasy_model ms', 'L⁻¹k rel. diff'], peerRows),
        ntk.peers.error ? `\nPeer error: ${ntk.peers.error}\n` : '',
        image('ntk-gp'),
      ].join('\n'),
    );
    const at = ntk.tangent.rows.find((r) => r.n === 2048) ?? ntk.tangent.rows[ntk.tangent.rows.length - 1];
    if (at) {
      goals.push({ benchmark: 'ntk-gp', goal: `update ≥ 30× faster than refit at N=2048`, measured: `${int(at.refitOverFusedUpdate)}× at N=${at.n} (fused slide ${int(at.fusedUpdate.cpuMicros)} µs vs refit ${fix(at.refit.cpuMicros / 1000, 1)} ms, CPU)`, met: at.n === 2048 ? at.refitOverFusedUpdate >= 30 : null });
      const p = peer.get(at.n);
      const s = shared.get(at.n);
      if (p && s) {
        goals.push({ benchmark: 'ntk-gp', goal: `per-point update (slide) within 4× of LAPACK's triangular solve (N=${at.n})`, measured: `${fix(at.fusedUpdate.cpuMicros / p.dtrsvCpuMicros, 1)}× dtrsv (${int(at.fusedUpdate.cpuMicros)} vs ${fix(p.dtrsvCpuMicros, 1)} µs CPU, one thread)`, met: at.fusedUpdate.cpuMicros <= 4 * p.dtrsvCpuMicros });
        goals.push({ benchmark: 'ntk-gp', goal: `like for like: tangent's forward substitution within 3× of dtrsv (N=${at.n})`, measured: `${fix(s.tangentForwardSolveCpuMicros / p.dtrsvCpuMicros, 1)}× (${fix(s.tangentForwardSolveCpuMicros, 1)} vs ${fix(p.dtrsvCpuMicros, 1)} µs CPU, one thread)`, met: s.tangentForwardSolveCpuMicros <= 3 * p.dtrsvCpuMicros });
      }
    }
  }

  const memory = read<MemoryResult>(outDir, 'memory');
  if (memory) {
    machines.push(memory.machine);
    const a = memory.afterWarmup;
    // Two readings that look through the garbage collector's sawtooth: the trend (second half against first
    // half of the post-warm-up samples) and the widest deviation of a 30-sample (≈30 s) rolling mean.
    const post = memory.samples.filter((x) => x.learned >= memory.warmupFraction * memory.records).map((x) => x.rssMiB);
    const avg = (xs: readonly number[]): number => xs.reduce((p, q) => p + q, 0) / xs.length;
    const half = Math.floor(post.length / 2);
    const trend = avg(post.slice(half)) / avg(post.slice(0, half)) - 1;
    const window = Math.min(30, post.length);
    let rollingDeviation = 0;
    for (let i = 0; i + window <= post.length; i++) rollingDeviation = Math.max(rollingDeviation, Math.abs(avg(post.slice(i, i + window)) / a.meanRssMiB - 1));
    sections.push(
      [
        '## 5. Memory soak',
        when(memory),
        `${int(memory.records)} records through the broker into tangent (NTK-GP on with \`window: ${(memory.settings.ntkgp as { window: number }).window}\` per task, 3 tasks; otherwise the defaults as of the run: ${describePipeline(memory.settings)}); a producer process writes as fast as the broker takes it (${int(memory.producer.achievedRate)} records/s), so the consumer runs behind (max lag ${int(memory.maxLag)}) and the water marks (${(memory.settings.waterMarks as number[]).join(' / ')}) pause and resume fetching. RSS of the consumer process sampled every second (${memory.samples.length} samples); warm-up = the first ${fix(memory.warmupFraction * 100, 0)}% of the records. Learning rate over the soak: ${int(memory.recordsPerSecond)} records/s.`,
        '',
        table(
          ['after warm-up', 'value'],
          [
            ['samples', int(a.samples)],
            ['mean RSS', `${fix(a.meanRssMiB, 1)} MiB`],
            ['min / max RSS', `${fix(a.minRssMiB, 1)} / ${fix(a.maxRssMiB, 1)} MiB`],
            ['max deviation from the mean', `${fix(a.maxDeviation * 100, 2)} %`],
            ['least-squares slope', `${fix(a.slopeMiBPer100k, 2)} MiB per 100k records`],
            ['trend: mean RSS of the second half / first half', `${trend >= 0 ? '+' : ''}${fix(trend * 100, 2)} %`],
            [`max deviation of the ${window}-sample rolling mean`, `${fix(rollingDeviation * 100, 2)} %`],
            ['V8 heap used (min / max)', `${fix(Math.min(...memory.samples.filter((x) => x.learned >= memory.warmupFraction * memory.records).map((x) => x.heapUsedMiB)), 0)} / ${fix(Math.max(...memory.samples.filter((x) => x.learned >= memory.warmupFraction * memory.records).map((x) => x.heapUsedMiB)), 0)} MiB`],
            ['tfjs tensors (min / max)', `${a.tensorsMin} / ${a.tensorsMax}`],
          ],
        ),
        image('memory'),
      ].join('\n'),
    );
    goals.push({ benchmark: 'memory', goal: 'RSS flat within ±5% after warm-up (first 20%)', measured: `every sample within ${fix(a.maxDeviation * 100, 1)} % of the mean (${fix(a.minRssMiB, 0)}–${fix(a.maxRssMiB, 0)} MiB); 30 s rolling mean within ${fix(rollingDeviation * 100, 1)} %; trend ${trend >= 0 ? '+' : ''}${fix(trend * 100, 1)} % (second half vs first), slope ${fix(a.slopeMiBPer100k, 1)} MiB/100k records, over ${int(memory.records)} records`, met: memory.flat });
  }

  const quality = read<QualityResult>(outDir, 'quality');
  if (quality) {
    machines.push(quality.machine);
    const parts: string[] = [
      '## 6. Quality against River on FriedmanDrift',
      when(quality),
      `River ${quality.river}'s \`synth.FriedmanDrift\` (seed 42) written as JSONL, replayed through Kafka into tangent's default pipeline (NN + NTK-GP window ${(quality.streams[0]?.tangentSettings.ntkgp as { window?: number } | undefined)?.window ?? '?'}, ${describePipeline(quality.streams[0]?.tangentSettings)}; one task, so one partition and the file's order, checked record by record); River's models each behind \`preprocessing.StandardScaler\`, predict-then-learn on the same records in Python. tangent scores a batch of ${(quality.streams[0]?.tangentSettings.batch as { size?: number } | undefined)?.size ?? '?'} before learning it (test-then-train per minibatch, the first batches smaller: warm-up); River per record. Wall-clock: River's loop per model; tangent's pipeline (both models, Kafka decode included) from the first learned batch to the last, with the seconds inside each model's learn step beside it.`,
    ];
    for (const stream of quality.streams) {
      const segments = Object.keys(Object.values(stream.models)[0]?.metrics ?? {});
      const rows = Object.entries(stream.models).map(([name, m]) => [
        name,
        ...segments.flatMap((s) => [fix(m.metrics[s]?.mae, 3), fix(m.metrics[s]?.rmse, 3)]),
        `${fix(m.seconds, 1)}${m.learnSeconds !== undefined ? ` (learn ${fix(m.learnSeconds, 1)})` : ''}`,
      ]);
      parts.push(
        '',
        `### ${stream.drift}: \`${stream.riverDriftType}\`, ${int(stream.records)} records, drifts at ${stream.positions.map(int).join(', ')}${stream.transitionWindow ? `, transition window ${int(stream.transitionWindow)}` : ''}`,
        '',
        table(['model', ...segments.flatMap((s) => [`MAE ${s}`, `RMSE ${s}`]), 'seconds'], rows),
        image(`quality-${stream.drift}`),
      );
    }
    for (const stream of quality.streams) {
      const mae = (name: string): number | undefined => stream.models[name]?.metrics.overall?.mae;
      const river = Object.keys(stream.models).filter((n) => n.startsWith('river '));
      const nn = mae('tangent nn');
      const gp = mae('tangent ntkgp');
      const tree = mae('river HoeffdingTreeRegressor');
      const others = Object.keys(stream.models).filter((n) => n !== 'tangent ntkgp').map(mae).filter((x): x is number => x !== undefined);
      if (nn !== undefined && tree !== undefined) goals.push({ benchmark: 'quality', goal: `FriedmanDrift ${stream.drift}: network ≤ River's HoeffdingTreeRegressor`, measured: `MAE ${fix(nn, 3)} vs ${fix(tree, 3)}`, met: nn <= tree });
      if (gp !== undefined && river.length > 0) goals.push({ benchmark: 'quality', goal: `FriedmanDrift ${stream.drift}: NTK-GP the best model`, measured: `MAE ${fix(gp, 3)} vs best other ${fix(Math.min(...others), 3)}`, met: gp <= Math.min(...others) });
    }
    sections.push(parts.join('\n'));
  }

  const real = read<QualityRealResult>(outDir, 'quality-real');
  if (real) {
    machines.push(real.machine);
    const modelNames = [...new Set(real.datasets.flatMap((d) => Object.keys(d.models)))];
    const maeRows = real.datasets.map((d) => [`${d.dataset.name} (${int(d.dataset.records)} × ${d.dataset.features.length})`, ...modelNames.map((m) => fix(d.models[m]?.mae, 3))]);
    const rmseRows = real.datasets.map((d) => [d.dataset.name, ...modelNames.map((m) => fix(d.models[m]?.rmse, 3))]);
    const etaRows = real.datasets.map((d) => [
      d.dataset.name,
      sig(d.learningRate.first),
      sig(d.learningRate.median),
      `${sig(d.learningRate.min)} – ${sig(d.learningRate.max)}`,
      sig(d.learningRate.last),
      fix(d.learningRate.maxMargin, 3),
    ]);
    const checkRows = real.datasets.flatMap((d) =>
      d.batchSizeChecks.map((c) => {
        const nn = c.summary.prequential.find((p) => p.model === 'nn');
        const gp = c.summary.prequential.find((p) => p.model === 'ntkgp');
        return [d.dataset.name, String(c.batchSize), fix(nn?.mae, 3), fix(gp?.mae, 3), int(nn?.nonFinite), int(c.summary.rejectedSteps.nn ?? 0), `${sig(c.learningRate.min)} – ${sig(c.learningRate.max)}`, fix(c.learningRate.maxMargin, 3)];
      }),
    );
    const first = real.datasets[0];
    sections.push(
      [
        '## 6b. Quality on real data against River',
        when(real),
        `Real regression datasets bundled in PyPI wheels (nothing downloaded at run time): ${real.datasets.map((d) => `${d.dataset.name} — ${d.dataset.source}`).join('; ')}. Each replayed through Kafka in its own order into tangent's **default** pipeline (only \`model.inputDim\` set: ${describePipeline(first?.tangentSettings)}, batch ${(first?.tangentSettings.batch as { size?: number } | undefined)?.size ?? '?'}) with \`run --until-end\` semantics; River ${real.river}'s models each behind \`preprocessing.StandardScaler\` under \`evaluate.progressive_val_score\`; the running mean is River's \`dummy.StatisticRegressor(stats.Mean())\`. Whole-stream prequential MAE (target units; every record predicted before it is learned):`,
        '',
        table(['dataset', ...modelNames], maeRows),
        '',
        'Whole-stream prequential RMSE:',
        '',
        table(['dataset', ...modelNames], rmseRows),
        '',
        "The η `learningRate: auto` chose for the network's head steps (per step: safety · 2/(λ'_max + λ'_min) of the step's (2/B)·kernel; the first step is a warm-up batch of one record), and the largest stability margin η·(λ'_max + λ'_min)/2 of any step:",
        '',
        table(['dataset', 'η first step', 'η median', 'η range', 'η last step', 'max margin'], etaRows),
        ...(checkRows.length > 0
          ? ['', 'Divergence check, the same replays at other `batch.size` values (defaults otherwise):', '', table(['dataset', 'batch.size', 'MAE nn', 'MAE ntkgp', 'non-finite nn', 'rejected nn steps', 'η range', 'max margin'], checkRows)]
          : []),
      ].join('\n'),
    );
    for (const d of real.datasets) {
      const mae = (name: string): number | null | undefined => d.models[name]?.mae;
      const nn = mae('tangent nn');
      const gp = mae('tangent ntkgp');
      const mean = mae('running mean');
      const linear = mae('river LinearRegression');
      const river = Object.keys(d.models).filter((n) => n.startsWith('river ')).map(mae).filter((x): x is number => typeof x === 'number');
      if (typeof nn === 'number' && typeof mean === 'number' && typeof linear === 'number') {
        goals.push({ benchmark: 'quality-real', goal: `${d.dataset.name}: network ≤ running mean and ≤ River LinearRegression`, measured: `MAE ${fix(nn, 3)} vs ${fix(mean, 3)} and ${fix(linear, 3)}`, met: nn <= mean && nn <= linear });
      }
      if (typeof gp === 'number' && river.length > 0) {
        goals.push({ benchmark: 'quality-real', goal: `${d.dataset.name}: NTK-GP ≤ best of River's four (target: on 2 of 3 datasets)`, measured: `MAE ${fix(gp, 3)} vs ${fix(Math.min(...river), 3)}`, met: gp <= Math.min(...river) });
      }
      const diverged = d.batchSizeChecks.filter((c) => c.summary.prequential.some((p) => p.nonFinite > 0) || (c.summary.rejectedSteps.nn ?? 0) > 0);
      if (d.batchSizeChecks.length > 0) {
        goals.push({ benchmark: 'quality-real', goal: `${d.dataset.name}: no non-finite prediction, no rejected step at batch.size ${d.batchSizeChecks.map((c) => c.batchSize).join(', ')}`, measured: diverged.length === 0 ? 'none' : `at batch.size ${diverged.map((c) => c.batchSize).join(', ')}`, met: diverged.length === 0 });
      }
    }
  }

  const drift = read<DriftResult>(outDir, 'drift');
  if (drift) {
    machines.push(drift.machine);
    const rows = drift.detectors.map((d) => [
      d.detector,
      `${d.detected} / ${d.drifts}`,
      d.seeds.map((s) => s.delays.map((x) => (x === null ? 'missed' : int(x))).join(', ')).join(' · '),
      fix(d.meanDelay, 0),
      fix(d.meanFalseAlarms, 1),
      fix(d.meanFalseAlarmsAfterWarmup, 1),
      fix(d.falseAlarmRateAfterWarmup, 2),
    ]);
    sections.push(
      [
        '## 7. Drift detection delays',
        when(drift),
        `Offline (no broker): the demo's Friedman stream, global abrupt drift at ${drift.positions.map(int).join(' and ')}, ${int(drift.records)} records, one task, seeds ${drift.seeds.join(', ')}. The \`OnlineRegressor\` (the pipeline's default model: ${JSON.stringify(drift.model ?? {})}) learns batches of ${drift.batchSize} predict-then-learn with the pipeline's feature scaling (${int(drift.recordsPerSecond)} records/s); each record's absolute error feeds \`createDetector({ kind })\` with River's default parameters. Detectors do not feed back into the model. The first detection within [pᵢ, next drift) is drift i's; its delay is in records. Every other detection is a false alarm; "after warm-up" leaves out the first ${int(drift.warmupRecords)} records, while the error still falls as the model learns.`,
        '',
        table(['detector', 'drifts detected', 'delays per seed (records)', 'mean delay', 'false alarms / run', 'after warm-up / run', 'per 10k records after warm-up'], rows),
        image('drift'),
      ].join('\n'),
    );
  }

  const serving = read<ServingResult>(outDir, 'serving');
  if (serving) {
    machines.push(serving.machine);
    const rows = serving.runs.map((r) => [
      r.name,
      `${int(r.targetRate)} (sent ${fix(r.achievedRate, 0)})`,
      int(r.requests),
      Object.entries(r.statuses).map(([status, n]) => `${status}: ${int(n)}`).join(', '),
      fix(r.requestMillis.p50, 2),
      fix(r.requestMillis.p99, 2),
      fix(r.requestMillis.max, 1),
      r.learningThreadMillis ? `${fix(r.learningThreadMillis.p50, 2)} / ${fix(r.learningThreadMillis.p99, 2)} / ${fix(r.learningThreadMillis.max, 1)}` : '—',
      `${int(r.batchesDuring)} (${int(r.recordsLearnedDuring)} records)`,
      `${fix(r.scoreMillis.p50, 2)} / ${fix(r.scoreMillis.p99, 2)}`,
      `${fix(r.scoreAndLearnMillis.p50, 1)} / ${fix(r.scoreAndLearnMillis.p99, 1)} / ${fix(r.scoreAndLearnMillis.max, 1)}`,
      int(r.lagAtEnd),
    ]);
    sections.push(
      [
        '## 8. Serving: POST /predict while learning a backlog',
        when(serving),
        `${int(serving.backlog)} Friedman records are produced first; then tangent (backend \`${serving.backend}\`, ${JSON.stringify(serving.settings)}) learns them while a separate process POSTs to \`/predict\` at a steady rate, open loop (a request leaves at its scheduled time whether or not earlier ones were answered), for each request shape in turn. Request latency is send → whole response, client side. Beside it, the pipeline's own per-batch times over the same window, from the batches it learned then: the score stage (both models predicting the batch), and score + learn, the work of the learning thread (requests are answered on a serving thread of their own, from the snapshot of the model the learning thread hands it after every batch: docs/architecture.md). The same-run baseline: \`GET /healthz\` sent at the same rate meanwhile, answered on the learning thread, where \`/predict\` was answered before — what a request waits there for the piece of learning in progress. "Lag at end" > 0: the consumer was still learning the backlog when the load stopped.`,
        '',
        table(['request', 'rate /s', 'requests', 'statuses', 'p50 ms', 'p99 ms', 'max ms', 'GET /healthz on the learning thread, same rate: p50 / p99 / max ms', 'batches learned meanwhile', 'score ms per batch p50 / p99', 'score + learn ms per batch p50 / p99 / max', 'lag at end'], rows),
      ].join('\n'),
    );
    const one = serving.runs.find((r) => r.recordsPerRequest === 1);
    if (one) goals.push({ benchmark: 'serving', goal: '/predict p99 ≤ 10 ms, one record at 200 requests/s while learning a backlog', measured: `p99 ${fix(one.requestMillis.p99, 2)} ms (p50 ${fix(one.requestMillis.p50, 2)} ms)${one.learningThreadMillis ? `; /healthz on the learning thread meanwhile p99 ${fix(one.learningThreadMillis.p99, 2)} ms` : ''}; a batch's score + learn p99 ${fix(one.scoreAndLearnMillis.p99, 1)} ms`, met: one.requestMillis.p99 <= 10 });
  }

  const responsiveness = read<ResponsivenessResult>(outDir, 'responsiveness');
  if (responsiveness) {
    machines.push(responsiveness.machine);
    const ms = (m: { p50: number; p99: number; max: number }, digits = 1): string => `${fix(m.p50, digits)} / ${fix(m.p99, digits)} / ${fix(m.max, digits)}`;
    const rows = responsiveness.runs.flatMap((r) =>
      r.endpoints.map((e) => [
        r.name,
        e.path,
        `${int(e.answered)} of ${int(e.probes)}`,
        ms(e.responseMillis),
        fix(e.longestGapMs, 0),
        ms(r.eventLoopDelayMillis),
        `${int(r.batchesLearned)} (${int(r.recordsLearned)} records); ${ms(r.batchMillis)}`,
        `${int(r.fineTunePhases)}; ${ms(r.fineTuneMillis)}`,
        int(r.lagAtEnd),
        r.loadAverage.map((l) => fix(l, 1)).join(' '),
      ]),
    );
    sections.push(
      [
        '## 9. Responsiveness: /metrics and /healthz while learning a backlog',
        when(responsiveness),
        `For each pipeline, ${int(responsiveness.backlog)} Friedman records are produced first; then tangent (backend \`${responsiveness.backend}\`, defaults otherwise) learns them from the beginning while a separate process GETs \`/metrics\` and \`/healthz\` every ${int(responsiveness.probeIntervalMs)} ms, open loop. Response time is send → whole response, client side; "longest gap" is the longest time between two answers (a probe is sent every ${int(responsiveness.probeIntervalMs)} ms, so a free server shows about that). The event-loop delay is \`perf_hooks.monitorEventLoopDelay\` (10 ms resolution) in the consumer's process over the same window: its maximum is the longest stall, which bounds how long a kafkajs heartbeat or a \`/predict\` request can wait. Beside them, the pipeline's per-batch score + learn time (fine-tuning included) and its fine-tuning phases in the window: the work the event loop has to be handed back between.`,
        '',
        table(['pipeline', 'endpoint', 'answered', 'response ms p50 / p99 / max', 'longest gap ms', 'event-loop delay ms p50 / p99 / max', 'batches learned; score + learn ms p50 / p99 / max', 'fine-tuning phases; ms p50 / p99 / max', 'lag at end', 'load avg'], rows),
      ].join('\n'),
    );
    for (const r of responsiveness.runs) {
      const worst = Math.max(...r.endpoints.map((e) => e.responseMillis.max));
      goals.push({
        benchmark: 'responsiveness',
        goal: `/metrics and /healthz answer within 100 ms at all times while learning a backlog (${r.name})`,
        measured: r.endpoints.map((e) => `${e.path} p99 ${fix(e.responseMillis.p99, 1)} ms, max ${fix(e.responseMillis.max, 1)} ms`).join('; ') + `; longest event-loop stall ${fix(r.eventLoopDelayMillis.max, 1)} ms`,
        met: worst <= 100 && r.endpoints.every((e) => e.answered === e.probes),
      });
    }
  }

  const steps = read<ModelStepsResult>(outDir, 'model-steps');
  if (steps) {
    machines.push(steps.machine);
    const rows = steps.measurements.map((m) => [
      m.step,
      int(m.tasks),
      int(m.taskGroups),
      int(m.kernels),
      fix(m.kernelByKernelMedianMs, 2),
      int(m.compiledKernels),
      fix(m.medianMs, 2),
      `${fix(m.kernelByKernelMedianMs / m.medianMs, 2)}×`,
    ]);
    sections.push(
      [
        '## 10. Model steps: kernels and time per step against the number of tasks',
        when(steps),
        `Offline (no broker), backend \`${steps.backend}\`: ${steps.setup}. \`score\` is prequential scoring of a batch (\`predict\`, look-ahead included), \`heads\` the heads' step (\`learn\` with no fine-tuning phase due), \`fineTune\` one fine-tuning step on replayed records (trunk and heads). Kernels are every kernel \`tf.profile\` records in one step (gradients included) run kernel by kernel (\`model.compiledSteps: false\`); the default model runs the same kernels as one TensorFlow graph call per step (kernels left outside the graph in the next column; graphs loaded at the end: ${Object.entries(steps.compiledGraphs ?? {}).map(([tasks, graphs]) => `${graphs} at ${tasks} tasks`).join(', ')}). Both models take the same steps on the same batches, alternating, and end with the same network bit for bit (checked); times are medians of unprofiled steps.`,
        '',
        table(['step', 'tasks', 'task groups in the batch', 'kernels per step', 'ms per step, kernel by kernel (median)', 'kernels outside the graph', 'ms per step, compiled (default, median)', 'speed-up'], rows),
      ].join('\n'),
    );
    const growth = Object.entries(steps.kernelGrowth);
    goals.push({
      benchmark: 'model-steps',
      goal: 'kernels per model step independent of the number of tasks (64 tasks / 3 tasks = 1)',
      measured: growth.map(([step, g]) => `${step} ${fix(g, 2)}×`).join(', '),
      met: growth.every(([, g]) => g <= 1),
    });
  }

  const machine = machines[0];
  const goalRows = goals.map((g) => [g.benchmark, g.goal, g.measured, g.met === null ? 'n/a' : g.met ? '**met**' : '**not met**']);
  const analysisFile = join(benchDir, 'analysis.md');
  const analysis = !options.quick && existsSync(analysisFile) ? readFileSync(analysisFile, 'utf8').trim() : '';
  const last = options.invocations[options.invocations.length - 1];
  const failed = last ? last.outcomes.filter((o) => !o.ok) : [];
  const describe = (i: Invocation): string =>
    `- \`${i.command}\` at ${i.startedAt.replace('T', ' ').slice(0, 16)} UTC, ${fix(i.seconds / 60, 1)} min (${i.outcomes.map((o) => `${o.name} ${fix(o.seconds, 0)} s${o.ok ? '' : ' FAILED'}`).join(', ')})`;
  const text = [
    options.quick ? '# Benchmarks (quick smoke run — sizes are tiny, the numbers mean nothing)' : '# Benchmarks',
    '',
    `Produced by${options.invocations.length > 1 ? ' (later invocations re-ran some benchmarks, e.g. when the shared machine was quieter; each section says when it ran)' : ''}:`,
    '',
    ...options.invocations.map(describe),
    '',
    `Results: \`${relative(dirname(options.reportPath), outDir) || '.'}/*.json\`, plots: the PNGs beside them. Regenerate everything with \`npm run bench\` (= \`npx tsx bench/run.ts\`); \`--only name,...\` re-runs some; \`--quick\` is the CI smoke run and writes to \`bench/results-quick/\` instead; \`--report-only\` redraws the plots and this file from the JSON.`,
    '',
    machine
      ? `Machine: ${machine.cores} cores, ${machine.cpuModel}${machine.avx512 ? ' (AVX-512)' : ''}, ${machine.totalMemoryGiB} GiB, Node ${machine.node}, ${machine.platform}, tfjs backend \`${machines.find((m) => m.tfjsBackend && m.tfjsBackend !== 'none' && !m.tfjsBackend.startsWith('none'))?.tfjsBackend ?? '–'}\`. The machine is shared: the load average at each run's start and end is printed under its heading.`
      : '',
    failed.length ? `\n**Failed in this invocation:** ${failed.map((o) => `${o.name} (${o.error})`).join('; ')}\n` : '',
    '## Goals',
    '',
    table(['benchmark', 'goal', 'measured', 'verdict'], goalRows),
    '',
    analysis ? `${analysis}\n` : '',
    ...sections.map((s) => `${s}\n`),
  ].join('\n');
  writeFileSync(options.reportPath, text.replace(/\n{3,}/g, '\n\n'));
}
