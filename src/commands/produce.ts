import { SingleBar } from 'cli-progress';
import { Option, type Command } from 'commander';
import type { Logger } from 'pino';
import { loadPipelineConfig } from '../config/load-pipeline-config.js';
import { createKafka } from '../kafka/kafka-client.js';
import { ensureTopics } from '../kafka/topics.js';
import { defaultFriedmanOptions, type DriftKind } from '../demo/friedman.js';
import { produceRecords } from '../demo/produce.js';
import { fileRecords, syntheticRecords } from '../demo/record-sources.js';
import { createLogger } from '../logger.js';
import { fraction, nonNegativeInteger, nonNegativeIntegerList, nonNegativeNumber, positiveInteger } from './option-values.js';

export interface ProduceOptions {
  readonly topic?: string;
  readonly count: number;
  readonly rate: number;
  readonly drift: DriftKind;
  readonly driftAt?: number[];
  readonly tasks: number;
  readonly malformed: number;
  readonly seed: number;
  readonly input?: string;
  readonly pipeline?: string;
}

/** Adds `tangent produce` to the program. */
export function addProduceCommand(program: Command): void {
  program
    .command('produce')
    .description('load generator: a synthetic drifting stream, or a .jsonl/.csv file replayed')
    .option('-t, --topic <topic>', "topic to write (default: the pipeline's kafka.topic)")
    .option('-n, --count <n>', 'records to write (ignored with --input)', positiveInteger, 100_000)
    .option('-r, --rate <r>', 'records per second, 0 = unthrottled', nonNegativeNumber, 0)
    .addOption(new Option('--drift <kind>', 'kind of concept drift').choices(['none', 'abrupt', 'gradual', 'local']).default('abrupt'))
    .option('--drift-at <p1,p2>', `record positions of the drifts (default ${defaultFriedmanOptions.driftPositions.join(',')})`, nonNegativeIntegerList)
    .option('--tasks <n>', 'number of related tasks', positiveInteger, 3)
    .option('--malformed <f>', 'fraction of deliberately malformed records', fraction, 0)
    .option('--seed <s>', 'random seed', nonNegativeInteger, defaultFriedmanOptions.seed)
    .option('-i, --input <file>', 'replay a .jsonl or .csv file instead of the synthetic stream')
    .option('-p, --pipeline <file>', 'take the cluster connection (brokers, TLS, SASL) and topic from a pipeline file')
    .addHelpText('after', '\nBrokers come from the pipeline file or KAFKA_BROKERS (default 127.0.0.1:9092).')
    .action(async (options: ProduceOptions) => {
      process.exitCode = await produceCommand(options, createLogger());
    });
}

/** `tangent produce`: the load generator (synthetic drifting stream or file replay). */
async function produceCommand(options: ProduceOptions, logger: Logger): Promise<number> {
  // The pipeline file (and its env overrides) says how to reach the cluster: brokers, TLS, SASL, topic.
  const config = loadPipelineConfig(options.pipeline);
  const topic = options.topic ?? config.kafka.topic;
  const count = options.count;

  const kafka = createKafka({ ...config.kafka, clientId: 'tangent-produce' }, logger);
  await ensureTopics(kafka, [topic], 3);

  const records = options.input
    ? fileRecords(options.input)
    : syntheticRecords(count, {
        friedman: {
          ...defaultFriedmanOptions,
          seed: options.seed,
          drift: options.drift,
          driftPositions: options.driftAt ?? defaultFriedmanOptions.driftPositions,
          tasks: Array.from({ length: options.tasks }, (_, i) => `sensor-${i}`),
        },
        malformedFraction: options.malformed,
        maxRecordBytes: 64 * 1024,
      });
  const bar = process.stderr.isTTY && !options.input ? new SingleBar({ format: 'producing [{bar}] {value}/{total} records · {eta_formatted} left' }) : undefined;
  bar?.start(count, 0);
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const sent = await produceRecords(kafka, records, {
    topic,
    rate: options.rate,
    signal: abort.signal,
    onProgress: (n) => bar?.update(n),
  });
  bar?.stop();
  process.stderr.write(`tangent: produced ${sent.toLocaleString('en-US')} records to ${topic}\n`);
  return 0;
}
