import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthProbe {
  /** Liveness: the process and its pipeline are running. */
  live(): boolean;
  /** Readiness: the consumer has its partition assignment. */
  ready(): boolean;
}

/** A route served beside the metrics, by exact path; it answers every method itself. */
export type Route = (request: IncomingMessage, response: ServerResponse) => void;

/** Serves /metrics, /healthz, /readyz and the given routes (e.g. POST /predict); nothing else. */
export async function startMetricsServer(
  registry: Registry,
  health: HealthProbe,
  host: string,
  port: number,
  routes: ReadonlyMap<string, Route> = new Map(),
): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    const route = routes.get(path);
    if (route) return route(request, response);
    const reply = (status: number, body: string, contentType = 'text/plain; charset=utf-8'): void => {
      response.writeHead(status, { 'content-type': contentType });
      response.end(body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return reply(405, 'method not allowed\n');
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => reply(200, text, registry.contentType),
        (error: unknown) => reply(500, `metrics collection failed: ${(error as Error).message}\n`),
      );
      return;
    }
    if (path === '/healthz') return health.live() ? reply(200, 'ok\n') : reply(503, 'not live\n');
    if (path === '/readyz') return health.ready() ? reply(200, 'ready\n') : reply(503, 'not ready: no partition assignment yet\n');
    reply(404, 'not found: try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
