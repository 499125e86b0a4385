import type { Logger } from 'pino';
import { servingAddressOf, type PipelineConfig } from '../config/pipeline-config.js';
import { ConfigError } from '../errors.js';
import { startLivePage } from '../metrics/live-page.js';
import { startMetricsServer, type Route } from '../metrics/metrics-server.js';
import type { TangentMetrics } from '../metrics/metrics.js';
import { predictRedirect } from '../serving/predict-redirect.js';
import { ServingThread } from '../serving/serving-thread.js';

export interface Health {
  readonly live: () => boolean;
  readonly ready: () => boolean;
}

export interface Endpoints {
  readonly metricsAddress: { host: string; port: number };
  /** Where POST /predict listens (its own thread). */
  readonly servingAddress: { host: string; port: number };
  readonly serving: ServingThread;
  close(): Promise<void>;
}

/**
 * The HTTP edges: /metrics, /healthz, /readyz and the live page on the metrics port, POST /predict on
 * a thread of its own (serving-thread.ts) that the metrics port's /predict points to. Each port is
 * taken before anything connects to Kafka, so a port in use fails the start with its own cause, and
 * /healthz answers while the brokers are tried. A stopped /predict thread makes /healthz fail, so an
 * orchestrator restarts the consumer.
 */
export async function startEndpoints(config: PipelineConfig, metrics: TangentMetrics, health: Health, logger: Logger): Promise<Endpoints> {
  let servingFailed = false;
  const livePage = startLivePage(metrics.registry);
  const routes: Route[] = [...livePage.routes];
  let server: Awaited<ReturnType<typeof startMetricsServer>>;
  try {
    server = await startMetricsServer(
      metrics.registry,
      { live: () => !servingFailed && health.live(), ready: health.ready },
      config.metrics.host,
      config.metrics.port,
      routes,
    );
  } catch (cause) {
    livePage.stop();
    const code = (cause as NodeJS.ErrnoException).code;
    throw new ConfigError(
      'metrics.port',
      `cannot serve metrics on ${config.metrics.host}:${config.metrics.port}: ${code === 'EADDRINUSE' ? 'the port is in use by another process (EADDRINUSE)' : (cause as Error).message}`,
    );
  }
  const servingAt = servingAddressOf(config);
  let serving: ServingThread;
  try {
    serving = await ServingThread.start(
      { ...servingAt, inputDim: config.model.inputDim, maxRequestBytes: config.serving.maxRequestBytes, maxRequestRecords: config.serving.maxRequestRecords },
      {
        observe: (status, seconds) => {
          metrics.predictRequests.inc({ status });
          metrics.predictDuration.observe(seconds);
        },
        failed: (error) => {
          servingFailed = true;
          logger.error({ err: error }, 'the POST /predict thread stopped: /healthz fails from now on');
        },
      },
    );
  } catch (cause) {
    livePage.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw new ConfigError('serving.port', (cause as Error).message);
  }
  const servingAddress = { host: servingAt.host, port: serving.port };
  routes.push(predictRedirect(servingAddress.port));
  const address = server.address();
  return {
    metricsAddress: { host: config.metrics.host, port: typeof address === 'object' && address ? address.port : config.metrics.port },
    servingAddress,
    serving,
    close: () => {
      livePage.stop();
      return Promise.all([serving.stop(), new Promise<void>((resolve) => server.close(() => resolve()))]).then(() => undefined);
    },
  };
}
