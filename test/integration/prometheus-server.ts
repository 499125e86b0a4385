import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

/**
 * A real Prometheus for tests (Debian's `prometheus` package), configured from
 * infra/prometheus/prometheus.yml and alerts.yml, plus the pure helpers that
 * pull PromQL out of the Grafana dashboard and the alert rules. The unit test
 * test/unit/metrics/catalogue.test.ts uses the helpers too.
 */

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const prometheusConfigPath = join(repoRoot, 'infra/prometheus/prometheus.yml');
export const alertRulesPath = join(repoRoot, 'infra/prometheus/alerts.yml');
export const dashboardPath = join(repoRoot, 'infra/grafana/dashboards/tangent.json');
export const grafanaDatasourcePath = join(repoRoot, 'infra/grafana/provisioning/datasources/prometheus.yml');

/** The apt line that provides `prometheus` and `promtool` (Debian/Ubuntu). */
export const aptInstallCommand = 'apt-get install -y --no-install-recommends prometheus';

// ---------------------------------------------------------------------------
// PromQL in the dashboard and the alert rules
// ---------------------------------------------------------------------------

export interface Expression {
  /** Where it comes from, e.g. `panel "Records/s by result" A` or `alert TangentDown`. */
  readonly source: string;
  readonly expr: string;
  readonly kind: 'panel' | 'annotation' | 'variable' | 'alert' | 'record';
}

interface GrafanaPanel {
  title?: string;
  type?: string;
  targets?: { expr?: string; refId?: string }[];
  panels?: GrafanaPanel[];
}

export interface GrafanaVariable {
  readonly name: string;
  readonly type: string;
  /** `label_values(...)` (or another query) for query variables. */
  readonly query?: string;
}

export interface GrafanaDashboard {
  uid?: string;
  panels?: GrafanaPanel[];
  annotations?: { list?: { name?: string; expr?: string; datasource?: { uid?: string; type?: string } }[] };
  templating?: { list?: { name: string; type: string; definition?: string; query?: string | { query?: string } }[] };
}

export function readDashboard(path = dashboardPath): GrafanaDashboard {
  return JSON.parse(readFileSync(path, 'utf8')) as GrafanaDashboard;
}

function* allPanels(panels: readonly GrafanaPanel[] = []): Generator<GrafanaPanel> {
  for (const panel of panels) {
    yield panel;
    yield* allPanels(panel.panels);
  }
}

/** Every PromQL expression of the dashboard: panel targets and annotation queries (not variables). */
export function dashboardExpressions(dashboard: GrafanaDashboard): Expression[] {
  const expressions: Expression[] = [];
  for (const panel of allPanels(dashboard.panels)) {
    for (const target of panel.targets ?? []) {
      if (target.expr) expressions.push({ source: `panel "${panel.title}" ${target.refId ?? ''}`.trim(), expr: target.expr, kind: 'panel' });
    }
  }
  for (const annotation of dashboard.annotations?.list ?? []) {
    if (annotation.expr) expressions.push({ source: `annotation "${annotation.name}"`, expr: annotation.expr, kind: 'annotation' });
  }
  return expressions;
}

export function dashboardVariables(dashboard: GrafanaDashboard): GrafanaVariable[] {
  return (dashboard.templating?.list ?? []).map((v) => {
    const query = typeof v.query === 'string' ? v.query : (v.query?.query ?? v.definition);
    return { name: v.name, type: v.type, ...(query ? { query } : {}) };
  });
}

interface RuleFile {
  groups: { name: string; interval?: string; rules: { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[];
}

export function readRules(path = alertRulesPath): RuleFile {
  return parse(readFileSync(path, 'utf8')) as RuleFile;
}

export function ruleExpressions(rules: RuleFile): Expression[] {
  return rules.groups.flatMap((group) =>
    group.rules.map((rule) =>
      rule.alert
        ? { source: `alert ${rule.alert}`, expr: rule.expr, kind: 'alert' as const }
        : { source: `record ${rule.record}`, expr: rule.expr, kind: 'record' as const },
    ),
  );
}

/**
 * Names of the metrics an expression reads, for the families tangent exports
 * (`tangent_`, and prom-client's `process_` and `nodejs_`). String literals
 * are skipped, so label values never count; histogram series names
 * (`_bucket`, `_sum`, `_count`) are kept as written: see {@link metricFamily}.
 */
export function referencedMetrics(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  return [...new Set(withoutStrings.match(/\b(?:tangent|process|nodejs)_[A-Za-z0-9_:]*/g) ?? [])];
}

/** The metric family a series name belongs to: `x_bucket` → `x` when `x` is a histogram (or summary). */
export function metricFamily(series: string, histograms: ReadonlySet<string>): string {
  const match = /^(.*)_(bucket|sum|count)$/.exec(series);
  return match && histograms.has(match[1]!) ? match[1]! : series;
}

export interface GrafanaIntervals {
  readonly rateInterval: string;
  readonly interval: string;
  readonly range: string;
}

/**
 * Grafana's interpolation, for evaluating dashboard queries outside Grafana:
 * the built-in interval variables, then `$name`, `${name}`, `${name:format}`
 * and `[[name]]` from `values`. Unknown variables are left in place (the
 * query then fails to parse, which is what a test should see).
 */
export function substituteGrafanaVariables(expr: string, values: Readonly<Record<string, string>>, intervals: GrafanaIntervals): string {
  const builtIn: Record<string, string> = {
    __rate_interval: intervals.rateInterval,
    __interval: intervals.interval,
    __range: intervals.range,
  };
  const lookup = (name: string): string | undefined => builtIn[name] ?? values[name];
  return expr
    .replace(/\$\{(\w+)(?::\w+)?\}/g, (whole, name: string) => lookup(name) ?? whole)
    .replace(/\[\[(\w+)\]\]/g, (whole, name: string) => lookup(name) ?? whole)
    .replace(/\$(\w+)/g, (whole, name: string) => lookup(name) ?? whole);
}

/** `label_values(selector, label)` or `label_values(label)`. */
export function parseLabelValues(query: string): { selector?: string; label: string } | undefined {
  const match = /^\s*label_values\(\s*(?:(.*\S)\s*,\s*)?(\w+)\s*\)\s*$/.exec(query);
  if (!match) return undefined;
  return match[1] ? { selector: match[1], label: match[2]! } : { label: match[2]! };
}

/**
 * The rule file for `promtool test rules`: the same groups, expressions,
 * durations and labels as `rules`, without annotations (their rendered text is
 * not what a rule test is about).
 */
export function withoutAnnotations(rules: RuleFile): RuleFile {
  return {
    groups: rules.groups.map((group) => ({
      ...group,
      rules: group.rules.map(({ annotations: _annotations, ...rule }) => rule),
    })),
  };
}

// ---------------------------------------------------------------------------
// The Prometheus binaries
// ---------------------------------------------------------------------------

function which(command: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface PrometheusBinaries {
  readonly prometheus: string;
  readonly promtool: string;
  readonly version: string;
}

/**
 * `prometheus` and `promtool` from PATH; when missing and running as root,
 * installs Debian's `prometheus` package first (apt-get). The package's own
 * service is not used (tests run their own server on a free port).
 */
export function ensurePrometheus(log: (line: string) => void = console.log): PrometheusBinaries {
  let prometheus = which('prometheus');
  let promtool = which('promtool');
  if (!prometheus || !promtool) {
    if (process.getuid?.() !== 0) {
      throw new Error(`prometheus/promtool not found and not root: install them first (${aptInstallCommand})`);
    }
    log(`[prometheus] not installed: apt-get update && ${aptInstallCommand}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    execFileSync('sh', ['-c', aptInstallCommand], { stdio: ['ignore', 'ignore', 'inherit'], env });
    prometheus = which('prometheus');
    promtool = which('promtool');
    if (!prometheus || !promtool) throw new Error(`${aptInstallCommand} did not provide prometheus and promtool`);
  }
  const version = execFileSync(prometheus, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!.trim();
  return { prometheus, promtool, version };
}

/** Runs promtool; returns its output, or throws with it. */
export function runPromtool(binaries: PrometheusBinaries, args: readonly string[]): string {
  try {
    return execFileSync(binaries.promtool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

// ---------------------------------------------------------------------------
// A running Prometheus
// ---------------------------------------------------------------------------

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface TestConfigOptions {
  /** host:port of the tangent /metrics endpoint. */
  readonly target: string;
  readonly scrapeInterval: string;
  readonly evaluationInterval: string;
  /** Absolute path of the rule file to load. */
  readonly ruleFile: string;
}

/**
 * infra/prometheus/prometheus.yml with the `tangent` job pointed at `target`,
 * the intervals shortened, the rule file given by absolute path, and every
 * other job dropped (nothing else runs in a test).
 */
export function renderTestConfig(options: TestConfigOptions, source = prometheusConfigPath): string {
  const config = parse(readFileSync(source, 'utf8')) as {
    global?: Record<string, unknown>;
    rule_files?: string[];
    scrape_configs: { job_name: string; static_configs?: { targets: string[] }[]; scrape_interval?: string; scrape_timeout?: string }[];
  };
  const job = config.scrape_configs.find((c) => c.job_name === 'tangent');
  if (!job) throw new Error(`${source} has no scrape job "tangent"`);
  config.global = {
    ...config.global,
    scrape_interval: options.scrapeInterval,
    scrape_timeout: options.scrapeInterval,
    evaluation_interval: options.evaluationInterval,
  };
  config.rule_files = [options.ruleFile];
  config.scrape_configs = [{ ...job, static_configs: [{ targets: [options.target] }] }];
  delete config.scrape_configs[0]!.scrape_interval;
  delete config.scrape_configs[0]!.scrape_timeout;
  return stringify(config);
}

export interface QueryResult {
  readonly status: 'success' | 'error';
  readonly errorType?: string;
  readonly error?: string;
  readonly warnings?: string[];
  readonly data?: { resultType: 'vector' | 'matrix' | 'scalar' | 'string'; result: unknown };
}

export interface RuleGroupStatus {
  name: string;
  file: string;
  rules: { name: string; type: 'alerting' | 'recording'; health: string; lastError?: string; query: string; state?: string; lastEvaluation: string }[];
}

export interface TargetStatus {
  labels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
  lastScrape: string;
}

export class PrometheusServer {
  private constructor(
    readonly url: string,
    readonly dataDir: string,
    private readonly child: ChildProcess,
    private readonly logPath: string,
  ) {}

  /**
   * Starts Prometheus on 127.0.0.1 (a free port) with its own temp data dir,
   * scraping `target` with the repo's config and alert rules, and waits until
   * it is ready.
   */
  static async start(
    binaries: PrometheusBinaries,
    options: { target: string; scrapeInterval?: string; evaluationInterval?: string },
  ): Promise<PrometheusServer> {
    const dir = mkdtempSync(join(tmpdir(), 'tangent-prometheus-'));
    const configPath = join(dir, 'prometheus.yml');
    writeFileSync(
      configPath,
      renderTestConfig({
        target: options.target,
        scrapeInterval: options.scrapeInterval ?? '1s',
        evaluationInterval: options.evaluationInterval ?? '1s',
        ruleFile: alertRulesPath,
      }),
    );
    runPromtool(binaries, ['check', 'config', configPath]);
    const port = await freePort();
    const logPath = join(dir, 'prometheus.log');
    const log = createWriteStream(logPath);
    const child = spawn(
      binaries.prometheus,
      [
        `--config.file=${configPath}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=1h',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    // Never outlive the test process (a crash or timeout that skips stop()).
    const killOnExit = (): void => void child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
    const server = new PrometheusServer(`http://127.0.0.1:${port}`, dir, child, logPath);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}):\n${server.log()}`);
      try {
        if ((await fetch(`${server.url}/-/ready`)).ok) return server;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`prometheus not ready after 60 s:\n${server.log()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  log(): string {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  private async api<T>(path: string, params: Record<string, string | string[]> = {}): Promise<{ status: string; data: T; error?: string; errorType?: string }> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) for (const v of [value].flat()) search.append(key, v);
    const response = await fetch(`${this.url}${path}${search.size > 0 ? `?${search}` : ''}`);
    return (await response.json()) as { status: string; data: T; error?: string; errorType?: string };
  }

  /** An instant query (`/api/v1/query`), at `time` (unix seconds) or now. */
  query(expr: string, time?: number): Promise<QueryResult> {
    return this.api('/api/v1/query', { query: expr, ...(time === undefined ? {} : { time: String(time) }) }) as Promise<QueryResult>;
  }

  /** A range query (`/api/v1/query_range`), as Grafana runs panels and annotations. */
  queryRange(expr: string, start: number, end: number, step: number): Promise<QueryResult> {
    return this.api('/api/v1/query_range', { query: expr, start: String(start), end: String(end), step: String(step) }) as Promise<QueryResult>;
  }

  /** Label sets of the series matching `selector` (`/api/v1/series`). */
  async series(selector: string): Promise<Record<string, string>[]> {
    const response = await this.api<Record<string, string>[]>('/api/v1/series', { 'match[]': selector, start: String(Date.now() / 1000 - 3600) });
    if (response.status !== 'success') throw new Error(`series ${selector}: ${response.error}`);
    return response.data;
  }

  async rules(): Promise<RuleGroupStatus[]> {
    const response = await this.api<{ groups: RuleGroupStatus[] }>('/api/v1/rules');
    return response.data.groups;
  }

  async targets(): Promise<TargetStatus[]> {
    const response = await this.api<{ activeTargets: TargetStatus[] }>('/api/v1/targets', { state: 'active' });
    return response.data.activeTargets;
  }

  /** Stops the server (SIGTERM, then SIGKILL after 10 s) and removes its data dir. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
