/**
 * A probe process for the responsiveness benchmark: GETs each URL every
 * `intervalMs`, open loop (a probe leaves at its scheduled time whether or
 * not earlier ones were answered, so a stalled server shows as latency and
 * as a gap between answers, not as fewer probes). Forked with its options as
 * argv[2]; runs until it gets a 'stop' message, then reports over IPC.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface HttpProbeOptions {
  readonly urls: readonly string[];
  readonly intervalMs: number;
}

export interface UrlProbes {
  readonly url: string;
  /** Per probe, send → whole response read, ms (NaN: failed), in send order. */
  readonly latenciesMs: number[];
  /** Answer times (ms since the probe started), in answer order: the longest gap between two is the worst silence. */
  readonly answeredAtMs: number[];
  readonly statuses: Record<string, number>;
}

export interface HttpProbeResult {
  readonly seconds: number;
  readonly probes: readonly UrlProbes[];
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2]!) as HttpProbeOptions;
  const probes: UrlProbes[] = options.urls.map((url) => ({ url, latenciesMs: [], answeredAtMs: [], statuses: {} }));
  let running = true;
  process.on('message', (m: { type: string }) => {
    if (m.type === 'stop') running = false;
  });
  const inFlight: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; running; i++) {
    const wait = started + i * options.intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    for (const probe of probes) {
      const index = probe.latenciesMs.length;
      probe.latenciesMs.push(Number.NaN);
      const sent = performance.now();
      inFlight.push(
        fetch(probe.url)
          .then(async (response) => {
            await response.arrayBuffer();
            const now = performance.now();
            probe.latenciesMs[index] = now - sent;
            probe.answeredAtMs.push(now - started);
            probe.statuses[response.status] = (probe.statuses[response.status] ?? 0) + 1;
          })
          .catch(() => {
            probe.statuses.error = (probe.statuses.error ?? 0) + 1;
          }),
      );
    }
  }
  await Promise.all(inFlight);
  const result: HttpProbeResult = { seconds: (performance.now() - started) / 1000, probes };
  process.send?.({ type: 'done', result });
}

main().then(
  () => process.disconnect?.(),
  (error: unknown) => {
    process.stderr.write(`[http-probe] ${String((error as Error).stack ?? error)}\n`);
    process.exit(1);
  },
);
