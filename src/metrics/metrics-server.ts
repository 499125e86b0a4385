import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthProbe {
  /** Liveness: the process and its pipeline are running. */
  live(): boolean;
  /** Readiness: the consumer has its partition assignment. */
  ready(): boolean;
}

/** Serves /metrics, /healthz and /readyz; nothing else. */
export async function startMetricsServer(registry: Registry, health: HealthProbe, host: string, port: number): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
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
