import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import { CheckpointStore } from './checkpoint/checkpoint-store.js';
import { CheckpointWriter, replayStepsOwed, type Snapshot } from './checkpoint/checkpoint-writer.js';
import { DirectoryLock } from './checkpoint/directory-lock.js';
import { prepareDirectory } from './checkpoint/prepare-directory.js';
import { validateLearningState, type LearningState } from './checkpoint/learning-state.js';
import type { TrunkSync } from './checkpoint/trunk-sync.js';
import { checkpointDirectoryOf, type PipelineConfig } from './config/pipeline-config.js';
import { publishTaskStates } from './kafka/task-state-topic.js';
import { deadLetterPublisher } from './kafka/dead-letter-publisher.js';
import { KafkaSource } from './kafka/kafka-source.js';
import { FlushableScheduler, RebalanceHandover } from './kafka/rebalance-handover.js';
import { spansToEnd, whenEndReached } from './kafka/end-of-stream.js';
import { LearningSession, specOf } from './learning-session.js';
import { MetricsObserver } from './metrics/metrics-observer.js';
import { ProgressLiveness } from './metrics/progress-liveness.js';
import { TangentMetrics } from './metrics/metrics.js';
import { timed } from './metrics/timed.js';
import { tangentVersion } from './version.js';
import { LearningRateObserver } from './metrics/learning-rate-observer.js';
import { NtkGpObserver } from './metrics/ntk-gp-observer.js';
import { ProgressLine } from './metrics/progress-line.js';
import { StreamTotals } from './metrics/stream-totals.js';
import { selectBackend, type BackendChoice } from './model/backend.js';
import { learningPipeline } from './pipeline/compose-pipeline.js';
import { ReplayGovernor } from './pipeline/replay-governor.js';
import { IdleReplay } from './pipeline/idle-replay.js';
import type { ReplayProgress } from './model/online-model.js';
import { LearningTurns } from './pipeline/learning-turns.js';
import { nextTurn } from './model/stepwise.js';
import type { BatchObserver } from './pipeline/observe.js';
import { AssignmentRestorer, type AssignmentRestoreCounts } from './app/assignment-restorer.js';
import { CheckpointNow } from './app/checkpoint-now.js';
import { DriftReaction } from './app/drift-reaction.js';
import { startEndpoints } from './app/endpoints.js';
import { GroupTrunk } from './app/group-trunk.js';
import { applyHeapGrowth } from './app/heap-growth.js';
import { startIdleCheckpoints } from './app/idle-checkpoints.js';
import { connectKafka, type KafkaConnections } from './app/kafka-connections.js';
import { measuredPredictions } from './app/prediction-publishing.js';
import type { PredictionColumns } from './pipeline/prediction.js';
import type { Rejected } from './pipeline/records.js';
import { untilDelivered, warnEachRetry } from './kafka/until-delivered.js';
import { ServingSnapshots } from './app/serving-snapshots.js';

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
  readonly restores: readonly AssignmentRestoreCounts[];
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

/** Starts the learning consumer: the I/O edges (Kafka, HTTP, checkpoint files) around the pure pipeline. */
export async function startConsumer(config: PipelineConfig, logger: Logger, options: ConsumerOptions = {}): Promise<RunningConsumer> {
  applyHeapGrowth(config.heapGrowthPercent);
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

  // Served before Kafka is reached: /healthz answers while the brokers are tried, /readyz only once partitions are assigned.
  let assigned: KafkaSource | undefined;
  const liveness = new ProgressLiveness(config.metrics.stallSeconds * 1000, () => assigned?.waiting ?? 0);
  let failed = false;
  const totals = new StreamTotals();
  const metrics = new TangentMetrics({ lag: () => assigned?.offsets.lag() ?? [] }, () => totals.prequential());
  metrics.backend.set({ backend: backend.name, package: backend.source }, 1);
  for (const kind of ['feature', 'target'] as const) metrics.clippedValues.inc({ kind }, 0);
  for (const event of ['evicted', 'restored', 'dropped'] as const) metrics.taskEvictions.inc({ event }, 0);
  metrics.buildInfo.set({ version: tangentVersion, backend: backend.name }, 1);
  const endpoints = await startEndpoints(
    config,
    metrics,
    { live: () => !failed && liveness.live(), ready: () => assigned !== undefined && assigned.ready && !failed },
    logger,
  );
  const { serving, metricsAddress, servingAddress } = endpoints;

  let kafka: KafkaConnections;
  try {
    kafka = await connectKafka(config, logger);
  } catch (error) {
    await endpoints.close();
    throw error;
  }
  const { consumer, producer, admin } = kafka;
  const spans = options.untilEnd
    ? await spansToEnd(admin, config.kafka.topic, config.kafka.groupId, config.kafka.fromBeginning, (partition) =>
        restored?.state.position.offsets.find((o) => o.topic === config.kafka.topic && o.partition === partition)?.offset,
      )
    : undefined;
  if (spans) logger.info({ spans: spans.map((s) => ({ partition: s.partition, from: s.start.toString(), to: s.end.toString() })) }, 'learning until these end offsets');

  const drift = new DriftReaction({
    metrics,
    logger,
    producer,
    topic: kafka.events,
    fineTune: config.drift.fineTuneOnDrift ? (events) => session.fineTuneAfterDrift(events) : undefined,
  });
  const session = new LearningSession(config, drift.react, restored?.state);
  const turns = new LearningTurns();
  const snapshots = new ServingSnapshots(session, serving, turns);
  snapshots.now();
  session.onEviction = (event, task) => {
    metrics.taskEvictions.inc({ event });
    logger.info({ task, event }, event === 'evicted' ? 'idle task evicted for a new one (state parked)' : event === 'restored' ? 'parked task returned: state restored' : 'parked task state dropped (over model.maxTasks parked)');
  };
  session.onCompiledStepsOff = (reason) => logger.warn({ reason }, 'model steps run kernel by kernel: the same numbers, slower');

  const groupTrunk =
    kafka.trunk && kafka.stateView
      ? new GroupTrunk({
          config,
          session,
          consumer,
          producer,
          admin,
          view: kafka.stateView,
          topic: kafka.trunk.name,
          maxMessageBytes: kafka.trunk.maxMessageBytes,
          restored: restored !== undefined,
          logger,
        })
      : undefined;
  const stateTopic = kafka.state;
  const writer: CheckpointWriter = new CheckpointWriter({
    store,
    storedBatches: restored?.state.position.batches ?? 0,
    storedReplayOwed: restored ? replayStepsOwed(restored.state) : 0,
    capture: () => ({ state: session.capture(), tasks: stateTopic ? session.captureTasks() : [] }),
    changelog: stateTopic && {
      owns: (topic, partition) => source.owns(topic, partition),
      // A checkpoint is committed only once its task states are in the changelog: kept, not dropped, across an outage.
      publish: (tasks) =>
        untilDelivered(() => publishTaskStates(producer, stateTopic.name, tasks, stateTopic.maxMessageBytes), warnEachRetry(logger, stateTopic.name, 'task states')),
    },
    metrics,
  });
  const restorer = new AssignmentRestorer({
    topic: config.kafka.topic,
    session,
    view: kafka.stateView,
    stateTopic: stateTopic?.name,
    groupTrunk,
    storedBatches: () => writer.storedBatches,
    metrics,
    logger,
  });

  const source: KafkaSource = new KafkaSource(
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
      const restore = await restorer.restore(partitions);
      snapshots.now();
      return restore;
    },
    admin,
    (paused, inFlight) => {
      metrics.paused.set(paused ? 1 : 0);
      metrics.inFlight.set(inFlight);
    },
  );
  assigned = source;
  const checkpoints = new CheckpointNow({
    writer,
    source,
    position: session.position,
    replayOwed: () => session.network.replayOwed,
    ...(groupTrunk ? { publishTrunk: () => groupTrunk.publishNow() } : {}),
    logger,
  });
  if (restored) metrics.lastCheckpointAt = statSync(restored.file).mtimeMs;
  metrics.fineTuning = () => session.network.fineTuning;

  const metricsObserver = new MetricsObserver(metrics, config.metrics.maeWindow, () => session.tasks.size, {
    models: session.models.map((m) => m.model),
    driftModels: config.drift.models,
    detectors: config.drift.detectors.map((d) => d.kind),
  });
  const progress = new ProgressLine(totals);
  const sendDeadLetters = deadLetterPublisher(producer, kafka.deadLetters.name, kafka.deadLetters.maxMessageBytes);
  const publishDeadLetters = (rejected: readonly Rejected[]): Promise<void> =>
    untilDelivered(() => sendDeadLetters(rejected), warnEachRetry(logger, kafka.deadLetters.name, 'dead letters'));
  const predictions = kafka.predictions;
  const sendPredictions = predictions ? (batch: PredictionColumns) => predictions.send(batch) : undefined;
  // Timing decides the replay steps only where it already decides the batches (lingerMs > 0).
  const replayGovernor =
    config.fineTune.yieldToBacklog && config.batch.lingerMs > 0
      ? new ReplayGovernor(
          session.network,
          () =>
            assigned === undefined
              ? { waiting: 0, paused: false, logEndReadings: 0 }
              : {
                  waiting: assigned.waiting,
                  paused: assigned.flow.paused,
                  logEndReadings: assigned.offsets.logEndReadings,
                },
          {
            steps: config.fineTune.steps,
            batchSize: config.batch.size,
          },
        )
      : undefined;
  const learningRateObserver = new LearningRateObserver(metrics, logger);
  const replayed = (progress: ReplayProgress): void => {
    metricsObserver.replayed('nn', progress);
    totals.replayed('nn', progress);
    learningRateObserver.replayed(progress);
  };
  const idleReplay =
    options.learn !== false && config.fineTune.yieldToRecords
      ? new IdleReplay(
          session.network,
          turns,
          (progress) => {
            replayed(progress);
            // The trunk moved since the last snapshot: POST /predict gets it once the phases owed are paid.
            if (session.network.replayOwed === 0) snapshots.modelChanged();
          },
          // What is owed is then paid before the next batch is scored, all of it (pay-owed-replay.ts).
          (error) => {
            session.network.overlapNewestPhase = false;
            logger.error({ err: error }, 'a replay step between minibatches failed: owed steps are paid before each batch from now on');
          },
        )
      : undefined;
  session.network.deferredReplay = idleReplay !== undefined;
  // Where batches already depend on timing, a batch need not wait for the newest phase (OnlineRegressor.overlapNewestPhase).
  session.network.overlapNewestPhase = idleReplay !== undefined && config.batch.lingerMs > 0;
  // lingerMs 0 = count-based batches only: the scheduler then never fires by itself, only for a rebalance handover.
  const lingerScheduler = new FlushableScheduler(config.batch.lingerMs > 0);
  const pipeline = learningPipeline<Snapshot>({
    decode: { inputDim: session.spec.inputDim, maxRecordBytes: config.kafka.maxRecordBytes },
    skip: { learned: restorer.floors, released: (count) => source.completed(count) },
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
      ...(groupTrunk ? [groupTrunk.sync] : []),
      totals,
      metricsObserver,
      learningRateObserver,
      ...(session.baseline ? [new NtkGpObserver(session.baseline, metrics)] : []),
      session.driftWatch,
      ...(replayGovernor ? [replayGovernor] : []),
      ...(idleReplay ? [idleReplay] : []),
      progress,
      // Last of the model's observers: the trunk merge above may have moved the trunk.
      snapshots,
      ...(options.observers ?? []),
    ],
    position: session.position,
    checkpointPolicy: {
      everyBatches: config.checkpoint.every,
      intervalMs: config.checkpoint.intervalSeconds * 1000,
      capture: () => writer.capture(),
    },
    publishPredictions: sendPredictions ? measuredPredictions(sendPredictions, metrics) : () => Promise.resolve(),
    modelVersion: () => session.position.batches,
    // The GP's standard deviation costs O(W²) per record (the mean O(W)): computed only when it is published.
    scoreUncertainty: sendPredictions !== undefined,
    publishDeadLetters: (rejected) => timed((s) => metrics.stageDuration.observe({ stage: 'dead_letter' }, s), () => publishDeadLetters(rejected)),
    storeCheckpoint: (snapshot) => writer.store(snapshot),
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
    // Always: a checkpoint taken while phases owed steps restores them owed, whatever this run's settings.
    ...(options.learn !== false ? { owedReplay: { model: session.network, replayed } } : {}),
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
    checkpointAndCommit: () => turns.run(() => checkpoints.handover()),
    stopping: () => source.isDraining,
    maxMillis: 15_000,
  });

  logger.info(
    { topic: config.kafka.topic, groupId: config.kafka.groupId, deadLetterTopic: kafka.deadLetters.name, eventsTopic: kafka.events, predictionsTopic: kafka.predictions?.topic, metrics: metricsAddress, predict: servingAddress },
    'consuming',
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      stopIdleCheckpoints();
      idleReplay?.stop();
      endWatch?.cancel();
      await source.drain();
      const ended = await done.then(
        () => true,
        () => false,
      );
      if (ended && session.position.batches > 0) await checkpoints.stop();
      await drift.published();
      await groupTrunk?.sent();
      await kafka.disconnect();
      snapshots.stop();
      await endpoints.close();
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

  const stopIdleCheckpoints = startIdleCheckpoints({
    intervalMs: config.checkpoint.intervalSeconds * 1000,
    turns,
    source,
    checkpoints,
    halted: () => stopping !== undefined || failed,
    logger,
  });

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

  return {
    backend,
    metrics,
    progress,
    totals,
    session,
    trunkSync: groupTrunk?.sync,
    restores: restorer.restores,
    restoredFrom: restored?.file,
    metricsAddress,
    servingAddress,
    totalLag,
    endReached: endWatch?.promise,
    done,
    stop,
  };
}
