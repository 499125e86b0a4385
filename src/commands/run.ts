import type { Command } from 'commander';
import type { Logger } from 'pino';
import { loadPipelineConfig } from '../config/load-pipeline-config.js';
import type { PipelineConfig } from '../config/pipeline-config.js';
import { startConsumer, type RunningConsumer } from '../consumer-app.js';
import { createLogger } from '../logger.js';

export interface RunOptions {
  readonly pipeline?: string;
}

/** Adds `tangent run` to the program. */
export function addRunCommand(program: Command): void {
  program
    .command('run')
    .description('consume the topic, learn online, serve /metrics, /healthz, /readyz and the live page until Ctrl-C')
    .option('-p, --pipeline <file>', 'pipeline YAML (default: built-in defaults)')
    .action(async (options: RunOptions) => {
      const config = loadPipelineConfig(options.pipeline);
      process.exitCode = await runCommand(config, createLogger());
    });
}

/**
 * `tangent run`: the learning consumer until SIGINT/SIGTERM, printing the
 * one-line summary on stderr. Resolves with the process exit code.
 */
export async function runCommand(config: PipelineConfig, logger: Logger): Promise<number> {
  const consumer = await startConsumer(config, logger);
  return superviseConsumer(consumer, config.summaryIntervalSeconds, logger);
}

/** A host as a browser needs it in a URL: a wildcard bind is reached as localhost. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

export async function superviseConsumer(consumer: RunningConsumer, summaryIntervalSeconds: number, logger: Logger): Promise<number> {
  process.stderr.write(
    `tangent: learning on backend ${consumer.backend.name} · live page http://${urlHost(consumer.metricsAddress.host)}:${consumer.metricsAddress.port}/ · ` +
      `metrics /metrics · Ctrl-C stops\n`,
  );
  const summary =
    summaryIntervalSeconds > 0
      ? setInterval(() => {
          const lag = `lag ${consumer.totalLag().toLocaleString('en-US')}`;
          process.stderr.write(`tangent: ${consumer.progress.line(lag)}\n`);
        }, summaryIntervalSeconds * 1000)
      : undefined;
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'stopping: finishing the batch in flight');
    void consumer.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await consumer.done;
    await consumer.stop();
    return 0;
  } catch {
    await consumer.stop();
    return 1;
  } finally {
    if (summary) clearInterval(summary);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.stderr.write(`tangent: ${consumer.progress.line('stopped')}\n`);
  }
}
