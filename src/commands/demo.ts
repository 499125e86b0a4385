import type { Command } from 'commander';
import type { Logger } from 'pino';
import { loadPipelineConfig } from '../config/load-pipeline-config.js';
import type { PipelineConfig } from '../config/pipeline-config.js';
import { createLogger } from '../logger.js';
import { startConsumer } from '../consumer-app.js';
import { createKafka } from '../kafka/kafka-client.js';
import { defaultFriedmanOptions } from '../demo/friedman.js';
import { produceRecords } from '../demo/produce.js';
import { syntheticRecords } from '../demo/record-sources.js';
import { superviseConsumer } from './run.js';

/** Records per second of the demo stream, and where its concept drifts. */
const demoRate = 2000;
const demoDriftPositions = [60_000, 120_000];

/** Adds `tangent demo` to the program. */
export function addDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('the built-in default: a drifting synthetic stream produced and learned live, with the live page')
    .option('-p, --pipeline <file>', 'pipeline YAML (default: built-in defaults)')
    .action(async (options: { pipeline?: string }) => {
      const config = loadPipelineConfig(options.pipeline);
      process.exitCode = await demoCommand(config, createLogger());
    });
}

/**
 * `tangent demo`: the built-in default. A producer writes the drifting
 * Friedman stream (three tasks, 2% malformed records) while the consumer
 * learns from it, until Ctrl-C.
 */
async function demoCommand(pipeline: PipelineConfig, logger: Logger): Promise<number> {
  // The demo writes its own stream: its topic is created when missing.
  const config: PipelineConfig = { ...pipeline, kafka: { ...pipeline.kafka, createTopics: true } };
  const consumer = await startConsumer(config, logger);
  const kafka = createKafka({ ...config.kafka, clientId: 'tangent-demo-producer' }, logger);
  const stopProducing = new AbortController();
  const producing = produceRecords(
    kafka,
    syntheticRecords(Number.MAX_SAFE_INTEGER, {
      friedman: { ...defaultFriedmanOptions, seed: Date.now() % 100_000, driftPositions: demoDriftPositions },
      malformedFraction: 0.02,
      maxRecordBytes: config.kafka.maxRecordBytes,
    }),
    { topic: config.kafka.topic, rate: demoRate, signal: stopProducing.signal },
  ).catch((error: unknown) => logger.error({ err: error }, 'demo producer failed'));
  process.stderr.write(
    `tangent demo: producing ${demoRate} records/s to ${config.kafka.topic}, concept drifts at records ${demoDriftPositions.join(' and ')}\n`,
  );
  const stopOnSignal = (): void => stopProducing.abort();
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  const code = await superviseConsumer(consumer, config.summaryIntervalSeconds, logger);
  stopProducing.abort();
  await producing;
  return code;
}
