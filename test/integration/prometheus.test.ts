import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Gauge, Histogram, Summary } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { deadLetterTopicOf } from '../../src/config/pipeline-config.js';
import { startConsumer, type RunningConsumer } from '../../src/consumer-app.js';
import { defaultFriedmanOptions } from '../../src/demo/friedman.js';
import { produceRecords } from '../../src/demo/produce.js';
import { syntheticRecords, type OutgoingRecord } from '../../src/demo/record-sources.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import { quietLogger, testConfig, testKafka, uniqueName, waitFor } from './kafka-helpers.js';
import {
  alertRulesPath,
  dashboardExpressions,
  dashboardVariables,
  ensurePrometheus,
  metricFamily,
  parseLabelValues,
  prometheusConfigPath,
  PrometheusServer,
  readDashboard,
  readRules,
  referencedMetrics,
  ruleExpressions,
  runPromtool,
  substituteGrafanaVariables,
  withoutAnnotations,
  type Expression,
  type GrafanaIntervals,
  type PrometheusBinaries,
  type QueryResult,
} from './prometheus-server.js';

/**
 * The dashboard and the alert rules, proven against a real Prometheus: it
 * scrapes a live consumer that learns from records streamed through the real
 * broker, loads infra/prometheus/alerts.yml, and answers every PromQL
 * expression of infra/grafana/dashboards/tangent.json and of the rules.
 */

let binaries: PrometheusBinaries;

beforeAll(() => {
  binaries = ensurePrometheus();
  console.log(`[prometheus] ${binaries.version} (${binaries.prometheus})`);
});

// ---------------------------------------------------------------------------
// promtool: syntax, and the rules' behaviour on synthetic series
// ---------------------------------------------------------------------------

type Series = { series: string; values: string };
type AlertCase = { eval_time: string; alertname: string; exp_alerts: { exp_labels: Record<string, string> }[] };

const A = 'job="tangent", instance="a:9464"';
const B = 'job="tangent", instance="b:9464"';
const labelsA = { job: 'tangent', instance: 'a:9464' };
const labelsB = { job: 'tangent', instance: 'b:9464' };
const C = 'job="tangent", instance="c:9464"';
const D = 'job="tangent", instance="d:9464"';
const labelsC = { job: 'tangent', instance: 'c:9464' };

/**
 * One promtool rule test per alert: the condition it describes makes it fire
 * (after its `for`), and a near miss does not.
 */
const ruleTests: { name: string; interval: string; input_series: Series[]; alert_rule_test: AlertCase[] }[] = [
  {
    name: 'TangentDown: target down for 2 minutes',
    interval: '1m',
    input_series: [
      { series: `up{${A}}`, values: '1 1 0x10' },
      { series: `up{${B}}`, values: '1x12' },
    ],
    alert_rule_test: [
      { eval_time: '3m', alertname: 'TangentDown', exp_alerts: [] },
      { eval_time: '5m', alertname: 'TangentDown', exp_alerts: [{ exp_labels: { ...labelsA, severity: 'critical' } }] },
    ],
  },
  {
    name: 'TangentNoRecordsLearned: learning stops (a), or never starts (b)',
    interval: '1m',
    input_series: [
      { series: `tangent_records_total{${A}, result="learned"}`, values: '0+60x10 600x20' },
      { series: `tangent_backend_info{${A}, backend="cpu", package="@tensorflow/tfjs"}`, values: '1x30' },
      { series: `process_start_time_seconds{${A}}`, values: '0x30' },
      { series: `tangent_backend_info{${B}, backend="cpu", package="@tensorflow/tfjs"}`, values: '1x30' },
      { series: `process_start_time_seconds{${B}}`, values: '0x30' },
    ],
    alert_rule_test: [
      { eval_time: '4m', alertname: 'TangentNoRecordsLearned', exp_alerts: [] },
      { eval_time: '8m', alertname: 'TangentNoRecordsLearned', exp_alerts: [{ exp_labels: { ...labelsB, severity: 'warning' } }] },
      { eval_time: '14m', alertname: 'TangentNoRecordsLearned', exp_alerts: [{ exp_labels: { ...labelsB, severity: 'warning' } }] },
      {
        eval_time: '17m',
        alertname: 'TangentNoRecordsLearned',
        exp_alerts: [{ exp_labels: { ...labelsA, severity: 'warning' } }, { exp_labels: { ...labelsB, severity: 'warning' } }],
      },
    ],
  },
  {
    name: 'TangentDeadLetterRatioHigh: 10% dead-lettered (a), 1% (b)',
    interval: '1m',
    input_series: [
      { series: `tangent_records_total{${A}, result="learned"}`, values: '0+90x30' },
      { series: `tangent_records_total{${A}, result="dead_lettered"}`, values: '0+10x30' },
      { series: `tangent_records_total{${B}, result="learned"}`, values: '0+99x30' },
      { series: `tangent_records_total{${B}, result="dead_lettered"}`, values: '0+1x30' },
    ],
    alert_rule_test: [
      { eval_time: '8m', alertname: 'TangentDeadLetterRatioHigh', exp_alerts: [] },
      { eval_time: '15m', alertname: 'TangentDeadLetterRatioHigh', exp_alerts: [{ exp_labels: { ...labelsA, severity: 'warning' } }] },
    ],
  },
  {
    name: 'TangentConsumerLagGrowing: lag rising past 1000 (topic in), high but flat (topic flat)',
    interval: '1m',
    input_series: [
      { series: `tangent_consumer_lag_records{${A}, topic="in", partition="0"}`, values: '0+100x40' },
      { series: `tangent_consumer_lag_records{${B}, topic="in", partition="1"}`, values: '0+100x40' },
      { series: `tangent_consumer_lag_records{${A}, topic="flat", partition="0"}`, values: '5000x40' },
    ],
    alert_rule_test: [
      { eval_time: '15m', alertname: 'TangentConsumerLagGrowing', exp_alerts: [] },
      { eval_time: '25m', alertname: 'TangentConsumerLagGrowing', exp_alerts: [{ exp_labels: { job: 'tangent', topic: 'in', severity: 'warning' } }] },
    ],
  },
  {
    name: 'TangentBackpressure: paused all the time (a), never (b)',
    interval: '1m',
    input_series: [
      { series: `tangent_source_paused{${A}}`, values: '1x30' },
      { series: `tangent_source_paused{${B}}`, values: '0x30' },
    ],
    alert_rule_test: [
      { eval_time: '5m', alertname: 'TangentBackpressure', exp_alerts: [] },
      { eval_time: '15m', alertname: 'TangentBackpressure', exp_alerts: [{ exp_labels: { ...labelsA, severity: 'info' } }] },
    ],
  },
  {
    name: 'TangentSgdStepsRejected: 5% of nn steps rejected (a), none (b)',
    interval: '1m',
    input_series: [
      { series: `tangent_sgd_steps_total{${A}, model="nn", result="applied"}`, values: '0+95x30' },
      { series: `tangent_sgd_steps_total{${A}, model="nn", result="rejected"}`, values: '0+5x30' },
      { series: `tangent_sgd_steps_total{${B}, model="nn", result="applied"}`, values: '0+100x30' },
      { series: `tangent_sgd_steps_total{${B}, model="nn", result="rejected"}`, values: '0x30' },
    ],
    alert_rule_test: [
      { eval_time: '5m', alertname: 'TangentSgdStepsRejected', exp_alerts: [] },
      { eval_time: '15m', alertname: 'TangentSgdStepsRejected', exp_alerts: [{ exp_labels: { ...labelsA, model: 'nn', severity: 'warning' } }] },
    ],
  },
  {
    name: 'TangentDriftRateSpike: a burst after 6 quiet hours (t1), a newborn series (t3), a steady rate (t2), a burst during warm-up (b)',
    interval: '1m',
    input_series: [
      { series: `process_start_time_seconds{${A}}`, values: '0x430' },
      { series: `tangent_drift_detections_total{${A}, task="t1", model="nn", detector="adwin"}`, values: '0x400 1+1x29' },
      { series: `tangent_drift_detections_total{${A}, task="t2", model="nn", detector="adwin"}`, values: '0+0.1x430' },
      { series: `tangent_drift_detections_total{${A}, task="t3", model="ntkgp", detector="page-hinkley"}`, values: '_x400 1+1x29' },
      // Instance b started at 390 min: its detections come during the 30-minute warm-up.
      { series: `process_start_time_seconds{${B}}`, values: '23400x430' },
      { series: `tangent_drift_detections_total{${B}, task="t4", model="nn", detector="adwin"}`, values: '_x400 1+1x29' },
    ],
    alert_rule_test: [
      { eval_time: '390m', alertname: 'TangentDriftRateSpike', exp_alerts: [] },
      {
        eval_time: '420m',
        alertname: 'TangentDriftRateSpike',
        exp_alerts: [
          { exp_labels: { ...labelsA, task: 't1', model: 'nn', severity: 'warning' } },
          { exp_labels: { ...labelsA, task: 't3', model: 'ntkgp', severity: 'warning' } },
        ],
      },
      {
        eval_time: '428m',
        alertname: 'TangentDriftRateSpike',
        exp_alerts: [
          { exp_labels: { ...labelsA, task: 't1', model: 'nn', severity: 'warning' } },
          { exp_labels: { ...labelsA, task: 't3', model: 'ntkgp', severity: 'warning' } },
          { exp_labels: { ...labelsB, task: 't4', model: 'nn', severity: 'warning' } },
        ],
      },
    ],
  },
  {
    name: 'TangentNetworkWorseThanNtkGp: nn MSE 2 vs GP 1 (t1), nn better (t2)',
    interval: '1m',
    input_series: [
      { series: `tangent_prequential_squared_error_total{${A}, task="t1", model="nn"}`, values: '0+20x40' },
      { series: `tangent_prequential_predictions_total{${A}, task="t1", model="nn"}`, values: '0+10x40' },
      { series: `tangent_prequential_squared_error_total{${A}, task="t1", model="ntkgp"}`, values: '0+10x40' },
      { series: `tangent_prequential_predictions_total{${A}, task="t1", model="ntkgp"}`, values: '0+10x40' },
      { series: `tangent_prequential_squared_error_total{${A}, task="t2", model="nn"}`, values: '0+5x40' },
      { series: `tangent_prequential_predictions_total{${A}, task="t2", model="nn"}`, values: '0+10x40' },
      { series: `tangent_prequential_squared_error_total{${A}, task="t2", model="ntkgp"}`, values: '0+10x40' },
      { series: `tangent_prequential_predictions_total{${A}, task="t2", model="ntkgp"}`, values: '0+10x40' },
    ],
    alert_rule_test: [
      { eval_time: '10m', alertname: 'TangentNetworkWorseThanNtkGp', exp_alerts: [] },
      { eval_time: '25m', alertname: 'TangentNetworkWorseThanNtkGp', exp_alerts: [{ exp_labels: { job: 'tangent', task: 't1', severity: 'warning' } }] },
    ],
  },
  {
    name: 'TangentLearningRateUnstable: margin 1.2 (t1), 0.5 (t2)',
    interval: '1m',
    input_series: [
      { series: `tangent_lr_stability_margin{${A}, task="t1"}`, values: '1.2x10' },
      { series: `tangent_lr_stability_margin{${A}, task="t2"}`, values: '0.5x10' },
    ],
    alert_rule_test: [
      { eval_time: '1m', alertname: 'TangentLearningRateUnstable', exp_alerts: [] },
      { eval_time: '5m', alertname: 'TangentLearningRateUnstable', exp_alerts: [{ exp_labels: { ...labelsA, task: 't1', severity: 'warning' } }] },
    ],
  },
  {
    name: 'TangentCheckpointTooOld: learning without checkpoints (a), never checkpointed (c); fresh ones (b), idle (d)',
    interval: '1m',
    input_series: [
      { series: `tangent_checkpoint_age_seconds{${A}}`, values: '0+60x30' },
      { series: `tangent_checkpoints_total{${A}}`, values: '1x30' },
      { series: `tangent_batches_total{${A}}`, values: '0+10x30' },
      { series: `process_start_time_seconds{${A}}`, values: '0x30' },
      { series: `tangent_checkpoint_age_seconds{${B}}`, values: '0 60 120 0 60 120 0 60 120 0 60 120 0 60 120 0 60 120 0 60 120 0 60 120 0 60 120' },
      { series: `tangent_checkpoints_total{${B}}`, values: '1+1x30' },
      { series: `tangent_batches_total{${B}}`, values: '0+10x30' },
      { series: `process_start_time_seconds{${B}}`, values: '0x30' },
      // c: no checkpoint ever written (the age gauge reads 0 before the first).
      { series: `tangent_checkpoint_age_seconds{${C}}`, values: '0x30' },
      { series: `tangent_checkpoints_total{${C}}`, values: '0x30' },
      { series: `tangent_batches_total{${C}}`, values: '0+10x30' },
      { series: `process_start_time_seconds{${C}}`, values: '0x30' },
      // d: an old checkpoint, but nothing learned since.
      { series: `tangent_checkpoint_age_seconds{${D}}`, values: '3600+60x30' },
      { series: `tangent_checkpoints_total{${D}}`, values: '1x30' },
      { series: `tangent_batches_total{${D}}`, values: '50x30' },
      { series: `process_start_time_seconds{${D}}`, values: '0x30' },
    ],
    alert_rule_test: [
      { eval_time: '18m', alertname: 'TangentCheckpointTooOld', exp_alerts: [] },
      {
        eval_time: '25m',
        alertname: 'TangentCheckpointTooOld',
        exp_alerts: [{ exp_labels: { ...labelsA, severity: 'warning' } }, { exp_labels: { ...labelsC, severity: 'warning' } }],
      },
    ],
  },
];

describe('promtool', () => {
  it('accepts infra/prometheus/prometheus.yml (with its rule file) and alerts.yml', () => {
    console.log(runPromtool(binaries, ['check', 'config', prometheusConfigPath]).trim());
    console.log(runPromtool(binaries, ['check', 'rules', alertRulesPath]).trim());
  });

  it('every alert fires on the condition it describes, and not on a near miss (promtool test rules)', () => {
    const alerts = readRules().groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
    const fired = new Set(ruleTests.flatMap((t) => t.alert_rule_test.filter((c) => c.exp_alerts.length > 0).map((c) => c.alertname)));
    expect(alerts.filter((a) => !fired.has(a)), 'alerts without a firing case in the rule tests').toEqual([]);

    const dir = mkdtempSync(join(tmpdir(), 'tangent-rule-tests-'));
    try {
      writeFileSync(join(dir, 'rules.yml'), stringify(withoutAnnotations(readRules())));
      writeFileSync(join(dir, 'tests.yml'), stringify({ rule_files: ['rules.yml'], evaluation_interval: '1m', tests: ruleTests }));
      const output = runPromtool(binaries, ['test', 'rules', join(dir, 'tests.yml')]);
      console.log(`[prometheus] promtool test rules: ${ruleTests.length} tests over ${alerts.length} alerts: ${output.trim().split('\n').pop()}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------
// A real Prometheus scraping a live consumer
// ---------------------------------------------------------------------------

/** Grafana's interval variables for a 1 s scrape interval. */
const intervals: GrafanaIntervals = { rateInterval: '15s', interval: '5s', range: '5m' };
const burstRecords = 4000;
const trickleRate = 100;

/** Takes `n` items of an iterator without closing it (a for-of with break would). */
function* take<T>(iterator: Iterator<T>, n: number): Generator<T> {
  for (let i = 0; i < n; i++) {
    const next = iterator.next();
    if (next.done) return;
    yield next.value;
  }
}

function* rest<T>(iterator: Iterator<T>): Generator<T> {
  for (let next = iterator.next(); !next.done; next = iterator.next()) yield next.value;
}

function resultSize(result: QueryResult): number {
  if (result.status !== 'success' || !result.data) return 0;
  return Array.isArray(result.data.result) ? result.data.result.length : 1;
}

describe('the dashboard and the alert rules against a real Prometheus scraping a live consumer', () => {
  let consumer: RunningConsumer | undefined;
  let prometheus: PrometheusServer | undefined;
  const trickle = new AbortController();
  let trickleDone: Promise<unknown> = Promise.resolve();
  /** Metric families the running consumer registers (histogram series map to their family). */
  let registered = new Set<string>();
  let histograms = new Set<string>();
  const variableValues: Record<string, string> = {};
  let pipelineFailure: unknown;
  /** Unix seconds of a successful scrape of tangent, seen by the `up` test. */
  let goodScrapeAt: number | undefined;

  beforeAll(async () => {
    const topic = uniqueName('prometheus');
    const config = testConfig(topic);
    const kafka = testKafka();
    await ensureTopics(kafka, [topic, deadLetterTopicOf(config.kafka)], 3);

    consumer = await startConsumer(config, quietLogger);
    consumer.done.catch((error: unknown) => {
      pipelineFailure = error;
    });
    const metrics = consumer.metrics.registry.getMetricsAsArray();
    registered = new Set(metrics.map((m) => m.name));
    histograms = new Set(metrics.filter((m) => m instanceof Histogram || m instanceof Summary).map((m) => m.name));
    expect(metrics.every((m) => m instanceof Counter || m instanceof Gauge || m instanceof Histogram || m instanceof Summary)).toBe(true);

    const target = `127.0.0.1:${consumer.metricsAddress.port}`;
    prometheus = await PrometheusServer.start(binaries, { target });
    console.log(`[prometheus] serving on ${prometheus.url}, scraping tangent at ${target} every second`);

    // A burst (with malformed records), then a trickle that keeps every rate() window fed while the
    // queries run, with an abrupt concept drift early in it so the drift detectors fire. The drift
    // comes after the burst, once Prometheus scrapes the tasks' zeroed detection counters: a
    // detection within the first scrape interval of its task is counted, but no increase() can mark
    // it (the series' first sample already holds it), and the annotation checked below would miss it.
    const records: Iterator<OutgoingRecord> = syntheticRecords(Number.MAX_SAFE_INTEGER, {
      friedman: { ...defaultFriedmanOptions, drift: 'abrupt', driftPositions: [burstRecords + 500, 1_000_000], seed: 23 },
      malformedFraction: 0.05,
      maxRecordBytes: config.kafka.maxRecordBytes,
    });
    await produceRecords(kafka, take(records, burstRecords), { topic, rate: 0 });
    trickleDone = produceRecords(kafka, rest(records), { topic, rate: trickleRate, signal: trickle.signal }).catch((error: unknown) => {
      if (!trickle.signal.aborted) throw error;
    });

    const running = consumer;
    await waitFor(() => {
      if (pipelineFailure) throw new Error(`the consumer's pipeline failed: ${String(pipelineFailure)}`, { cause: pipelineFailure });
      const { learned, deadLettered } = running.progress.totals;
      return learned + deadLettered >= burstRecords;
    }, 300_000, `the first ${burstRecords} records to be learned or dead-lettered`);

    // At least 20 scrapes, so that a 15 s rate() window holds plenty of samples.
    const server = prometheus;
    await waitFor(async () => {
      const result = await server.query('count_over_time(up{job="tangent"}[1m])');
      const samples = result.status === 'success' ? Number((result.data!.result as { value: [number, string] }[])[0]?.value[1] ?? 0) : 0;
      return samples >= 20;
    }, 120_000, '20 scrapes of the tangent target');
    await waitFor(async () => (await server.rules()).every((g) => g.rules.every((r) => !r.lastEvaluation.startsWith('0001'))), 30_000, 'every rule to be evaluated');
    // The drift panels and annotation need a detection in Prometheus: how soon ADWIN confirms the burst's drift depends on the machine's pace.
    await waitFor(async () => resultSize(await server.query('sum(tangent_drift_detections_total) > 0')) > 0, 180_000, 'a scraped drift detection');
  });

  afterAll(async () => {
    trickle.abort();
    try {
      await trickleDone;
      // A consumer whose pipeline failed may not stop cleanly; its failure is the error to see.
      await consumer?.stop().catch((error: unknown) => {
        if (!pipelineFailure) throw error;
      });
    } finally {
      await prometheus?.stop();
    }
  });

  it('scrapes the tangent target, up', async () => {
    // On a loaded machine a scrape can miss its deadline while a batch holds the event loop; a failed scrape
    // also marks the target's gauges stale. Wait for a successful one, so the expressions below see fresh data.
    const seen: string[] = [];
    await waitFor(
      async () => {
        const target = (await prometheus!.targets()).find((t) => t.labels.job === 'tangent');
        if (target && target.health !== 'up') seen.push(target.lastError ?? target.health);
        if (target?.health === 'up') goodScrapeAt = Date.parse(target.lastScrape) / 1000;
        return target?.health === 'up';
      },
      60_000,
      'a successful scrape of tangent',
    );
    if (seen.length > 0) console.log(`[prometheus] ${seen.length} polls saw a failed scrape first (${seen[0]})`);
    const targets = await prometheus!.targets();
    const tangent = targets.filter((t) => t.labels.job === 'tangent');
    expect(tangent).toHaveLength(1);
    expect(tangent[0]!.scrapeUrl).toBe(`http://127.0.0.1:${consumer!.metricsAddress.port}/metrics`);
    console.log(`[prometheus] target ${tangent[0]!.scrapeUrl}: ${tangent[0]!.health}`);
  });

  it('loads every rule group of alerts.yml, each rule healthy', async () => {
    const groups = await prometheus!.rules();
    const expected = readRules().groups;
    expect(groups.map((g) => g.name).sort()).toEqual(expected.map((g) => g.name).sort());
    const rules = groups.flatMap((g) => g.rules);
    expect(rules).toHaveLength(expected.flatMap((g) => g.rules).length);
    const unhealthy = rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`);
    expect(unhealthy).toEqual([]);
    const states = rules.map((r) => `${r.name}=${r.state ?? r.type}`).join(', ');
    console.log(`[prometheus] ${groups.length} rule groups, ${rules.length} rules, all health ok (${states})`);
  });

  it('resolves every template variable of the dashboard', async () => {
    // The datasource variable picks Prometheus itself; the query variables are label_values() over it.
    for (const variable of dashboardVariables(readDashboard()).filter((v) => v.type === 'query')) {
      const parsed = parseLabelValues(variable.query ?? '');
      expect(parsed, `variable ${variable.name}: ${variable.query}`).toBeDefined();
      const selector = parsed!.selector ? substituteGrafanaVariables(parsed!.selector, variableValues, intervals) : `{${parsed!.label}!=""}`;
      const values = [...new Set((await prometheus!.series(selector)).map((s) => s[parsed!.label]).filter((v): v is string => !!v))].sort();
      expect(values.length, `variable ${variable.name} (${variable.query}) has no values`).toBeGreaterThan(0);
      variableValues[variable.name] = values[0]!;
    }
    console.log(`[prometheus] template variables: ${JSON.stringify(variableValues)}`);
  });

  it('answers every dashboard and alert expression; the dashboard ones over registered metrics return data', async () => {
    expect(Object.keys(variableValues).length, 'variables resolved first').toBeGreaterThan(0);
    const expressions: Expression[] = [...dashboardExpressions(readDashboard()), ...ruleExpressions(readRules())];
    const parseErrors: string[] = [];
    const empty: string[] = [];
    const skipped: string[] = [];
    let withData = 0;
    let required = 0;
    let annotationPoints = 0;
    for (const expression of expressions) {
      const expr = substituteGrafanaVariables(expression.expr, variableValues, intervals);
      // Grafana runs annotations as range queries over the dashboard's time range: a filtered one (`> 0`) is
      // empty at most instants and must still mark the intervals with a detection, and only those.
      const now = Date.now() / 1000;
      // Instant queries at the newest successful scrape (a later missed one would mark gauges stale).
      const result = expression.kind === 'annotation' ? await prometheus!.queryRange(expr, now - 600, now, 5) : await prometheus!.query(expr, goodScrapeAt);
      if (expression.kind === 'annotation' && result.status === 'success') {
        const values = ((result.data?.result ?? []) as { values?: [number, string][] }[]).flatMap((series) => series.values ?? []);
        annotationPoints += values.length;
        expect(values.filter(([, v]) => !(Number(v) > 0)), `${expression.source}: only intervals with a detection`).toEqual([]);
      }
      if (result.status !== 'success') {
        parseErrors.push(`${expression.source}: ${result.errorType}: ${result.error}\n    ${expr}`);
        continue;
      }
      const size = resultSize(result);
      if (size > 0) withData += 1;
      if (expression.kind === 'alert' || expression.kind === 'record') continue;
      const families = referencedMetrics(expression.expr).map((series) => metricFamily(series, histograms));
      const unregistered = families.filter((f) => !registered.has(f));
      if (unregistered.length > 0) {
        skipped.push(`${expression.source} (not registered: ${unregistered.join(', ')})`);
        continue;
      }
      required += 1;
      if (size === 0) {
        const series = referencedMetrics(expression.expr);
        const present = await Promise.all(series.map(async (s) => `${s}: ${resultSize(await prometheus!.query(`count(${s})`)) > 0 ? 'has series' : 'NO SERIES'}`));
        empty.push(`${expression.source}: empty\n    ${expr}\n    ${present.join('; ')}`);
      }
    }
    const dashboardCount = expressions.filter((e) => e.kind !== 'alert' && e.kind !== 'record').length;
    console.log(
      `[prometheus] evaluated ${expressions.length} expressions (${dashboardCount} dashboard, ${expressions.length - dashboardCount} alert rules): ` +
        `${expressions.length - parseErrors.length} parsed, ${withData} returned data; ` +
        `${required} dashboard expressions over registered metrics required data, ${required - empty.length} had it` +
        (skipped.length > 0 ? `; skipped (metrics not registered yet): ${skipped.join('; ')}` : '') +
        `; the drift annotation marks ${annotationPoints} intervals, each with a detection`,
    );
    expect(parseErrors, 'expressions Prometheus rejected').toEqual([]);
    expect(empty, 'dashboard expressions over registered metrics that returned no data').toEqual([]);
    expect(required).toBeGreaterThan(25);
  });
});
