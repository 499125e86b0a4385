import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';
import { LiveHistory } from './live-history.js';
import { livePageHtml, livePageScript } from './live-page-assets.js';
import { reply, type Route } from './metrics-server.js';

const resolveModule = createRequire(import.meta.url).resolve;

/** uPlot, served from node_modules: the page needs nothing outside tangent's own port. */
function uplotAsset(file: 'uPlot.iife.min.js' | 'uPlot.min.css'): Buffer {
  return readFileSync(resolveModule(`uplot/dist/${file}`));
}

async function buildInfo(registry: Registry): Promise<{ version: string; backend: string } | null> {
  const metric = registry.getSingleMetric('tangent_build_info');
  const first = metric === undefined ? undefined : (await metric.get()).values[0];
  return first === undefined ? null : { version: String(first.labels.version), backend: String(first.labels.backend) };
}

export interface LivePage {
  readonly routes: Route[];
  stop(): void;
}

/**
 * The live page at `/`: the HTML, its script, uPlot, and /live/history.json
 * (samples after `?since=<epoch ms>`), sampled from the registry every second.
 */
export function startLivePage(registry: Registry, history = new LiveHistory(registry).start()): LivePage {
  const script = uplotAsset('uPlot.iife.min.js');
  const css = uplotAsset('uPlot.min.css');
  const routes: Route[] = [
    { method: 'GET', path: '/', handle: (_q, response) => reply(response, 200, livePageHtml, 'text/html; charset=utf-8') },
    { method: 'GET', path: '/live/app.js', handle: (_q, response) => reply(response, 200, livePageScript, 'text/javascript; charset=utf-8') },
    { method: 'GET', path: '/live/uplot.js', handle: (_q, response) => reply(response, 200, script, 'text/javascript; charset=utf-8') },
    { method: 'GET', path: '/live/uplot.css', handle: (_q, response) => reply(response, 200, css, 'text/css; charset=utf-8') },
    {
      method: 'GET',
      path: '/live/history.json',
      handle: async (_q, response, url) => {
        const since = Number(url.searchParams.get('since') ?? 0);
        const body = { build: await buildInfo(registry), samples: history.since(Number.isFinite(since) ? since : 0) };
        reply(response, 200, JSON.stringify(body), 'application/json');
      },
    },
  ];
  return { routes, stop: () => history.stop() };
}
