import type { Command } from 'commander';
import type { Logger } from 'pino';
import { loadPipelineConfig } from '../config/load-pipeline-config.js';
import type { PipelineConfig } from '../config/pipeline-config.js';
import { startConsumer, type RunningConsumer } from '../consumer-app.js';
import { createLogger } from '../logger.js';
import { runSummary } from '../metrics/run-summary.js';

export interface RunOptions {
  readonly pipeline?: string;
  /** Learn up to the end offsets that exist at start, checkpoint, commit, print a JSON summary on stdout and exit. */
  readonly untilEnd?: boolean;
}

/** Adds `tangent run` to the program. */
export function addRunCommand(program: Command): void {
  program
    .command('run')
    .description('consume the topic, learn online, serve /metrics, /healthz, /readyz and the live page until Ctrl-C')
    .option('-p, --pipeline <file>', 'pipeline YAML (default: built-in defaults)')
    .option('--until-end', 'stop at the end offsets that existed at start: checkpoint, commit, print a JSON summary on stdout, exit 0')
    .action(async (options: RunOptions) => {
      const config = loadPipelineConfig(options.pipeline);
      process.exitCode = await runCommand(config, createLogger(), { untilEnd: options.untilEnd === true });
    });
}

/**
 * `tangent run`: the learning consumer until SIGINT/SIGTERM (or, with
 * `untilEnd`, the end of the stream as it was at start), printing the
 * one-line summary on stderr. Resolves with the process exit code.
 */
async function runCommand(config: PipelineConfig, logger: Logger, options: Pick<RunOptions, 'untilEnd'> = {}): Promise<number> {
  const consumer = await startConsumer(config, logger, { untilEnd: options.untilEnd });
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
      `metrics /metrics · ${consumer.endReached ? 'stops at the end offsets it started with' : 'Ctrl-C stops'}\n`,
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
    await (consumer.endReached ? Promise.race([consumer.done, consumer.endReached]) : consumer.done);
    await consumer.stop();
    if (consumer.endReached && !signalled) process.stdout.write(`${JSON.stringify(runSummary(consumer.totals))}\n`);
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
