import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import type { Logger } from 'pino';
import { loadPipelineConfig } from '../config/load-pipeline-config.js';
import { ConfigError } from '../errors.js';
import { createKafka } from '../kafka/kafka-client.js';
import { ensureTopics } from '../kafka/topics.js';
import { defaultFriedmanOptions, type DriftKind } from '../demo/friedman.js';
import { produceRecords } from '../demo/produce.js';
import { fileRecords, syntheticRecords } from '../demo/record-sources.js';

export const produceUsage = `tangent produce [options]
  --topic T            topic to write (default: the pipeline's kafka.topic: tangent.records, or TANGENT_TOPIC)
  --count N            records to write (default 100000; ignored with --input)
  --rate R             records per second, 0 = unthrottled (default 0)
  --drift KIND         none | abrupt | gradual | local (default abrupt)
  --drift-at P1,P2     record positions of the drifts (default 50000,100000)
  --tasks N            number of related tasks (default 3)
  --malformed F        fraction of deliberately malformed records (default 0)
  --seed S             random seed (default 7)
  --input FILE         replay a .jsonl or .csv file instead of the synthetic stream
  --pipeline FILE      take the cluster connection (brokers, TLS, SASL) and topic from a pipeline file
Brokers come from the pipeline file or KAFKA_BROKERS (default 127.0.0.1:9092).`;

function numberOption(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new ConfigError(`--${name}`, `expected a non-negative number, got "${raw}"`);
  return value;
}

/** `tangent produce`: the load generator (synthetic drifting stream or file replay). */
export async function produceCommand(argv: string[], logger: Logger): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      topic: { type: 'string' },
      count: { type: 'string' },
      rate: { type: 'string' },
      drift: { type: 'string' },
      'drift-at': { type: 'string' },
      tasks: { type: 'string' },
      malformed: { type: 'string' },
      seed: { type: 'string' },
      input: { type: 'string' },
      pipeline: { type: 'string' },
    },
    strict: true,
  });
  // The pipeline file (and its env overrides) says how to reach the cluster: brokers, TLS, SASL, topic.
  const config = loadPipelineConfig(values.pipeline);
  const drift = (values.drift ?? 'abrupt') as DriftKind;
  if (!['none', 'abrupt', 'gradual', 'local'].includes(drift)) throw new ConfigError('--drift', `unknown drift kind "${drift}"`);
  const malformedFraction = numberOption('malformed', values.malformed, 0);
  if (malformedFraction > 1) throw new ConfigError('--malformed', 'must be a fraction between 0 and 1');
  const count = Math.floor(numberOption('count', values.count, 100_000));
  const taskCount = Math.max(1, Math.floor(numberOption('tasks', values.tasks, 3)));
  const topic = values.topic ?? config.kafka.topic;
  const driftPositions = values['drift-at']
    ? values['drift-at'].split(',').map((p) => numberOption('drift-at', p, 0))
    : defaultFriedmanOptions.driftPositions;

  const kafka = createKafka({ ...config.kafka, clientId: 'tangent-produce' }, logger);
  await ensureTopics(kafka, [topic], 3);

  const records = values.input
    ? fileRecords(values.input)
    : syntheticRecords(count, {
        friedman: {
          ...defaultFriedmanOptions,
          seed: numberOption('seed', values.seed, defaultFriedmanOptions.seed),
          drift,
          driftPositions,
          tasks: Array.from({ length: taskCount }, (_, i) => `sensor-${i}`),
        },
        malformedFraction,
        maxRecordBytes: 64 * 1024,
      });
  const bar = process.stderr.isTTY && !values.input ? new SingleBar({ format: 'producing [{bar}] {value}/{total} records · {eta_formatted} left' }) : undefined;
  bar?.start(count, 0);
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const sent = await produceRecords(kafka, records, {
    topic,
    rate: numberOption('rate', values.rate, 0),
    signal: abort.signal,
    onProgress: (n) => bar?.update(n),
  });
  bar?.stop();
  process.stderr.write(`tangent: produced ${sent.toLocaleString('en-US')} records to ${topic}\n`);
  return 0;
}
