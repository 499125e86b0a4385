import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthProbe {
  /** Liveness: the process and its pipeline are running. */
  live(): boolean;
  /** Readiness: the consumer has its partition assignment. */
  ready(): boolean;
}

/**
 * One endpoint of the metrics server, by exact path: a GET route also answers
 * HEAD; a `*` route answers every method itself (e.g. its own 405).
 */
export interface Route {
  readonly method: 'GET' | 'POST' | '*';
  readonly path: string;
  handle(request: IncomingMessage, response: ServerResponse, url: URL): void | Promise<void>;
}

export function reply(response: ServerResponse, status: number, body: string | Buffer, contentType = 'text/plain; charset=utf-8'): void {
  response.writeHead(status, { 'content-type': contentType });
  response.end(body);
}

/** /metrics, /healthz and /readyz: the operational endpoints every deployment scrapes and probes. */
function operationalRoutes(registry: Registry, health: HealthProbe): Route[] {
  return [
    {
      method: 'GET',
      path: '/metrics',
      handle: async (_request, response) => {
        try {
          reply(response, 200, await registry.metrics(), registry.contentType);
        } catch (error) {
          reply(response, 500, `metrics collection failed: ${(error as Error).message}\n`);
        }
      },
    },
    { method: 'GET', path: '/healthz', handle: (_r, response) => (health.live() ? reply(response, 200, 'ok\n') : reply(response, 503, 'not live\n')) },
    {
      method: 'GET',
      path: '/readyz',
      handle: (_r, response) => (health.ready() ? reply(response, 200, 'ready\n') : reply(response, 503, 'not ready: no partition assignment yet\n')),
    },
  ];
}

/**
 * A small router: exact paths, one handler per (method, path); everything else
 * is 404 or 405. `routes` is read per request, so routes can join after the
 * server started (POST /predict, once the model exists).
 */
function routeRequests(fixed: readonly Route[], routes: readonly Route[] = []): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    const onPath = [...fixed, ...routes].filter((r) => r.path === url.pathname);
    const route = onPath.find((r) => r.method === method || r.method === '*');
    if (route === undefined) {
      if (onPath.length > 0) return reply(response, 405, 'method not allowed\n');
      return reply(response, 404, `not found: try ${[...fixed, ...routes].filter((r) => r.method === 'GET').map((r) => r.path).join(', ')}\n`);
    }
    Promise.resolve(route.handle(request, response, url)).catch((error: unknown) => {
      if (!response.headersSent) reply(response, 500, `${(error as Error).message}\n`);
      else response.destroy();
    });
  };
}

/** Serves /metrics, /healthz, /readyz and further routes (the live page, POST /predict), which may be added after start. */
export async function startMetricsServer(
  registry: Registry,
  health: HealthProbe,
  host: string,
  port: number,
  routes: readonly Route[] = [],
): Promise<Server> {
  const server = createServer(routeRequests(operationalRoutes(registry, health), routes));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
