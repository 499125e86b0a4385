import { Partitioners } from 'kafkajs';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { deadLetterTopicOf, eventsTopicOf, type PipelineConfig } from './config/pipeline-config.js';
import type { DetectorConfig } from './drift/drift-detector.js';
import { createKafka } from './kafka/kafka-client.js';
import { deadLetterPublisher } from './kafka/dead-letter-publisher.js';
import { KafkaSource } from './kafka/kafka-source.js';
import { ensureTopics } from './kafka/topics.js';
import { MetricsObserver } from './metrics/metrics-observer.js';
import { NtkGpObserver } from './metrics/ntk-gp-observer.js';
import { startMetricsServer } from './metrics/metrics-server.js';
import { TangentMetrics } from './metrics/metrics.js';
import { ProgressLine } from './metrics/progress-line.js';
import { selectBackend, type BackendChoice } from './model/backend.js';
import { NtkGpBaseline } from './model/ntk-gp-baseline.js';
import { OnlineRegressor } from './model/online-regressor.js';
import { RunningMoments } from './model/running-moments.js';
import { TaskRegistry } from './model/task-registry.js';
import { learningPipeline } from './pipeline/compose-pipeline.js';
import { DriftWatch } from './pipeline/drift-watch.js';
import type { BatchObserver } from './pipeline/observe.js';
import type { Rejected } from './pipeline/records.js';

export interface RunningConsumer {
  readonly backend: BackendChoice;
  readonly metrics: TangentMetrics;
  readonly progress: ProgressLine;
  readonly network: OnlineRegressor;
  readonly metricsAddress: { host: string; port: number };
  /** Records behind the end of the assigned partitions, summed. */
  totalLag(): number;
  /** Resolves when the pipeline has ended (after stop(), or rejects on a fatal error). */
  readonly done: Promise<void>;
  /** Graceful stop: finish and commit what is in flight, leave the group, close the server. */
  stop(): Promise<void>;
}

/** Partitions for topics tangent creates itself (records, dead letters). */
const createdTopicPartitions = 3;

async function timed<T>(observe: (seconds: number) => void, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    observe((performance.now() - started) / 1000);
  }
}

export interface ConsumerOptions {
  /** Extra watchers of every learned batch (custom sinks, evaluation harnesses). */
  readonly observers?: readonly BatchObserver[];
}

/** Starts the learning consumer: the I/O edges (Kafka, HTTP) around the pure pipeline. */
export async function startConsumer(config: PipelineConfig, logger: Logger, options: ConsumerOptions = {}): Promise<RunningConsumer> {
  const backend = await selectBackend(config.model.backend);
  logger.info({ backend: backend.name, package: backend.source, skipped: backend.skipped }, 'tensorflow.js backend selected');

  const kafka = createKafka(config.kafka, logger);
  const deadLetterTopic = deadLetterTopicOf(config.kafka);
  const eventsTopic = eventsTopicOf(config);
  await ensureTopics(kafka, [config.kafka.topic, deadLetterTopic, eventsTopic], createdTopicPartitions);

  const consumer = kafka.consumer({
    groupId: config.kafka.groupId,
    sessionTimeout: config.kafka.sessionTimeoutMs,
    heartbeatInterval: Math.floor(config.kafka.sessionTimeoutMs / 3),
    maxWaitTimeInMs: config.kafka.maxWaitTimeMs,
    allowAutoTopicCreation: false,
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await Promise.all([consumer.connect(), producer.connect()]);

  let metrics: TangentMetrics | undefined;
  const source = new KafkaSource(consumer, config.kafka, logger, (paused, inFlight) => {
    metrics?.paused.set(paused ? 1 : 0);
    metrics?.inFlight.set(inFlight);
  });
  metrics = new TangentMetrics(source.offsets);
  metrics.backend.set({ backend: backend.name, package: backend.source }, 1);
  const activeMetrics = metrics;

  const spec = {
    inputDim: config.model.inputDim,
    hidden: config.model.hidden,
    headHidden: config.model.headHidden,
    activation: config.model.activation,
    sigmaW2: config.model.sigmaW2,
    sigmaB2: config.model.sigmaB2,
  };
  const network = new OnlineRegressor({
    spec,
    learningRate: config.model.learningRate,
    seed: config.model.seed,
    fineTune: { ...config.fineTune, batchSize: config.batch.size },
  });
  const baseline = config.ntkgp.enabled
    ? new NtkGpBaseline({ spec, window: config.ntkgp.window, noise: config.ntkgp.noise, learningRate: config.model.learningRate })
    : undefined;
  const tasks = new TaskRegistry(config.model.maxTasks);
  const metricsObserver = new MetricsObserver(metrics, config.metrics.maeWindow, () => tasks.size);
  const progress = new ProgressLine();
  // Drift events are informational: published in order, off the hot path; a failed send is logged, not fatal.
  let eventsPublished: Promise<unknown> = Promise.resolve();
  const driftWatch = new DriftWatch(config.drift.detectors as DetectorConfig[], config.drift.models, (events) => {
    for (const event of events) {
      activeMetrics.driftDetections.inc({ task: event.task, model: event.model, detector: event.detector });
      logger.info(event, 'drift detected');
    }
    if (config.drift.fineTuneOnDrift && events.some((e) => e.model === 'nn')) network.requestFineTune();
    eventsPublished = eventsPublished
      .then(() => producer.send({ topic: eventsTopic, messages: events.map((e) => ({ key: e.task, value: JSON.stringify(e) })) }))
      .catch((error: unknown) => logger.warn({ err: error, topic: eventsTopic }, 'cannot publish drift events'));
  });
  const publish = deadLetterPublisher(producer, deadLetterTopic);

  const pipeline = learningPipeline({
    decode: { inputDim: spec.inputDim, maxRecordBytes: config.kafka.maxRecordBytes },
    admission: tasks,
    featureMoments: new RunningMoments(spec.inputDim),
    batch: { size: config.batch.size, lingerMs: config.batch.lingerMs },
    models: baseline ? [network, baseline] : [network],
    observers: [
      metricsObserver,
      ...(baseline ? [new NtkGpObserver(baseline, metrics, config.ntkgp.marginEvery, logger)] : []),
      driftWatch,
      progress,
      ...(options.observers ?? []),
    ],
    publishDeadLetters: (rejected: readonly Rejected[]) =>
      timed((s) => activeMetrics.stageDuration.observe({ stage: 'dead_letter' }, s), () => publish(rejected)),
    committer: {
      commit: (offsets) => timed((s) => activeMetrics.stageDuration.observe({ stage: 'commit' }, s), () => source.commit(offsets)),
      completed: (count) => source.completed(count),
    },
    committedObservers: [{ observe: (batch) => metricsObserver.committed(batch) }],
  });

  let failed = false;
  const done = new Promise<void>((resolve, reject) => {
    source.records$.pipe(pipeline).subscribe({
      error: (error: unknown) => {
        failed = true;
        logger.error({ err: error }, 'pipeline failed');
        reject(error);
      },
      complete: () => resolve(),
    });
  });

  let server: Server | undefined;
  try {
    server = await startMetricsServer(
      metrics.registry,
      { live: () => !failed, ready: () => source.ready && !failed },
      config.metrics.host,
      config.metrics.port,
    );
  } catch (cause) {
    await source.drain();
    await Promise.allSettled([done, consumer.disconnect(), producer.disconnect()]);
    throw new Error(`cannot serve metrics on ${config.metrics.host}:${config.metrics.port}: ${(cause as Error).message}`);
  }
  const address = server.address();
  const metricsAddress = {
    host: config.metrics.host,
    port: typeof address === 'object' && address ? address.port : config.metrics.port,
  };
  logger.info({ topic: config.kafka.topic, groupId: config.kafka.groupId, deadLetterTopic, metrics: metricsAddress }, 'consuming');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await source.drain();
      await done.catch(() => undefined);
      await eventsPublished;
      await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      network.dispose();
      logger.info(progress.totals, 'stopped');
    })());

  const totalLag = (): number => {
    let lag = 0;
    for (const partition of source.offsets.lag()) lag += partition.lag;
    return lag;
  };

  return { backend, metrics, progress, network, metricsAddress, totalLag, done, stop };
}
