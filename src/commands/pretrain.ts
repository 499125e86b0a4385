import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { loadPipelineConfig } from '../config/load-pipeline-config.js';
import type { PipelineConfig } from '../config/pipeline-config.js';
import { fileRecords } from '../demo/record-sources.js';
import { KafkaError, ModelError, UsageError } from '../errors.js';
import { createKafka } from '../kafka/kafka-client.js';
import { selectBackend } from '../model/backend.js';
import { pretrainTrunk, type PretrainExample, type PretrainProgress } from '../model/pretrain.js';
import { saveLayersModel, trunkLayersModel } from '../model/layers-export.js';
import { saveTrunkArtifact } from '../model/trunk-artifact.js';
import { decodeRecord } from '../pipeline/decode-record.js';
import type { RejectReason, SourceRecord } from '../pipeline/records.js';
import { toSourceRecord } from '../kafka/source-record.js';
import { specOf } from '../learning-session.js';
import { createLogger } from '../logger.js';
import { nonNegativeInteger, positiveInteger, positiveNumber } from './option-values.js';

export interface PretrainOptions {
  readonly input?: string;
  readonly topic?: string;
  readonly out: string;
  readonly pipeline?: string;
  readonly epochs: number;
  readonly limit?: number;
  readonly batchSize?: number;
  readonly learningRate?: number;
  readonly seed?: number;
}

/** Adds `tangent pretrain` to the program. */
export function addPretrainCommand(program: Command): void {
  program
    .command('pretrain')
    .description('pretrain a trunk on a file or a topic and save it as a TensorFlow.js artifact')
    .option('-i, --input <source>', "a .jsonl or .csv file (the record format of 'tangent produce --input'), or topic:NAME")
    .option('-t, --topic <name>', 'same as --input topic:NAME (read from the beginning to its current end)')
    .requiredOption('-o, --out <dir>', 'where to write the trunk (model.json + weights.bin)')
    .option('-p, --pipeline <file>', 'pipeline YAML: model spec, kafka connection and the defaults below')
    .option('--epochs <n>', 'passes over the examples', positiveInteger, 5)
    .option('--limit <n>', 'use at most this many good records (default: all)', positiveInteger)
    .option('--batch-size <n>', "minibatch size (default: the pipeline's batch.size)", positiveInteger)
    .option('--learning-rate <eta>', "SGD rate for trunk and temporary head (default: the pipeline's model.learningRate)", positiveNumber)
    .option('--seed <s>', "initialisation and shuffling seed (default: the pipeline's model.seed)", nonNegativeInteger)
    .addHelpText('after', '\nBad records are skipped and counted by reason. Load the result with model.pretrainedTrunk: DIR.')
    .action(async (options: PretrainOptions) => {
      process.exitCode = await pretrainCommand(options, createLogger());
    });
}

/** Where the pretraining records come from. */
export type PretrainSource = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'topic'; readonly topic: string };

export function parseSource(input: string | undefined, topic: string | undefined): PretrainSource {
  if (input !== undefined && topic !== undefined) throw new UsageError('--input: give either --input or --topic, not both');
  if (topic !== undefined) return { kind: 'topic', topic };
  if (input === undefined) throw new UsageError('--input: required: a .jsonl or .csv file, or topic:NAME');
  if (input.startsWith('topic:')) {
    const name = input.slice('topic:'.length);
    if (name === '') throw new UsageError('--input: topic:NAME needs a topic name');
    return { kind: 'topic', topic: name };
  }
  if (!input.endsWith('.jsonl') && !input.endsWith('.json') && !input.endsWith('.csv')) {
    throw new UsageError(`--input: "${input}" is neither a .jsonl/.csv file nor topic:NAME`);
  }
  if (!existsSync(input)) throw new UsageError(`--input: no such file: ${input}`);
  return { kind: 'file', path: input };
}

/** Counts of what reading the source gave: good records and bad ones by reason. */
export class ReadTally {
  good = 0;
  /** Records without a label: nothing to pretrain on, skipped. */
  unlabeled = 0;
  readonly bad = new Map<RejectReason, number>();

  get badTotal(): number {
    let total = 0;
    for (const n of this.bad.values()) total += n;
    return total;
  }

  describeBad(): string {
    return [...this.bad].map(([reason, n]) => `${reason} ${n}`).join(', ');
  }
}

/** Decodes raw records with the consumer's own decoder; bad ones are tallied and skipped. */
async function* decoded(
  raw: AsyncIterable<SourceRecord>,
  config: PipelineConfig,
  limit: number,
  tally: ReadTally,
): AsyncGenerator<PretrainExample> {
  const options = { inputDim: config.model.inputDim, maxRecordBytes: config.kafka.maxRecordBytes };
  for await (const record of raw) {
    if (tally.good >= limit) return;
    const result = decodeRecord(record, options);
    if (!result.ok) {
      tally.bad.set(result.reason, (tally.bad.get(result.reason) ?? 0) + 1);
      continue;
    }
    if (!result.labeled) {
      tally.unlabeled += 1;
      continue;
    }
    tally.good += 1;
    yield { task: result.example.task, x: result.example.x, y: result.example.y };
  }
}

async function* fromFile(path: string): AsyncGenerator<SourceRecord> {
  let line = 0;
  try {
    for await (const record of fileRecords(path)) {
      yield { topic: path, partition: 0, offset: String(line++), key: record.key === null ? null : Buffer.from(record.key), value: record.value, timestamp: 0 };
    }
  } catch (cause) {
    throw new UsageError(`--input: cannot read ${path}: ${(cause as Error).message}`);
  }
}

/**
 * Every record of `topic` from the beginning up to the end offsets it had
 * when reading started (records produced later are not waited for), read by
 * a throwaway consumer group that commits nothing and is deleted afterwards.
 */
export async function* fromTopic(kafka: Kafka, topic: string, onTotal?: (total: number) => void): AsyncGenerator<SourceRecord> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    if (!(await admin.listTopics()).includes(topic)) throw new KafkaError(`topic ${topic} does not exist`, { topic });
    const offsets = await admin.fetchTopicOffsets(topic);
    ends = new Map(offsets.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]));
    onTotal?.(offsets.reduce((n, p) => n + Number(BigInt(p.high) - BigInt(p.low)), 0));
  } finally {
    await admin.disconnect();
  }
  if (ends.size === 0) return;

  const groupId = `tangent-pretrain-${process.pid}-${Date.now()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  const queue: SourceRecord[] = [];
  let wake: (() => void) | undefined;
  let failure: unknown;
  let finished = false;
  const remaining = new Set(ends.keys());
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  // kafkajs restarts the consumer itself after a retriable crash (e.g. a coordinator still loading).
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) return;
    failure = payload.error;
    notify();
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        const end = ends.get(batch.partition);
        if (end === undefined) return;
        for (const message of batch.messages) {
          if (BigInt(message.offset) >= end) break;
          queue.push(toSourceRecord(batch.topic, batch.partition, message));
        }
        // lastOffset() also covers a batch that ends in control records (transactions, compaction).
        if (BigInt(batch.lastOffset()) + 1n >= end) remaining.delete(batch.partition);
        if (remaining.size === 0) finished = true;
        notify();
        // Backpressure: hold the fetch loop while the trainer is behind.
        while (queue.length > 50_000 && !finished) {
          await new Promise<void>((resolve) => setTimeout(resolve, 10));
          await heartbeat();
        }
      },
    });
    for (;;) {
      while (queue.length > 0) yield queue.shift()!;
      if (failure) throw new KafkaError(`reading ${topic} failed: ${(failure as Error).message}`, { topic }, { cause: failure });
      if (finished) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const cleanup = kafka.admin();
    await cleanup
      .connect()
      .then(() => cleanup.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => cleanup.disconnect());
  }
}

/** `tangent pretrain`: pretrain a trunk on a source task and save it as a TensorFlow.js artifact. */
export async function pretrainCommand(options: PretrainOptions, logger: Logger): Promise<number> {
  const source = parseSource(options.input, options.topic);
  const config = loadPipelineConfig(options.pipeline);
  const { epochs } = options;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const batchSize = options.batchSize ?? config.batch.size;
  const learningRate = options.learningRate ?? (config.model.learningRate === 'auto' ? 0.5 : config.model.learningRate);
  const seedValue = options.seed ?? config.model.seed;
  const spec = specOf(config);

  const backend = await selectBackend(config.model.backend);
  logger.info({ backend: backend.name, package: backend.source }, 'tensorflow.js backend selected');
  const from = source.kind === 'file' ? source.path : `topic ${source.topic}`;
  process.stderr.write(`tangent pretrain: reading ${from} · trunk [${spec.hidden.join(', ')}] ${spec.activation} · backend ${backend.name}\n`);

  const tty = process.stderr.isTTY === true;
  const readBar = tty ? new SingleBar({ format: 'reading  [{bar}] {value}/{total} records', stream: process.stderr }) : undefined;
  let trainBar: SingleBar | undefined;
  const tally = new ReadTally();
  const raw =
    source.kind === 'file'
      ? fromFile(source.path)
      : fromTopic(createKafka({ ...config.kafka, clientId: 'tangent-pretrain' }, logger), source.topic, (total) =>
          readBar?.start(Number.isFinite(limit) ? Math.min(total, limit) : total, 0),
        );
  async function* counted(): AsyncGenerator<PretrainExample> {
    for await (const example of decoded(raw, config, limit, tally)) {
      if (tally.good % 1000 === 0) readBar?.update(tally.good);
      yield example;
    }
    readBar?.update(tally.good);
    readBar?.stop();
    const bad =
      (tally.badTotal > 0 ? ` (skipped ${tally.badTotal} bad: ${tally.describeBad()})` : '') +
      (tally.unlabeled > 0 ? ` (skipped ${tally.unlabeled} without a label)` : '');
    process.stderr.write(`tangent pretrain: ${tally.good.toLocaleString('en-US')} examples${bad}\n`);
  }

  const onProgress = (p: PretrainProgress): void => {
    if (tty) {
      if (!trainBar) {
        trainBar = new SingleBar({ format: 'training [{bar}] epoch {epoch}/{epochs} · epoch loss {loss} · {eta_formatted} left', stream: process.stderr });
        trainBar.start(p.epochs * p.batches, 0, { epoch: 1, epochs: p.epochs, loss: '-' });
      }
      if (p.batch % 20 === 0 || p.batch === p.batches) {
        trainBar.update((p.epoch - 1) * p.batches + p.batch, { epoch: p.epoch, epochs: p.epochs, loss: p.epochLoss.toFixed(4) });
      }
    } else if (p.batch === p.batches) {
      process.stderr.write(`tangent pretrain: epoch ${p.epoch}/${p.epochs} · mean training loss ${p.epochLoss.toFixed(4)} (MSE, standardised units)\n`);
    }
  };

  let result;
  try {
    result = await pretrainTrunk({ spec, examples: counted(), epochs, batchSize, learningRate, seed: seedValue, onProgress });
  } catch (error) {
    if (error instanceof ModelError && tally.good === 0) {
      throw new ModelError(`no good records in ${from}${tally.badTotal > 0 ? ` (${tally.badTotal} bad: ${tally.describeBad()})` : ''}`);
    }
    throw error;
  } finally {
    trainBar?.stop();
  }
  saveTrunkArtifact(options.out, spec, result.trunk, {
    source: from,
    examples: result.examples,
    skippedRecords: Object.fromEntries(tally.bad),
    tasks: result.tasks,
    epochs,
    batchSize,
    learningRate,
    seed: seedValue,
    trainingMae: result.trainingMae,
    rejectedSteps: result.rejectedSteps,
    inputMean: result.inputMean,
    inputStd: result.inputStd,
    targetMean: result.targetMean,
    targetStd: result.targetStd,
  });
  // Beside tangent's own artifact, the trunk as a standard LayersModel others can load (ReLU only: tfjs layers have no erf).
  let layersNote = '';
  if (spec.activation === 'relu') {
    const model = trunkLayersModel({ spec, trunk: result.trunk, inputMean: result.inputMean, inputStd: result.inputStd });
    await saveLayersModel(model, join(options.out, 'layers'), { kind: 'tangent pretrained trunk', inputDim: spec.inputDim, hidden: spec.hidden, examples: result.examples });
    model.dispose();
    layersNote = `; LayersModel (raw features → trunk features) in ${join(options.out, 'layers')}`;
  }
  process.stderr.write(
    `tangent pretrain: trunk [${spec.hidden.join(', ')}] ${spec.activation} trained on ${result.examples.toLocaleString('en-US')} examples, ` +
      `${epochs} epochs: training MAE ${result.trainingMae.toFixed(4)} (target std ${result.targetStd.toFixed(4)}) → ${options.out}${layersNote}\n`,
  );
  return 0;
}
