import type { Route } from '../metrics/metrics-server.js';

/**
 * `/predict` on the metrics port: a 307 to the serving port, where the
 * prediction thread listens (a 307 keeps the method and body, so `curl -L`
 * and most HTTP clients follow it with the same POST).
 */
export function predictRedirect(servingPort: number): Route {
  return {
    method: '*',
    path: '/predict',
    handle: (request, response) => {
      request.resume();
      const host = (request.headers.host ?? '127.0.0.1').replace(/:\d+$/, '');
      const location = `http://${host}:${servingPort}/predict`;
      response.writeHead(307, { location, 'content-type': 'application/json' });
      response.end(`${JSON.stringify({ error: 'moved', detail: `POST /predict is served on port ${servingPort}: ${location}` })}\n`);
    },
  };
}
