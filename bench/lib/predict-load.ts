/**
 * An HTTP load process for the serving benchmark: POSTs one body to
 * /predict at a steady rate, open loop (each request leaves at its
 * scheduled time whether or not earlier ones have been answered, so a
 * stalled server shows as latency, not as fewer requests). Forked by
 * runPredictLoad with its options as argv[2]; reports the result over IPC.
 */
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PredictLoadOptions {
  readonly url: string;
  /** POST with this body; absent: GET. */
  readonly body?: string;
  readonly rate: number;
  readonly seconds: number;
}

export interface PredictLoadResult {
  readonly requests: number;
  readonly seconds: number;
  /** Per request, send → whole response read, ms, in send order. */
  readonly latenciesMs: number[];
  readonly statuses: Record<string, number>;
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2]!) as PredictLoadOptions;
  const total = Math.round(options.rate * options.seconds);
  const latenciesMs: number[] = new Array<number>(total);
  const statuses: Record<string, number> = {};
  const inFlight: Promise<void>[] = [];
  // node:http over kept-alive connections: a client as lean as a service calling tangent would use (fetch costs the
  // load process itself a millisecond or more a request, on the same two cores as the server).
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const send = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = request(
        options.url,
        { agent, method: body ? 'POST' : 'GET', headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {} },
        (response) => {
          response.on('data', () => {});
          response.on('end', () => resolve(response.statusCode ?? 0));
          response.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / options.rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const sent = performance.now();
    inFlight.push(
      send()
        .then((status) => {
          latenciesMs[i] = performance.now() - sent;
          statuses[status] = (statuses[status] ?? 0) + 1;
        })
        .catch(() => {
          latenciesMs[i] = Number.NaN;
          statuses.error = (statuses.error ?? 0) + 1;
        }),
    );
  }
  await Promise.all(inFlight);
  agent.destroy();
  const result: PredictLoadResult = { requests: total, seconds: (performance.now() - started) / 1000, latenciesMs, statuses };
  process.send?.({ type: 'done', result });
}

main().then(
  () => process.disconnect?.(),
  (error: unknown) => {
    process.stderr.write(`[predict-load] ${String((error as Error).stack ?? error)}\n`);
    process.exit(1);
  },
);
