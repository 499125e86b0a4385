import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Summary } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TangentMetrics } from '../../../src/metrics/metrics.js';
import {
  dashboardExpressions,
  dashboardVariables,
  grafanaDatasourcePath,
  metricFamily,
  parseLabelValues,
  readDashboard,
  readRules,
  referencedMetrics,
  repoRoot,
  ruleExpressions,
} from '../../integration/prometheus-server.js';

/**
 * docs/metrics.md is the catalogue of the registry, and the dashboard and the
 * alert rules may only use what it lists: whatever the code registers, this
 * test makes the catalogue (and the dashboard and alerts) follow.
 */

const catalogue = readFileSync(`${repoRoot}docs/metrics.md`, 'utf8');
const runbookHeadings = [...readFileSync(`${repoRoot}docs/runbook.md`, 'utf8').matchAll(/^## (\S+)$/gm)].map((m) => m[1]);

/** The text under `## heading`, up to the next `## `. */
function section(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`docs/metrics.md has no "## ${heading}" section`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The first markdown table of a section, as objects keyed by the header cells. */
function table(text: string): Record<string, string>[] {
  const rows = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('|'));
  const cells = (line: string): string[] =>
    line
      .replace(/^\|/, '')
      .replace(/\|$/, '')
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
  const [header, separator, ...body] = rows;
  if (!header || !separator || !/^[\s|:-]+$/.test(separator)) throw new Error(`no markdown table in:\n${text.slice(0, 200)}`);
  const names = cells(header);
  return body.map((line) => {
    const values = cells(line);
    if (values.length !== names.length) throw new Error(`table row has ${values.length} cells, header ${names.length}: ${line}`);
    return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
  });
}

/** The backticked items of a cell (`a`, `b` → [a, b]); `—` or empty → []. */
function codes(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
}

interface Documented {
  readonly name: string;
  readonly type: string;
  readonly unit: string;
  readonly labels: readonly string[];
}

function documented(heading: string): Documented[] {
  return table(section(catalogue, heading)).map((row) => {
    const names = codes(row.Metric ?? '');
    if (names.length !== 1) throw new Error(`a ${heading} row must name exactly one metric in backticks: ${JSON.stringify(row)}`);
    return { name: names[0]!, type: (row.Type ?? '').trim(), unit: (row.Unit ?? '').trim(), labels: codes(row.Labels ?? '') };
  });
}

interface Registered {
  readonly name: string;
  readonly type: string;
  readonly labels: readonly string[];
  readonly help: string;
}

function typeOf(metric: unknown): string {
  if (metric instanceof Counter) return 'counter';
  if (metric instanceof Gauge) return 'gauge';
  if (metric instanceof Histogram) return 'histogram';
  if (metric instanceof Summary) return 'summary';
  return 'unknown';
}

function registeredMetrics(): Registered[] {
  const metrics = new TangentMetrics({ lag: () => [] });
  return metrics.registry.getMetricsAsArray().map((m) => {
    const metric = m as unknown as { name: string; help: string; labelNames?: readonly string[] };
    return { name: metric.name, type: typeOf(m), labels: [...(metric.labelNames ?? [])], help: metric.help };
  });
}

const registered = registeredMetrics();
const registeredTangent = registered.filter((m) => m.name.startsWith('tangent_'));
const catalogued = documented('Catalogue');
const planned = documented('Planned');
const sorted = (labels: readonly string[]): string[] => [...labels].sort();

/** A catalogue row to paste, from the code's own declaration. */
function suggestedRow(m: Registered): string {
  const labels = m.labels.length > 0 ? m.labels.map((l) => `\`${l}\``).join(', ') : '—';
  return `| \`${m.name}\` | ${m.type} | ? | ${labels} | ${m.help} |`;
}

describe('docs/metrics.md catalogues the registry', () => {
  it('the registry has tangent metrics (the test reads the real TangentMetrics)', () => {
    expect(registeredTangent.length).toBeGreaterThan(10);
  });

  it('lists every tangent_* metric the code registers', () => {
    const listed = new Set(catalogued.map((d) => d.name));
    const missing = registeredTangent.filter((m) => !listed.has(m.name));
    expect(missing.map(suggestedRow), 'registered but not in the Catalogue table of docs/metrics.md (rows to add, unit to fill in)').toEqual([]);
  });

  it('lists only metrics the code registers, each once', () => {
    const names = new Set(registered.map((m) => m.name));
    expect(catalogued.filter((d) => !names.has(d.name)).map((d) => d.name), 'in the Catalogue table but not registered').toEqual([]);
    const seen = catalogued.map((d) => d.name);
    expect(seen.filter((n, i) => seen.indexOf(n) !== i), 'listed twice').toEqual([]);
  });

  it('gives each metric the type and label names the code gives it', () => {
    const byName = new Map(registered.map((m) => [m.name, m]));
    const mismatches = catalogued.flatMap((d) => {
      const m = byName.get(d.name);
      if (!m) return [];
      const problems: string[] = [];
      if (d.type !== m.type) problems.push(`${d.name}: type ${d.type} in the catalogue, ${m.type} in the code`);
      if (sorted(d.labels).join(',') !== sorted(m.labels).join(',')) {
        problems.push(`${d.name}: labels [${d.labels.join(', ')}] in the catalogue, [${m.labels.join(', ')}] in the code`);
      }
      return problems;
    });
    expect(mismatches).toEqual([]);
  });

  it('keeps Planned to metrics not registered yet (a registered one moves up into Catalogue)', () => {
    const names = new Set(registered.map((m) => m.name));
    expect(planned.filter((p) => names.has(p.name)).map((p) => p.name), 'registered now: move these rows to the Catalogue table').toEqual([]);
    const listed = new Set(catalogued.map((d) => d.name));
    expect(planned.filter((p) => listed.has(p.name)).map((p) => p.name), 'in both Catalogue and Planned').toEqual([]);
  });

  it('documents the non-tangent metrics (prom-client defaults) as groups by prefix', () => {
    const prefixes = table(section(catalogue, 'Default process and Node.js metrics')).flatMap((row) => codes(row.Prefix ?? ''));
    expect(prefixes.length).toBeGreaterThan(0);
    const others = registered.filter((m) => !m.name.startsWith('tangent_'));
    expect(others.filter((m) => !prefixes.some((p) => m.name.startsWith(p))).map((m) => m.name), 'in no documented group').toEqual([]);
    for (const prefix of prefixes) {
      expect(others.some((m) => m.name.startsWith(prefix)), `documented group ${prefix} has no registered metric`).toBe(true);
    }
  });

  it('documents every label of a tangent metric, and no label nothing uses', () => {
    const labelTable = table(section(catalogue, 'Labels')).flatMap((row) => codes(row.Label ?? ''));
    const used = new Set([...registeredTangent, ...planned].flatMap((m) => m.labels));
    expect([...used].filter((l) => !labelTable.includes(l)), 'labels missing from the Labels table').toEqual([]);
    expect(labelTable.filter((l) => !used.has(l)), 'labels in the Labels table that no metric has').toEqual([]);
  });

  it('follows Prometheus naming: prefix, _total for counters only, units in the name, no reserved labels', () => {
    const problems: string[] = [];
    for (const m of [...catalogued, ...planned]) {
      if (!/^tangent_[a-z][a-z0-9_]*[a-z0-9]$/.test(m.name)) problems.push(`${m.name}: not tangent_<snake_case>`);
      if (!['counter', 'gauge', 'histogram', 'summary'].includes(m.type)) problems.push(`${m.name}: unknown type ${m.type}`);
      if ((m.type === 'counter') !== m.name.endsWith('_total')) problems.push(`${m.name}: counters, and only counters, end in _total`);
      const base = m.name.replace(/_total$/, '');
      if (base.endsWith('_seconds') && m.unit !== 'seconds') problems.push(`${m.name}: unit must be seconds`);
      if (base.endsWith('_bytes') && m.unit !== 'bytes') problems.push(`${m.name}: unit must be bytes`);
      if (m.unit === 'seconds' && !base.endsWith('_seconds')) problems.push(`${m.name}: a duration ends in _seconds`);
      if (m.unit === 'bytes' && !base.endsWith('_bytes')) problems.push(`${m.name}: a size ends in _bytes`);
      if (/_(milliseconds|ms|minutes|hours|kilobytes|megabytes|percent)(_|$)/.test(m.name)) problems.push(`${m.name}: use base units`);
      if (m.name.endsWith('_info') && m.type !== 'gauge') problems.push(`${m.name}: _info metrics are gauges`);
      if (m.unit === '') problems.push(`${m.name}: no unit`);
      for (const label of m.labels) {
        if (label.startsWith('__') || label === 'le' || label === 'quantile' || label === 'job' || label === 'instance') {
          problems.push(`${m.name}: reserved label ${label}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('the dashboard and the alert rules use catalogued metrics', () => {
  const known = new Map<string, string>([...registered, ...planned].map((m) => [m.name, m.type]));
  const histograms = new Set([...known].filter(([, type]) => type === 'histogram' || type === 'summary').map(([name]) => name));
  const dashboard = readDashboard();
  const expressions = [
    ...dashboardExpressions(dashboard),
    ...dashboardVariables(dashboard).flatMap((v) => (v.query ? [{ source: `variable ${v.name}`, expr: v.query, kind: 'variable' as const }] : [])),
    ...ruleExpressions(readRules()),
  ];

  it('reads the expressions', () => {
    expect(expressions.filter((e) => e.kind === 'panel').length).toBeGreaterThan(20);
    expect(expressions.filter((e) => e.kind === 'alert').length).toBeGreaterThanOrEqual(7);
  });

  it('refers only to metrics that are registered or planned in docs/metrics.md', () => {
    const unknown = expressions.flatMap((e) =>
      referencedMetrics(e.expr)
        .map((series) => metricFamily(series, histograms))
        .filter((name) => !known.has(name))
        .map((name) => `${e.source}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it('reads histograms through _bucket/_sum/_count, and only histograms so', () => {
    const problems = expressions.flatMap((e) =>
      referencedMetrics(e.expr).flatMap((series) => {
        const family = metricFamily(series, histograms);
        if (histograms.has(series)) return [`${e.source}: ${series} is a histogram, read ${series}_bucket/_sum/_count`];
        if (family !== series && !/_(bucket|sum|count)$/.test(series)) return [`${e.source}: ${series}`];
        return [];
      }),
    );
    expect(problems).toEqual([]);
  });

  it('covers the alerts the issue asks for', () => {
    const alerts = readRules().groups.flatMap((g) => g.rules.filter((r) => r.alert));
    const uses = (metric: string): boolean => alerts.some((r) => referencedMetrics(r.expr).includes(metric));
    for (const metric of [
      'tangent_records_total',
      'tangent_consumer_lag_records',
      'tangent_drift_detections_total',
      'tangent_prequential_squared_error_total',
      'tangent_lr_stability_margin',
      'tangent_checkpoint_age_seconds',
    ]) {
      expect(uses(metric), `an alert on ${metric}`).toBe(true);
    }
    for (const rule of alerts) {
      expect(['critical', 'warning', 'info'], `${rule.alert} severity`).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, `${rule.alert} summary`).toBeTruthy();
      expect(rule.annotations?.description, `${rule.alert} description`).toBeTruthy();
      const runbook = rule.annotations?.runbook_url ?? '';
      expect(runbook, `${rule.alert} runbook_url`).toBe(`docs/runbook.md#${rule.alert!.toLowerCase()}`);
      expect(runbookHeadings, `docs/runbook.md has a section for ${rule.alert}`).toContain(rule.alert);
    }
  });

  it('refers to Prometheus only through a datasource variable (declared in __inputs, so it imports into any Grafana) and defines every variable it uses', () => {
    const text = readFileSync(`${repoRoot}infra/grafana/dashboards/tangent.json`, 'utf8');
    const uids = new Set([...text.matchAll(/"datasource":\s*\{\s*"type":\s*"prometheus",\s*"uid":\s*"([^"]+)"/g)].map((m) => m[1]));
    expect([...uids]).toEqual(['${datasource}']);
    const raw = JSON.parse(text) as { __inputs: { name: string; type: string; pluginId: string }[]; templating: { list: { name: string; type: string; query?: unknown; current?: { value?: string } }[] } };
    expect(raw.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    const datasource = raw.templating.list.find((v) => v.name === 'datasource')!;
    expect(datasource).toMatchObject({ type: 'datasource', query: 'prometheus', current: { value: '${DS_PROMETHEUS}' } });
    // The provisioned datasource is the default one, which a datasource variable falls back to outside an import.
    const provisioning = parse(readFileSync(grafanaDatasourcePath, 'utf8')) as { datasources: { type: string; isDefault?: boolean }[] };
    expect(provisioning.datasources.find((d) => d.type === 'prometheus')!.isDefault).toBe(true);

    const variables = dashboardVariables(dashboard);
    for (const v of variables.filter((variable) => variable.type === 'query')) {
      expect(parseLabelValues(v.query ?? ''), `variable ${v.name}: label_values(...)`).toBeDefined();
    }
    const defined = new Set([...variables.map((v) => v.name), ...raw.__inputs.map((i) => i.name), '__rate_interval', '__interval', '__range']);
    const used = new Set(
      [...text.matchAll(/\$\{?(\w+)|\[\[(\w+)\]\]/g)].map((m) => (m[1] ?? m[2])!).filter((name) => !['__all'].includes(name)),
    );
    expect([...used].filter((name) => !defined.has(name)), 'variables used but not defined').toEqual([]);
    expect(variables.map((v) => v.name)).toContain('task');
  });

  it('marks only intervals with a drift detection (the annotation query keeps values above 0)', () => {
    const annotations = dashboardExpressions(dashboard).filter((e) => e.kind === 'annotation');
    expect(annotations.length).toBeGreaterThan(0);
    for (const annotation of annotations) expect(annotation.expr, annotation.source).toMatch(/\)\s*>\s*0$/);
  });
});
