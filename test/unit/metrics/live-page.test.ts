import type { Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveHistory, sampleRegistry } from '../../../src/metrics/live-history.js';
import { livePageScript } from '../../../src/metrics/live-page-assets.js';
import { startLivePage } from '../../../src/metrics/live-page.js';
import { startMetricsServer } from '../../../src/metrics/metrics-server.js';

function registryWithMetrics(): { registry: Registry; mae: Gauge<'task' | 'model'>; drifts: Counter<'task' | 'model' | 'detector'> } {
  const registry = new Registry();
  const mae = new Gauge({ name: 'tangent_prequential_mae', help: 'h', labelNames: ['task', 'model'], registers: [registry] });
  const drifts = new Counter({ name: 'tangent_drift_detections_total', help: 'h', labelNames: ['task', 'model', 'detector'], registers: [registry] });
  new Gauge({ name: 'tangent_build_info', help: 'h', labelNames: ['version', 'backend'], registers: [registry] }).set({ version: '9.9.9', backend: 'cpu' }, 1);
  return { registry, mae, drifts };
}

describe('the live page and its router', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  async function serve(registry: Registry, history: LiveHistory): Promise<string> {
    const server = await startMetricsServer(registry, { live: () => true, ready: () => false }, '127.0.0.1', 0, startLivePage(registry, history).routes);
    servers.push(server);
    const address = server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  it('samples metrics by name, including ones registered after it started (η)', async () => {
    const { registry, mae, drifts } = registryWithMetrics();
    mae.set({ task: 'a', model: 'nn' }, 1.5);
    mae.set({ task: 'a', model: 'ntkgp' }, 1.2);
    drifts.inc({ task: 'a', model: 'nn', detector: 'adwin' });
    drifts.inc({ task: 'a', model: 'nn', detector: 'kswin' });
    const before = await sampleRegistry(registry, 1000);
    expect(before).toMatchObject({ t: 1000, mae: { a: { nn: 1.5, ntkgp: 1.2 } }, drifts: { a: { nn: 2 } }, learningRate: {}, lag: 0 });
    new Gauge({ name: 'tangent_learning_rate', help: 'h', registers: [registry] }).set(0.25);
    expect((await sampleRegistry(registry, 2000)).learningRate).toEqual({ '': 0.25 });
  });

  it('keeps the newest samples up to its capacity and answers ?since', () => {
    const history = new LiveHistory(new Registry(), 1000, 3);
    for (let t = 1; t <= 5; t++) history.add({ t, mae: {}, drifts: {}, records: {}, deadLetters: {}, lag: t, learningRate: {}, margin: {} });
    expect(history.since().map((s) => s.t)).toEqual([3, 4, 5]);
    expect(history.since(4).map((s) => s.t)).toEqual([5]);
  });

  it('serves the page, its script, uPlot from node_modules and the history; health routes stay; others are 404/405', async () => {
    const { registry, mae } = registryWithMetrics();
    const history = new LiveHistory(registry);
    mae.set({ task: 'a', model: 'nn' }, 2);
    history.add(await sampleRegistry(registry, 5000));
    history.add(await sampleRegistry(registry, 6000));
    const base = await serve(registry, history);

    const page = await fetch(`${base}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('<script src="/live/uplot.js">');
    expect(html).not.toMatch(/https?:\/\/(?!localhost)[a-z]/i);
    const uplot = await (await fetch(`${base}/live/uplot.js`)).text();
    expect(uplot).toContain('uPlot');
    expect(uplot.length).toBeGreaterThan(20_000);
    expect((await fetch(`${base}/live/uplot.css`)).headers.get('content-type')).toContain('text/css');
    expect(await (await fetch(`${base}/live/app.js`)).text()).toContain('/live/history.json');

    const body = (await (await fetch(`${base}/live/history.json?since=5000`)).json()) as { build: unknown; samples: { t: number; mae: unknown }[] };
    expect(body.build).toEqual({ version: '9.9.9', backend: 'cpu' });
    expect(body.samples).toEqual([expect.objectContaining({ t: 6000, mae: { a: { nn: 2 } } })]);

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('tangent_prequential_mae{task="a",model="nn"} 2');
    expect((await fetch(`${base}/metrics`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('/metrics');
  });

  it('serves a script the browser can parse (a stray quote would leave the page blank)', () => {
    // Parsing only: the Function is never called, so no browser globals are needed.
    expect(() => new Function(livePageScript)).not.toThrow();
  });
});
