import { statSync } from 'node:fs';
import type { Server } from 'node:http';
import { Partitioners } from 'kafkajs';
import type { Logger } from 'pino';
import { CheckpointStore } from './checkpoint/checkpoint-store.js';
import { DirectoryLock } from './checkpoint/directory-lock.js';
import { prepareDirectory } from './checkpoint/prepare-directory.js';
import { ConfigError } from './errors.js';
import { validateLearningState, type LearningState } from './checkpoint/learning-state.js';
import { planRestore } from './checkpoint/restore-plan.js';
import { encodeChangelogValue } from './checkpoint/state-changelog.js';
import { TaskFloors } from './checkpoint/task-floors.js';
import type { TaskState } from './checkpoint/task-state.js';
import { newestMergedTrunk, TrunkSync, type TrunkRecord } from './checkpoint/trunk-sync.js';
import {
  checkpointDirectoryOf,
  deadLetterTopicOf,
  eventsTopicOf,
  predictionsTopicOf,
  servingAddressOf,
  stateTopicOf,
  trunkTopicOf,
  type PipelineConfig,
} from './config/pipeline-config.js';
import { CompactedTopicView } from './kafka/compacted-topic-view.js';
import { publishTaskStates, readTaskStates, readTrunkRecords } from './kafka/task-state-topic.js';
import { connectWithin, createGroupConsumer, createKafka } from './kafka/kafka-client.js';
import { deadLetterPublisher } from './kafka/dead-letter-publisher.js';
import { KafkaSource, type AssignmentRestore } from './kafka/kafka-source.js';
import { predictionsPublisher } from './kafka/predictions-publisher.js';
import { FlushableScheduler, RebalanceHandover } from './kafka/rebalance-handover.js';
import { compactedTopicConfig, ensureTopics, prepareTopics, topicMaxMessageBytes } from './kafka/topics.js';
import { spansToEnd, whenEndReached } from './kafka/end-of-stream.js';
import { LearningSession, specOf } from './learning-session.js';
import { MetricsObserver } from './metrics/metrics-observer.js';
import { startLivePage } from './metrics/live-page.js';
import { startMetricsServer, type Route } from './metrics/metrics-server.js';
import { ProgressLiveness } from './metrics/progress-liveness.js';
import { TangentMetrics } from './metrics/metrics.js';
import { tangentVersion } from './version.js';
import { LearningRateObserver } from './metrics/learning-rate-observer.js';
import { NtkGpObserver } from './metrics/ntk-gp-observer.js';
import { ProgressLine } from './metrics/progress-line.js';
import { ServingThread } from './serving/serving-thread.js';
import { SnapshotSchedule } from './serving/snapshot-schedule.js';
import { SnapshotTaker } from './serving/take-snapshot.js';
import { predictRedirect } from './serving/predict-redirect.js';
import { StreamTotals } from './metrics/stream-totals.js';
import { selectBackend, type BackendChoice } from './model/backend.js';
import { RunningMoments } from './model/running-moments.js';
import { learningPipeline } from './pipeline/compose-pipeline.js';
import { ReplayGovernor } from './pipeline/replay-governor.js';
import { IdleReplay } from './pipeline/idle-replay.js';
import type { ReplayProgress } from './model/online-model.js';
import { LearningTurns } from './pipeline/learning-turns.js';
import { nextTurn } from './model/stepwise.js';
import type { DriftEvent } from './pipeline/drift-watch.js';
import type { BatchObserver } from './pipeline/observe.js';
import type { Prediction } from './pipeline/prediction.js';

export interface RunningConsumer {
  readonly backend: BackendChoice;
  readonly metrics: TangentMetrics;
  readonly progress: ProgressLine;
  /** What this consumer did since it started: the one count behind the metrics, the progress line and the stop log. */
  readonly totals: StreamTotals;
  readonly session: LearningSession;
  /** Trunk averaging with the other members (undefined when off). */
  readonly trunkSync: TrunkSync | undefined;
  /** Per assignment: task states read from the changelog, how many replaced this member's own, how many tasks it gave up. */
  readonly restores: { readonly read: number; readonly restored: number; readonly forgotten: number }[];
  /** The checkpoint the session started from, if any. */
  readonly restoredFrom: string | undefined;
  readonly metricsAddress: { host: string; port: number };
  /** Where POST /predict listens (its own thread). */
  readonly servingAddress: { host: string; port: number };
  /** Records behind the end of the assigned partitions, summed. */
  totalLag(): number;
  /** With `untilEnd`: resolves once every record that existed at start is learned (or dead-lettered). */
  readonly endReached: Promise<void> | undefined;
  /** Resolves when the pipeline has ended (after stop(), or rejects on a fatal error). */
  readonly done: Promise<void>;
  /**
   * Graceful stop: finish the batch in flight, write a final checkpoint,
   * commit its offsets, leave the group, close the server.
   */
  stop(): Promise<void>;
}

export interface ConsumerOptions {
  /** Extra watchers of every learned batch (custom sinks, evaluation harnesses). */
  readonly observers?: readonly BatchObserver[];
  /** Watch for the end offsets that exist at start (`run --until-end`): see `endReached`. */
  readonly untilEnd?: boolean;
  /**
   * `false`: decode, batch, scale, observe, checkpoint and commit, but score and learn nothing — what the
   * pipeline costs around its models (the throughput benchmark's ingest-only run). Default true.
   */
  readonly learn?: boolean;
}

/** What a checkpoint captures: the member's whole state (the local cache) and each task's (the changelog). */
interface Snapshot {
  readonly state: LearningState;
  readonly tasks: TaskState[];
}

/** Partitions for topics tangent creates itself (records, dead letters, events). */
const createdTopicPartitions = 3;

async function timed<T>(observe: (seconds: number) => void, work: () => Promise<T> | T): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    observe((performance.now() - started) / 1000);
  }
}

/** Starts the learning consumer: the I/O edges (Kafka, HTTP, checkpoint files) around the pure pipeline. */
export async function startConsumer(config: PipelineConfig, logger: Logger, options: ConsumerOptions = {}): Promise<RunningConsumer> {
  const backend = await selectBackend(config.model.backend);
  logger.info({ backend: backend.name, package: backend.source, skipped: backend.skipped }, 'tensorflow.js backend selected');

  const checkpointDir = checkpointDirectoryOf(config);
  prepareDirectory(checkpointDir, 'checkpoint.dir');
  const lock = DirectoryLock.acquire(checkpointDir);
  try {
    return await startLocked(config, logger, options, backend, checkpointDir, lock);
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function startLocked(
  config: PipelineConfig,
  logger: Logger,
  options: ConsumerOptions,
  backend: BackendChoice,
  checkpointDir: string,
  lock: DirectoryLock,
): Promise<RunningConsumer> {
  const store = new CheckpointStore<LearningState>(checkpointDir, config.checkpoint.keep, (file, reason) =>
    logger.warn({ file, reason }, 'skipping an unreadable checkpoint; falling back to the previous one'),
  );
  const restored = store.loadLatest(validateLearningState(specOf(config)));
  if (restored) logger.info({ file: restored.file, position: restored.state.position.offsets }, 'restored learning state from checkpoint');

  // The port is taken before anything connects to Kafka, so a port in use fails the start with its own cause;
  // served before Kafka is reached: /healthz answers while the brokers are tried, /readyz only once partitions are assigned.
  let assigned: KafkaSource | undefined;
  const liveness = new ProgressLiveness(config.metrics.stallSeconds * 1000, () =>
    assigned === undefined ? 0 : assigned.flow.inFlight + assigned.offsets.unfetched(),
  );
  let failed = false;
  /** POST /predict's thread stopped: not live, so an orchestrator restarts the consumer. */
  let servingFailed = false;
  const totals = new StreamTotals();
  const metrics = new TangentMetrics({ lag: () => assigned?.offsets.lag() ?? [] }, () => totals.prequential());
  metrics.backend.set({ backend: backend.name, package: backend.source }, 1);
  for (const kind of ['feature', 'target'] as const) metrics.clippedValues.inc({ kind }, 0);
  for (const event of ['evicted', 'restored', 'dropped'] as const) metrics.taskEvictions.inc({ event }, 0);
  metrics.buildInfo.set({ version: tangentVersion, backend: backend.name }, 1);
  const livePage = startLivePage(metrics.registry);
  // POST /predict is served by a thread of its own (serving-thread.ts); here it points there.
  const routes: Route[] = [...livePage.routes];
  let server: Server;
  try {
    server = await startMetricsServer(
      metrics.registry,
      { live: () => !failed && !servingFailed && liveness.live(), ready: () => assigned !== undefined && assigned.ready && !failed },
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
  const closeServer = (): Promise<void> => {
    livePage.stop();
    return Promise.all([serving.stop(), new Promise<void>((resolve) => server.close(() => resolve()))]).then(() => undefined);
  };

  const kafka = createKafka(config.kafka, logger);
  const deadLetterTopic = deadLetterTopicOf(config.kafka);
  const eventsTopic = eventsTopicOf(config);
  const predictionsTopic = config.serving.publishPredictions ? predictionsTopicOf(config) : undefined;
  const consumer = createGroupConsumer(kafka, config.kafka);
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const admin = kafka.admin();
  let deadLetterMaxBytes: number;
  const stateTopic = config.state.changelog ? stateTopicOf(config) : undefined;
  const trunkTopic = config.state.trunkSyncBatches > 0 ? trunkTopicOf(config) : undefined;
  const stateTopics = [...(stateTopic ? [stateTopic] : []), ...(trunkTopic ? [trunkTopic] : [])];
  let stateMaxBytes = 0;
  let trunkMaxBytes = 0;
  let stateView: CompactedTopicView | undefined;
  try {
    const probe = await connectWithin(config.kafka, logger, config.kafka.connectTimeoutMs);
    try {
      const outputs = [deadLetterTopic, eventsTopic, ...(predictionsTopic ? [predictionsTopic] : [])];
      await prepareTopics(probe, { input: config.kafka.topic, createInput: config.kafka.createTopics, outputs, partitions: createdTopicPartitions }, config.kafka.brokers);
    } finally {
      await probe.disconnect();
    }
    deadLetterMaxBytes = await topicMaxMessageBytes(kafka, deadLetterTopic);
    // One partition each: every member reads all of it (a task's state must be found by whoever gets its partition).
    if (stateTopics.length > 0) await ensureTopics(kafka, stateTopics, 1, compactedTopicConfig);
    if (stateTopic) stateMaxBytes = await topicMaxMessageBytes(kafka, stateTopic);
    if (trunkTopic) trunkMaxBytes = await topicMaxMessageBytes(kafka, trunkTopic);
    await Promise.all([consumer.connect(), producer.connect(), admin.connect()]);
    if (stateTopics.length > 0) {
      stateView = new CompactedTopicView(kafka, admin, stateTopics, config.kafka.groupId, logger);
      await stateView.start();
    }
  } catch (error) {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect(), admin.disconnect(), ...(stateView ? [stateView.stop()] : [])]);
    await closeServer();
    throw error;
  }
  const spans = options.untilEnd
    ? await spansToEnd(admin, config.kafka.topic, config.kafka.groupId, config.kafka.fromBeginning, (partition) =>
        restored?.state.position.offsets.find((o) => o.topic === config.kafka.topic && o.partition === partition)?.offset,
      )
    : undefined;
  if (spans) logger.info({ spans: spans.map((s) => ({ partition: s.partition, from: s.start.toString(), to: s.end.toString() })) }, 'learning until these end offsets');

  // Drift events are informational: published in order, off the hot path; a failed send is logged, not fatal.
  let eventsPublished: Promise<unknown> = Promise.resolve();
  const onDrift = (events: readonly DriftEvent[]): void => {
    for (const event of events) {
      metrics.driftDetections.inc({ task: event.task, model: event.model, detector: event.detector });
      logger.info(event, 'drift detected');
    }
    if (config.drift.fineTuneOnDrift) session.fineTuneAfterDrift(events);
    eventsPublished = eventsPublished
      .then(() => producer.send({ topic: eventsTopic, messages: events.map((e) => ({ key: e.task, value: JSON.stringify(e) })) }))
      .catch((error: unknown) => logger.warn({ err: error, topic: eventsTopic }, 'cannot publish drift events'));
  };
  const session = new LearningSession(config, onDrift, restored?.state);
  const snapshots = new SnapshotTaker({
    spec: session.spec,
    featureMoments: session.featureMoments,
    featureBand: session.featureBand,
    network: session.network,
    baseline: session.baseline,
    modelVersion: () => learnedBatches,
  });
  /** Batches learned, the one whose observers run included (the position advances after them, in the checkpoint stage). */
  let learnedBatches = session.position.batches;
  /** Between two minibatches (or after a restore): the model as POST /predict answers from it until the next. */
  const snapshotSchedule = new SnapshotSchedule(
    () => serving.publish(snapshots.take()),
    (work) => void turns.run(work),
  );
  snapshotSchedule.now();
  session.onEviction = (event, task) => {
    metrics.taskEvictions.inc({ event });
    logger.info({ task, event }, event === 'evicted' ? 'idle task evicted for a new one (state parked)' : event === 'restored' ? 'parked task returned: state restored' : 'parked task state dropped (over model.maxTasks parked)');
  };

  const floors = new TaskFloors();
  const restores: { read: number; restored: number; forgotten: number }[] = [];
  let memberId: string | undefined;
  let groupMembers: ReadonlySet<string> = new Set();
  const publishedTrunks = (): TrunkRecord[] =>
    trunkTopic && stateView
      ? readTrunkRecords(stateView, trunkTopic, session.spec, (member, reason) => logger.warn({ topic: trunkTopic, member, reason }, 'skipping an unreadable trunk record'))
      : [];
  /** Only a member without any state of its own starts from the group's trunk. */
  let adoptGroupTrunk = !restored;
  /**
   * On every assignment: restores the assigned partitions' tasks from the
   * changelog where it is newer than what this member holds, forgets tasks
   * that moved away, and says where each partition resumes (restore-plan.ts).
   */
  const restoreAssigned = async (partitions: number[]): Promise<AssignmentRestore> => {
    const topic = config.kafka.topic;
    if (stateView) await stateView.caughtUp();
    if (trunkTopic) {
      const described = await admin.describeGroups([config.kafka.groupId]);
      groupMembers = new Set(described.groups[0]?.members.map((m) => m.memberId) ?? []);
      const newest = adoptGroupTrunk ? newestMergedTrunk(publishedTrunks(), config.state.trunkMaxAgeSeconds * 1000) : undefined;
      if (newest) {
        session.network.network.loadTrunk(newest.trunk);
        const moments = RunningMoments.fromJSON(newest.featureMoments);
        session.featureMoments.count = moments.count;
        session.featureMoments.mean.set(moments.mean);
        session.featureMoments.m2.set(moments.m2);
        logger.info({ featureRecords: moments.count }, "started from the group's newest merged trunk");
      }
      adoptGroupTrunk = false;
    }
    const changelog =
      stateTopic && stateView
        ? readTaskStates(stateView, stateTopic, session.spec, (task, reason) => logger.warn({ task, reason }, 'skipping an unreadable task state')).filter(
            (state) => state.source.topic === topic,
          )
        : [];
    const held = session.ledger.tasks().flatMap((task) => {
      const source = session.ledger.sourceOf(task)!;
      return source.topic === topic ? [{ task, partition: source.partition, offset: session.position.offsetOf(topic, source.partition) }] : [];
    });
    const plan = planRestore({ assigned: partitions, held, changelog });
    for (const task of plan.forget) session.forgetTask(task);
    session.forgetParkedOutside(topic, partitions);
    for (const state of plan.restore) session.restoreTask(state);
    floors.clear();
    for (const [task, floor] of plan.floors) floors.set(task, topic, floor.partition, floor.offset);
    // Positions of partitions this member lost are no longer its own; those it kept without any task state stand.
    const earlier = new Map(session.position.toJSON().offsets.filter((o) => o.topic === topic).map((o) => [o.partition, o.offset]));
    for (const partition of earlier.keys()) if (!partitions.includes(partition)) session.position.resumeAt(topic, partition, undefined);
    restores.push({ read: changelog.length, restored: plan.restore.length, forgotten: plan.forget.length });
    metrics.stateTasksRestored.inc(plan.restore.length);
    logger.info(
      { partitions, restoredTasks: plan.restore.map((s) => s.task), forgottenTasks: plan.forget, start: Object.fromEntries(plan.start) },
      'restored the assigned partitions',
    );
    const restoredPartitions = new Set(plan.restore.map((state) => state.source.partition));
    return {
      // Nothing learned since the newest stored checkpoint; restored task states come from the changelog.
      stored: session.position.batches <= storedBatches,
      positionOf: (partition) => plan.start.get(partition) ?? earlier.get(partition),
      // Only when no position of this member's own covers the partition.
      fromChangelog: (partition) => restoredPartitions.has(partition) && !earlier.has(partition),
      started: (partition, offset) => {
        session.position.resumeAt(topic, partition, offset);
        // Starting below the states' own position (the log was recreated or truncated): their floors no longer apply.
        const own = plan.start.get(partition);
        if (offset !== undefined && own !== undefined && BigInt(offset) < BigInt(own)) floors.dropPartition(topic, partition);
      },
    };
  };

  const turns = new LearningTurns();
  const source = new KafkaSource(
    consumer,
    // A restore replaces task states and decides positions: never in the middle of a minibatch's learning, and never
    // with a checkpoint captured between the two.
    {
      ...config.kafka,
      commitIdentity: `tangent-store:${store.id}`,
      whenPipelineFree: () => turns.whenFree(),
      exclusively: (work) => turns.run(work),
      settleInFlight: async () => {
        lingerScheduler.flushNow();
        await source.whenIdle();
      },
    },
    logger,
    async (partitions) => {
      const restore = await restoreAssigned(partitions);
      snapshotSchedule.now();
      return restore;
    },
    admin,
    (paused, inFlight) => {
      metrics.paused.set(paused ? 1 : 0);
      metrics.inFlight.set(inFlight);
    },
  );
  assigned = source;
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    memberId = payload.memberId;
  });
  if (restored) metrics.lastCheckpointAt = statSync(restored.file).mtimeMs;
  metrics.fineTuning = () => session.network.fineTuning;

  /** Batches learned up to the newest stored checkpoint. */
  let storedBatches = restored?.state.position.batches ?? 0;
  /**
   * The local file first (a cache: fast restarts), then the task states of the partitions this
   * member owns to the changelog; offsets are committed only after both.
   */
  let storing: Promise<unknown> = Promise.resolve();
  /** One checkpoint writer: the pipeline, the idle timer, a rebalance handover and stop each wait for the one before. */
  const storeSnapshot = (snapshot: Snapshot): Promise<void> => {
    const stored = storing.then(() => writeSnapshot(snapshot));
    storing = stored.catch(() => undefined);
    return stored;
  };
  const writeSnapshot = async ({ state, tasks }: Snapshot): Promise<void> => {
    const started = performance.now();
    const { file } = await store.write(state);
    storedBatches = state.position.batches;
    if (stateTopic) {
      const owned = tasks.filter((t) => source.owns(t.source.topic, t.source.partition));
      metrics.stateBytesPublished.inc(await publishTaskStates(producer, stateTopic, owned, stateMaxBytes));
      metrics.stateTasksPublished.inc(owned.length);
    }
    metrics.checkpointDuration.observe((performance.now() - started) / 1000);
    metrics.checkpoints.inc();
    metrics.checkpointBytes.set(statSync(file).size);
    metrics.lastCheckpointAt = Date.now();
  };
  const captureSnapshot = (): Snapshot => ({ state: session.capture(), tasks: stateTopic ? session.captureTasks() : [] });

  // Trunk publications go out in order, off the hot path; a failed send is logged (the next period publishes again).
  let trunkPublished: Promise<unknown> = Promise.resolve();
  const trunkSync = trunkTopic
    ? new TrunkSync(session.spec, config.state.trunkSyncBatches, config.state.trunkMaxAgeSeconds * 1000, {
        self: () => memberId,
        peers: () => groupMembers,
        published: publishedTrunks,
        trunk: () => session.network.network.trunkState(),
        loadTrunk: (trunk) => session.network.network.loadTrunk(trunk),
        featureMoments: () => session.featureMoments.toJSON(),
        featureBand: () => session.featureBand.toJSON(),
        publish: (record) => {
          trunkPublished = trunkPublished
            .then(() =>
              producer.send({
                topic: trunkTopic,
                messages: encodeChangelogValue(record.member, record, trunkMaxBytes).map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
              }),
            )
            .catch((error: unknown) => logger.warn({ err: error, topic: trunkTopic }, 'cannot publish the trunk'));
        },
      })
    : undefined;

  const metricsObserver = new MetricsObserver(metrics, config.metrics.maeWindow, () => session.tasks.size, {
    models: session.models.map((m) => m.model),
    driftModels: config.drift.models,
    detectors: config.drift.detectors.map((d) => d.kind),
  });
  const progress = new ProgressLine(totals);
  const publish = deadLetterPublisher(producer, deadLetterTopic, deadLetterMaxBytes);
  const sendPredictions = predictionsTopic ? predictionsPublisher(producer, predictionsTopic) : undefined;
  const publishPredictions = async (predictions: readonly Prediction[]): Promise<void> => {
    if (!sendPredictions) return;
    await timed((s) => metrics.stageDuration.observe({ stage: 'publish' }, s), () => sendPredictions(predictions));
    const now = Date.now();
    let labeled = 0;
    for (const p of predictions) {
      if (p.labeled) labeled += 1;
      metrics.recordToPrediction.observe(Math.max(0, now - p.ts) / 1000);
    }
    metrics.predictionsPublished.inc({ labeled: 'true' }, labeled);
    metrics.predictionsPublished.inc({ labeled: 'false' }, predictions.length - labeled);
  };
  // Timing decides the replay steps only where it already decides the batches (lingerMs > 0).
  const replayGovernor =
    config.fineTune.yieldToBacklog && config.batch.lingerMs > 0
      ? new ReplayGovernor(
          session.network,
          () =>
            assigned === undefined
              ? { waiting: 0, paused: false }
              : { waiting: assigned.flow.inFlight + assigned.offsets.unfetched(), paused: assigned.flow.paused },
          {
            steps: config.fineTune.steps,
            batchSize: config.batch.size,
          },
        )
      : undefined;
  const learningRateObserver = new LearningRateObserver(metrics, logger);
  // Also only where timing already decides the batches: deterministic replays run each phase whole in its batch's turn.
  const replayed = (progress: ReplayProgress): void => {
    metricsObserver.replayed('nn', progress);
    totals.replayed('nn', progress);
    learningRateObserver.replayed(progress);
  };
  const idleReplay =
    options.learn !== false && config.fineTune.yieldToRecords && config.batch.lingerMs > 0
      ? new IdleReplay(
          session.network,
          turns,
          (progress) => {
            replayed(progress);
            // The trunk moved since the last snapshot: POST /predict gets it once the phases owed are paid.
            if (session.network.replayOwed === 0) snapshotSchedule.afterBatch();
          },
          // What is owed is then paid before the next batch is scored, as before (pay-owed-replay.ts).
          (error) => logger.error({ err: error }, 'a replay step between minibatches failed: owed steps are paid before each batch from now on'),
        )
      : undefined;
  session.network.deferredReplay = idleReplay !== undefined;
  // lingerMs 0 = count-based batches only: the scheduler then never fires by itself, only for a rebalance handover.
  const lingerScheduler = new FlushableScheduler(config.batch.lingerMs > 0);
  const pipeline = learningPipeline<Snapshot>({
    decode: { inputDim: session.spec.inputDim, maxRecordBytes: config.kafka.maxRecordBytes },
    skip: { learned: floors, released: (count) => source.completed(count) },
    admission: session.tasks,
    scaling: { ...session.scaling, onClipped: (kind, count) => metrics.clippedValues.inc({ kind }, count) },
    batch: {
      size: config.batch.size,
      warmup: config.batch.warmup,
      formedBefore: session.position.batches,
      lingerMs: config.batch.lingerMs > 0 ? config.batch.lingerMs : Number.MAX_SAFE_INTEGER,
      scheduler: lingerScheduler,
    },
    models: options.learn === false ? [] : session.models,
    observers: [
      session.ledger,
      ...(trunkSync ? [trunkSync] : []),
      totals,
      metricsObserver,
      learningRateObserver,
      ...(session.baseline ? [new NtkGpObserver(session.baseline, metrics)] : []),
      session.driftWatch,
      ...(replayGovernor ? [replayGovernor] : []),
      ...(idleReplay ? [idleReplay] : []),
      progress,
      // Last of the model's observers: the trunk merge above may have moved the trunk.
      {
        observe: (batch) => {
          learnedBatches = batch.modelVersion + 1;
          snapshotSchedule.afterBatch();
        },
      },
      ...(options.observers ?? []),
    ],
    position: session.position,
    checkpointPolicy: {
      everyBatches: config.checkpoint.every,
      intervalMs: config.checkpoint.intervalSeconds * 1000,
      capture: captureSnapshot,
    },
    publishPredictions,
    modelVersion: () => session.position.batches,
    // The GP's standard deviation costs O(W²) per record (the mean O(W)): computed only when it is published.
    scoreUncertainty: sendPredictions !== undefined,
    publishDeadLetters: (rejected) => timed((s) => metrics.stageDuration.observe({ stage: 'dead_letter' }, s), () => publish(rejected)),
    storeCheckpoint: storeSnapshot,
    committer: {
      commit: async (offsets) => {
        await timed((s) => metrics.stageDuration.observe({ stage: 'commit' }, s), () => source.commit(offsets));
      },
      completed: (count) => source.completed(count),
    },
    // Dead letters are counted here, once published: a failed send must not show as dead-lettered.
    committedObservers: [{ observe: (batch) => metricsObserver.committed(batch) }, { observe: (batch) => totals.published(batch) }, { observe: () => liveness.progressed() }],
    turns,
    pause: nextTurn,
    ...(idleReplay ? { owedReplay: { model: session.network, replayed } } : {}),
  });

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

  // Before a rebalance moves partitions away, everything learned is checkpointed and committed (see rebalance-handover.ts).
  const handover = new RebalanceHandover({
    consumer,
    logger,
    suspend: () => source.suspend(),
    flushPartialBatch: () => lingerScheduler.flushNow(),
    whenIdle: () => source.whenIdle(),
    // In a turn of its own: an assignment's restore and seeks (also a turn) never interleave with this capture.
    checkpointAndCommit: () =>
      turns.run(async () => {
        // The heads about to move were trained with this member's trunk as it is now: that is the trunk their next owner starts from.
        if (trunkSync?.publishCurrent()) await trunkPublished;
        // The pipeline is idle (nothing emitted, nothing in flight): the state holds exactly the records up to the position.
        const snapshot = captureSnapshot();
        if (snapshot.state.position.batches > storedBatches) await storeSnapshot(snapshot);
        return source.commit(snapshot.state.position.offsets);
      }),
    stopping: () => source.isDraining,
    maxMillis: 15_000,
  });

  const disconnect = (): Promise<unknown> =>
    Promise.allSettled([consumer.disconnect(), producer.disconnect(), admin.disconnect(), ...(stateView ? [stateView.stop()] : [])]);
  const address = server.address();
  const metricsAddress = {
    host: config.metrics.host,
    port: typeof address === 'object' && address ? address.port : config.metrics.port,
  };
  logger.info({ topic: config.kafka.topic, groupId: config.kafka.groupId, deadLetterTopic, eventsTopic, predictionsTopic, metrics: metricsAddress, predict: servingAddress }, 'consuming');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(idleCheckpoints);
      idleReplay?.stop();
      endWatch?.cancel();
      await source.drain();
      const ended = await done.then(
        () => true,
        () => false,
      );
      if (ended && session.position.batches > 0) {
        // The pipeline is idle: the state holds exactly the records up to the position.
        const snapshot = captureSnapshot();
        await storeSnapshot(snapshot);
        await source.commit(snapshot.state.position.offsets).catch((error: unknown) => logger.warn({ err: error }, 'final commit failed'));
      }
      await eventsPublished;
      await trunkPublished;
      await disconnect();
      snapshotSchedule.stop();
      await closeServer();
      session.dispose();
      lock.release();
      logger.info(
        {
          learned: totals.learned,
          deadLettered: totals.deadLettered,
          rejectedSteps: Object.fromEntries(totals.rejectedSteps),
          prequential: totals.prequentialByModel(),
          allRuns: { learned: session.position.learned, deadLettered: session.position.deadLettered },
          rebalanceHandovers: handover.handovers,
        },
        'stopped',
      );
    })());

  // An idle stream is checkpointed and committed on a timer: the checkpoint stage only runs when a batch passes, so
  // without this the offsets of the last batches before a pause stay uncommitted (lag above 0) until the next record.
  // In a turn of its own, with nothing in flight: the state holds exactly the records up to the position.
  const checkpointWhenIdle = (): Promise<void> =>
    turns.run(async () => {
      if (stopping || failed || source.isDraining || source.flow.inFlight > 0) return;
      if (session.position.batches > storedBatches) {
        const snapshot = captureSnapshot();
        await storeSnapshot(snapshot);
        await source.commit(snapshot.state.position.offsets);
        return;
      }
      // Stored, but its commit was refused (the group was rebalancing) and no batch came after to carry it again.
      const owned = session.position.toJSON().offsets.filter((o) => source.owns(o.topic, o.partition));
      if (source.offsets.commitsBehind(owned)) await source.commit(owned);
    });
  const idleCheckpoints =
    config.checkpoint.intervalSeconds > 0
      ? setInterval(() => void checkpointWhenIdle().catch((error: unknown) => logger.warn({ err: error }, 'idle checkpoint failed')), config.checkpoint.intervalSeconds * 1000)
      : undefined;
  idleCheckpoints?.unref();

  const endWatch = spans
    ? whenEndReached(
        spans,
        (partition) => session.position.offsetOf(config.kafka.topic, partition),
        () => session.position.learned + session.position.deadLettered,
        () => lingerScheduler.flushNow(),
      )
    : undefined;
  void done.catch(() => endWatch?.cancel());

  const totalLag = (): number => {
    let lag = 0;
    for (const partition of source.offsets.lag()) lag += partition.lag;
    return lag;
  };

  return { backend, metrics, progress, totals, session, trunkSync, restores, restoredFrom: restored?.file, metricsAddress, servingAddress, totalLag, endReached: endWatch?.promise, done, stop };
}
