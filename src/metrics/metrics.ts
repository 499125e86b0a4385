import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RejectReason } from '../pipeline/records.js';
import type { PrequentialTotals } from './stream-totals.js';

export type Stage = 'score' | 'learn' | 'publish' | 'dead_letter' | 'commit';
/** Outcome of a `POST /predict` request, as its HTTP status. */
export type PredictStatus = '200' | '400' | '405' | '413' | '415' | '500';

const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface LagSource {
  /** Per partition: latest high-water mark seen minus the committed offset. */
  lag(): Iterable<{ topic: string; partition: number; lag: number }>;
}

/**
 * Every metric tangent exports, declared once against one registry
 * (docs/metrics.md lists them). Label values are bounded: `task` by the task
 * cap, `partition` by the topic, the rest by closed unions.
 */
export class TangentMetrics {
  readonly registry = new Registry();

  readonly records = new Counter<'result'>({
    name: 'tangent_records_total',
    help: 'Records processed, by result: learned (scored, then offered to every model), dead_lettered, or unlabeled (scored and published, never learned).',
    labelNames: ['result'],
    registers: [this.registry],
  });

  readonly clippedValues = new Counter<'kind'>({
    name: 'tangent_clipped_values_total',
    help: 'Feature and target values clipped to median ± scaling.clipSigmas robust standard deviations (1.4826 x MAD of the last 64 values) before they were learned (robust scaling), by kind: feature or target.',
    labelNames: ['kind'],
    registers: [this.registry],
  });

  readonly taskEvictions = new Counter<'event'>({
    name: 'tangent_task_evictions_total',
    help: 'Idle tasks evicted for new ones when every slot was taken (model.taskIdleRecords), by event: evicted (state parked), restored (a parked task returned with its state), dropped (a parked state pushed out beyond model.maxTasks parked).',
    labelNames: ['event'],
    registers: [this.registry],
  });

  readonly deadLetters = new Counter<'reason'>({
    name: 'tangent_dead_letters_total',
    help: 'Records sent to the dead-letter topic, by reason.',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  readonly batches = new Counter({
    name: 'tangent_batches_total',
    help: 'Minibatches learned and committed.',
    registers: [this.registry],
  });

  readonly batchDuration = new Histogram({
    name: 'tangent_batch_duration_seconds',
    help: 'Time from closing a minibatch to committing it (score, learn, dead-letter, commit).',
    buckets: latencyBuckets,
    registers: [this.registry],
  });

  readonly stageDuration = new Histogram<'stage'>({
    name: 'tangent_stage_duration_seconds',
    help: 'Time spent per minibatch in each pipeline stage.',
    labelNames: ['stage'],
    buckets: latencyBuckets,
    registers: [this.registry],
  });

  readonly ingestToLearned = new Histogram({
    name: 'tangent_ingest_to_learned_seconds',
    help: "Time from a record's timestamp to the end of the batch that learned it.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly predictionsPublished = new Counter<'labeled'>({
    name: 'tangent_predictions_published_total',
    help: 'Predictions published to the predictions topic, by whether the record had a label ("true"/"false").',
    labelNames: ['labeled'],
    registers: [this.registry],
  });

  readonly recordToPrediction = new Histogram({
    name: 'tangent_record_to_prediction_seconds',
    help: "Time from a record's timestamp to its prediction being acknowledged by the predictions topic.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly predictRequests = new Counter<'status'>({
    name: 'tangent_predict_requests_total',
    help: 'POST /predict requests, by HTTP status.',
    labelNames: ['status'],
    registers: [this.registry],
  });

  readonly predictDuration = new Histogram({
    name: 'tangent_predict_request_duration_seconds',
    help: 'Time from a POST /predict request arriving to its response being written.',
    buckets: latencyBuckets,
    registers: [this.registry],
  });

  readonly absoluteError = new Counter<'task' | 'model'>({
    name: 'tangent_prequential_absolute_error_total',
    help: 'Sum of |prediction − target| over records, each predicted before it was learned.',
    labelNames: ['task', 'model'],
    registers: [this.registry],
  });

  readonly squaredError = new Counter<'task' | 'model'>({
    name: 'tangent_prequential_squared_error_total',
    help: 'Sum of (prediction − target)² over records, each predicted before it was learned.',
    labelNames: ['task', 'model'],
    registers: [this.registry],
  });

  readonly predictions = new Counter<'task' | 'model'>({
    name: 'tangent_prequential_predictions_total',
    help: 'Records scored prequentially, finite or not; the error sums cover the finite ones (see non_finite).',
    labelNames: ['task', 'model'],
    registers: [this.registry],
  });

  readonly nonFinitePredictions = new Counter<'task' | 'model'>({
    name: 'tangent_prequential_non_finite_total',
    help: 'Records whose prediction was not a finite number (counted in predictions_total, left out of the error sums).',
    labelNames: ['task', 'model'],
    registers: [this.registry],
  });

  readonly windowMae = new Gauge<'task' | 'model'>({
    name: 'tangent_prequential_mae',
    help: 'Prequential mean absolute error over the last metrics.maeWindow records of the task.',
    labelNames: ['task', 'model'],
    registers: [this.registry],
  });

  readonly sgdSteps = new Counter<'model' | 'result'>({
    name: 'tangent_sgd_steps_total',
    help: 'Learning steps (online and fine-tuning), by result: applied, or rejected by the numerical guard (weights unchanged).',
    labelNames: ['model', 'result'],
    registers: [this.registry],
  });

  readonly trainingLoss = new Gauge<'model'>({
    name: 'tangent_training_loss',
    help: "The last minibatch's training loss before its step (standardised target units).",
    labelNames: ['model'],
    registers: [this.registry],
  });

  readonly fineTunePhases = new Counter({
    name: 'tangent_fine_tune_phases_total',
    help: 'Fine-tuning phases of the shared trunk.',
    registers: [this.registry],
  });

  readonly fineTuneDuration = new Histogram({
    name: 'tangent_fine_tune_duration_seconds',
    help: 'Duration of a fine-tuning phase.',
    buckets: latencyBuckets,
    registers: [this.registry],
  });

  readonly tasks = new Gauge({
    name: 'tangent_tasks',
    help: 'Tasks with a head.',
    registers: [this.registry],
  });

  readonly inFlight = new Gauge({
    name: 'tangent_in_flight_records',
    help: 'Records fetched but not yet committed (backpressure pauses the source above the high-water mark).',
    registers: [this.registry],
  });

  readonly paused = new Gauge({
    name: 'tangent_source_paused',
    help: '1 while the source is paused for backpressure.',
    registers: [this.registry],
  });

  readonly backend = new Gauge<'backend' | 'package'>({
    name: 'tangent_backend_info',
    help: 'The TensorFlow.js backend in use (value 1).',
    labelNames: ['backend', 'package'],
    registers: [this.registry],
  });

  readonly buildInfo = new Gauge<'version' | 'backend'>({
    name: 'tangent_build_info',
    help: "tangent's version and the TensorFlow.js backend in use (value 1).",
    labelNames: ['version', 'backend'],
    registers: [this.registry],
  });

  readonly gpWindowSize = new Gauge<'task'>({
    name: 'tangent_ntkgp_window_points',
    help: "Points in the task's NTK-GP window (at most ntkgp.window).",
    labelNames: ['task'],
    registers: [this.registry],
  });

  readonly gpPointUpdate = new Histogram({
    name: 'tangent_ntkgp_point_update_seconds',
    help: 'Time to add one point to an NTK-GP window (rank-one Cholesky append, and eviction when full), averaged per batch and task.',
    buckets: [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01],
    registers: [this.registry],
  });

  readonly gpRefactorizations = new Counter<'task'>({
    name: 'tangent_ntkgp_refactorizations_total',
    help: 'Cholesky breakdowns recovered by raising the jitter and refactoring from scratch.',
    labelNames: ['task'],
    registers: [this.registry],
  });

  readonly gpPredictiveVariance = new Gauge<'task'>({
    name: 'tangent_ntkgp_predictive_variance',
    help: "Latent predictive variance of the task's first record in the last batch, before learning it (standardised target units).",
    labelNames: ['task'],
    registers: [this.registry],
  });

  readonly stabilityMargin = new Gauge<'task'>({
    name: 'tangent_lr_stability_margin',
    help: "η·(λ'_max + λ'_min)/2 of the network's last step on the task, λ' the eigenvalues of the step's (2/B)·NTK; stable below 1.",
    labelNames: ['task'],
    registers: [this.registry],
  });

  readonly learningRate = new Gauge<'task'>({
    name: 'tangent_learning_rate',
    help: "The η of the network's last step on the task's head (the trunk moves at fineTune.trunkLearningRateRatio times the smallest).",
    labelNames: ['task'],
    registers: [this.registry],
  });

  readonly driftDetections = new Counter<'task' | 'model' | 'detector'>({
    name: 'tangent_drift_detections_total',
    help: "Drift detections on a (task, model)'s prequential absolute-error stream, by detector.",
    labelNames: ['task', 'model', 'detector'],
    registers: [this.registry],
  });

  readonly checkpoints = new Counter({
    name: 'tangent_checkpoints_total',
    help: 'Checkpoints written.',
    registers: [this.registry],
  });

  readonly checkpointDuration = new Histogram({
    name: 'tangent_checkpoint_duration_seconds',
    help: 'Time to write one checkpoint (serialise, fsync, rename).',
    buckets: latencyBuckets,
    registers: [this.registry],
  });

  readonly checkpointBytes = new Gauge({
    name: 'tangent_checkpoint_bytes',
    help: 'Size of the newest checkpoint file.',
    registers: [this.registry],
  });

  readonly stateTasksPublished = new Counter({
    name: 'tangent_state_tasks_published_total',
    help: 'Task states written to the state changelog (each checkpoint writes those of the partitions the member owns).',
    registers: [this.registry],
  });

  readonly stateBytesPublished = new Counter({
    name: 'tangent_state_published_bytes_total',
    help: 'Bytes of task states (gzipped, chunks included) written to the state changelog.',
    registers: [this.registry],
  });

  readonly stateTasksRestored = new Counter({
    name: 'tangent_state_tasks_restored_total',
    help: "Task states restored from the state changelog on a partition assignment (newer than the member's own).",
    registers: [this.registry],
  });

  readonly checkpointAge: Gauge;

  readonly consumerLag: Gauge<'topic' | 'partition'>;

  readonly streamMae: Gauge<'task' | 'model'>;

  readonly streamRmse: Gauge<'task' | 'model'>;

  /** Epoch ms of the newest checkpoint (restored or written); undefined before the first. */
  lastCheckpointAt: number | undefined;

  /** Whether a fine-tuning phase of the trunk is running or owes steps now (read at scrape time). */
  fineTuning: () => boolean = () => false;

  readonly fineTuneInProgress: Gauge;

  /**
   * @param prequential - the whole-stream error per (task, model), read at
   *   scrape time (the same numbers the progress line and the summaries print)
   */
  constructor(lagSource: LagSource, prequential: () => Iterable<PrequentialTotals> = () => []) {
    const metrics = this;
    this.checkpointAge = new Gauge({
      name: 'tangent_checkpoint_age_seconds',
      help: 'Seconds since the newest checkpoint was written (absent before the first).',
      registers: [this.registry],
      collect() {
        this.reset();
        if (metrics.lastCheckpointAt !== undefined) this.set((Date.now() - metrics.lastCheckpointAt) / 1000);
      },
    });
    this.fineTuneInProgress = new Gauge({
      name: 'tangent_fine_tune_in_progress',
      help: '1 while a fine-tuning phase of the trunk runs (it hands the event loop back between its steps) or owes replay steps, else 0.',
      registers: [this.registry],
      collect() {
        this.set(metrics.fineTuning() ? 1 : 0);
      },
    });
    this.consumerLag = new Gauge<'topic' | 'partition'>({
      name: 'tangent_consumer_lag_records',
      help: 'Records behind the partition end: latest high-water mark minus the committed offset.',
      labelNames: ['topic', 'partition'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { topic, partition, lag } of lagSource.lag()) this.set({ topic, partition: String(partition) }, lag);
      },
    });
    this.streamMae = new Gauge<'task' | 'model'>({
      name: 'tangent_prequential_stream_mae',
      help: 'Prequential MAE over every record of the task since the consumer started (+Inf once a prediction was not finite).',
      labelNames: ['task', 'model'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const t of prequential()) if (t.records > 0) this.set({ task: t.task, model: t.model }, t.mae);
      },
    });
    this.streamRmse = new Gauge<'task' | 'model'>({
      name: 'tangent_prequential_stream_rmse',
      help: 'Prequential RMSE over every record of the task since the consumer started (+Inf once a prediction was not finite).',
      labelNames: ['task', 'model'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const t of prequential()) if (t.records > 0) this.set({ task: t.task, model: t.model }, t.rmse);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  countDeadLetter(reason: RejectReason): void {
    this.records.inc({ result: 'dead_lettered' });
    this.deadLetters.inc({ reason });
  }
}
