import { z } from 'zod';

/**
 * The pipeline configuration: one YAML file, validated at start. Every field
 * has a default so the built-in demo runs with an empty file; a bad value
 * fails at start with the field's path named (see load-pipeline-config.ts).
 */
const positiveInt = z.number().int().positive();

/**
 * SASL authentication. The password never sits in the pipeline file: it is
 * read at start from a file (a mounted secret) or an environment variable.
 */
const saslSchema = z
  .object({
    mechanism: z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(['plain', 'scram-sha-256', 'scram-sha-512'])),
    username: z.string().min(1),
    /** A file holding the password (trailing newline ignored), e.g. a mounted Kubernetes secret. */
    passwordFile: z.string().min(1).optional(),
    /** The name of an environment variable holding the password. */
    passwordEnv: z.string().min(1).optional(),
    password: z.never({ error: 'a password is never written in the pipeline file: give passwordFile or passwordEnv' }).optional(),
  })
  .strict()
  .refine((s) => (s.passwordFile === undefined) !== (s.passwordEnv === undefined), {
    message: 'give exactly one of passwordFile and passwordEnv',
    path: ['passwordFile'],
  });

/** TLS to the brokers; PEM files, read at start. */
const sslSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** CA bundle to trust instead of the system's (a private CA). */
    caFile: z.string().min(1).optional(),
    /** Client certificate and key, for mutual TLS: both or neither. */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** Verify the broker's certificate; turn off only against a test broker. */
    rejectUnauthorized: z.boolean().default(true),
  })
  .strict()
  .refine((s) => (s.certFile === undefined) === (s.keyFile === undefined), {
    message: 'certFile and keyFile go together (mutual TLS)',
    path: ['keyFile'],
  });

const kafkaSchema = z
  .object({
    brokers: z.array(z.string().min(1)).min(1).default(['127.0.0.1:9092']),
    clientId: z.string().min(1).default('tangent'),
    topic: z.string().min(1).default('tangent.records'),
    /** Also names the checkpoint directory `<checkpoint.dir>/<groupId>/`, so no path separators. */
    groupId: z
      .string()
      .min(1)
      .refine((g) => !/[/\\\0]/.test(g) && g !== '.' && g !== '..', {
        message: 'must not contain "/", "\\" or NUL, nor be "." or "..": it names a directory under checkpoint.dir',
      })
      .default('tangent'),
    /** Where bad records go; defaults to `<topic>.dlq`. */
    deadLetterTopic: z.string().min(1).optional(),
    fromBeginning: z.boolean().default(true),
    /** Pause fetching above this many records in flight, resume below lowWaterMark. */
    highWaterMark: positiveInt.default(20_000),
    lowWaterMark: positiveInt.default(5_000),
    maxWaitTimeMs: positiveInt.default(100),
    sessionTimeoutMs: positiveInt.default(30_000),
    /** At start, give up reaching the brokers after this long (with a readable error naming them). */
    connectTimeoutMs: positiveInt.default(15_000),
    /** Create the input topic when it is missing; off by default so a typo in `topic` fails at start. */
    createTopics: z.boolean().default(false),
    /** Records larger than this are dead-lettered with reason `too_large`. */
    maxRecordBytes: positiveInt.default(64 * 1024),
    sasl: saslSchema.optional(),
    ssl: sslSchema.optional(),
  })
  .strict()
  .refine((k) => k.lowWaterMark < k.highWaterMark, {
    message: 'lowWaterMark must be below highWaterMark',
    path: ['lowWaterMark'],
  });

const modelSchema = z
  .object({
    inputDim: positiveInt.default(10),
    hidden: z.array(positiveInt).default([64, 64]),
    headHidden: z.array(positiveInt).default([]),
    activation: z.enum(['relu', 'erf']).default('relu'),
    sigmaW2: z.number().positive().default(2),
    sigmaB2: z.number().nonnegative().default(0.1),
    /**
     * η: SGD learning rate of the heads. `auto` derives it per task and step from the NTK
     * spectrum of the step (η = learningRateSafety · 2/(λ'_max + λ'_min), docs/model.md).
     */
    learningRate: z.union([z.literal('auto'), z.number().positive()]).default('auto'),
    /** Under `learningRate: auto`, the stability margin η·(λ'_max + λ'_min)/2 the rate keeps. */
    learningRateSafety: z.number().positive().max(1).default(0.7),
    /** `zero`: each new head's read-out starts at 0, so it predicts the task's running mean until it learns. */
    readout: z.enum(['zero', 'random']).default('zero'),
    /**
     * In-batch look-ahead (docs/model.md): each record is scored as if the head had taken a linearised
     * one-record step of this gain on every earlier record of its batch; 0 = off.
     */
    lookahead: z.number().min(0).max(1).default(0.2),
    maxTasks: positiveInt.default(64),
    /**
     * When every task slot is taken, the least recently seen task, without a record among the last
     * this many records (and none in the minibatch being formed), is evicted for a new one: its state is parked (kept in the checkpoint and the state
     * changelog) and restored when it returns. 0 = never evict.
     */
    taskIdleRecords: z.number().int().nonnegative().default(50_000),
    /** Directory of a trunk saved by `tangent pretrain`; must match this model's trunk spec. */
    pretrainedTrunk: z.string().min(1).optional(),
    seed: z.number().int().nonnegative().default(42),
    /** `auto` picks the first that loads of tensorflow-gpu, tensorflow (native), wasm, cpu. */
    backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
    /**
     * On the native backend, run each model step as one call into a TensorFlow graph recorded from its
     * kernels (the same numbers, checked; ~2.5× faster steps) instead of one call per kernel.
     */
    compiledSteps: z.boolean().default(true),
  })
  .strict();

const fineTuneSchema = z
  .object({
    /** A fine-tuning phase every this many batches' worth of learned records (× `batch.size`); 0 = only when drift asks for one. */
    every: z.number().int().nonnegative().default(1),
    steps: positiveInt.default(7),
    /** ρ: the trunk learns at ρ·η during a phase (below 1 to keep a pretrained trunk's features). */
    trunkLearningRateRatio: z.number().positive().max(1).default(1),
    replayPerTask: positiveInt.default(1000),
    /**
     * While the backlog grows (records arriving faster than they are learned), phases take fewer
     * steps, down to none, and get them back as it shrinks (replay-governor.ts). Only with
     * `batch.lingerMs` > 0: deterministic replays keep every step.
     */
    yieldToBacklog: z.boolean().default(true),
    /**
     * A due phase's steps are owed, not run in its minibatch's turn, and run one at a time whenever no
     * minibatch waits (pipeline/idle-replay.ts): a record arriving meanwhile waits for one step, not a
     * phase. With `batch.lingerMs` 0, what is still owed when the next minibatch arrives is paid
     * before it is scored (the weights are those of whole phases, whatever the timing); with
     * `batch.lingerMs` > 0 (batches timed anyway) only the phases older than the newest are, and the
     * newest overlaps the minibatch. What is owed is saved in checkpoints.
     */
    yieldToRecords: z.boolean().default(true),
  })
  .strict();

const ntkGpSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Window W per task: the GP keeps the W most recent points (O(W²) memory, O(W²) per point). */
    window: positiveInt.default(256),
    /** Noise variance s on the kernel diagonal, in standardised target units. */
    noise: z.number().nonnegative().default(0.1),
    /** With an explicit model.learningRate: estimate its stability margin on one network step in this many. */
    marginEvery: positiveInt.default(20),
  })
  .strict();

/** Each detector's parameters, all optional (River's defaults); ranges are checked by the detector itself. */
export const detectorSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('adwin'),
      delta: z.number().optional(),
      clock: z.number().optional(),
      maxBuckets: z.number().optional(),
      minWindowLength: z.number().optional(),
      gracePeriod: z.number().optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('page-hinkley'),
      minInstances: z.number().optional(),
      delta: z.number().optional(),
      threshold: z.number().optional(),
      alpha: z.number().optional(),
      mode: z.enum(['up', 'down', 'both']).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('kswin'),
      alpha: z.number().optional(),
      windowSize: z.number().optional(),
      statSize: z.number().optional(),
      seed: z.number().optional(),
    })
    .strict(),
]);

const driftSchema = z
  .object({
    /** Detectors run on each (task, model) prequential absolute-error stream. */
    // ADWIN alone by default: with River's parameters it has ~0.6 false alarms per 10,000 records on
    // the network's error stream, Page-Hinkley ~28 and KSWIN ~13 (BENCHMARKS.md, drift delays), and
    // every alarm on the network renews a task's replay and runs a fine-tuning phase.
    detectors: z.array(detectorSchema).default([{ kind: 'adwin' }]),
    models: z.array(z.enum(['nn', 'ntkgp'])).default(['nn', 'ntkgp']),
    /** A detection on the network's errors asks for a fine-tuning phase of the trunk. */
    fineTuneOnDrift: z.boolean().default(true),
    /** Where detections are published as JSON events; defaults to `<topic>.events`. */
    eventsTopic: z.string().min(1).optional(),
  })
  .strict();

const checkpointSchema = z
  .object({
    /** Checkpoints go to `<dir>/<groupId>/`; a relative dir is relative to the working directory. */
    dir: z.string().min(1).default('checkpoints'),
    /** Checkpoint every this many batches (0 = not by count)... */
    every: z.number().int().nonnegative().default(200),
    /** ...or after this many seconds (0 = not by time), whichever comes first; always on shutdown. */
    intervalSeconds: z.number().nonnegative().default(10),
    /** How many checkpoints to keep; a corrupt newest one falls back to the previous. */
    keep: positiveInt.default(3),
    /**
     * Members of one group must not share checkpoints: with a shared `dir` (one volume for all
     * replicas) give each member its own id, and its checkpoints go to `<dir>/<groupId>/<instanceId>/`.
     */
    instanceId: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only').optional(),
  })
  .strict();

const scalingSchema = z
  .object({
    /**
     * Robust scaling: a feature or target further than this many robust standard deviations
     * (1.4826 × the median absolute deviation of its last 64 values) from their median is clipped
     * to that distance before it updates the moments or is learned (counted in
     * tangent_clipped_values_total); 0 = no clipping.
     */
    clipSigmas: z.number().nonnegative().default(6),
    /**
     * Values a feature's (or a task's target) window must hold before clipping applies. Small: an
     * outlier among these first values is learned unclipped (a median and MAD are meaningful from a handful).
     */
    warmup: z.number().int().nonnegative().default(8),
  })
  .strict();

const stateSchema = z
  .object({
    /**
     * Keep each task's state in a compacted changelog topic (the source of truth; local
     * checkpoints are a cache), so a task's state moves with its partition between members.
     */
    changelog: z.boolean().default(true),
    /** The changelog topic; defaults to `<groupId>.state`. */
    topic: z.string().min(1).optional(),
    /** The shared-trunk topic; defaults to `<groupId>.trunk`. */
    trunkTopic: z.string().min(1).optional(),
    /** Publish the trunk and merge the other members' every this many learned batches (0 = no trunk sync). */
    trunkSyncBatches: z.number().int().nonnegative().default(20),
    /** Trunks published longer ago than this are left out of the average. */
    trunkMaxAgeSeconds: z.number().positive().default(120),
  })
  .strict();

const batchSchema = z
  .object({
    size: positiveInt.default(64),
    /** Cold start: the stream's first batches hold 1, 2, 4, ... records, up to `size`. */
    warmup: z.boolean().default(true),
    /** Flush a partial batch this long after its first record; 0 = count-based only (deterministic replay). */
    lingerMs: z.number().int().nonnegative().default(200),
  })
  .strict();

const metricsSchema = z
  .object({
    port: z.number().int().min(0).max(65535).default(9464),
    host: z.string().min(1).default('127.0.0.1'),
    /** Records in the sliding window behind the `tangent_prequential_mae` gauge. */
    maeWindow: positiveInt.default(1000),
    /**
     * /healthz fails once the consumer has had records to process (in flight or not yet fetched)
     * and finished no batch for this long; 0 = never (liveness only reflects a failed pipeline).
     */
    stallSeconds: z.number().nonnegative().default(120),
  })
  .strict();

const servingSchema = z
  .object({
    /** Publish every scored record's prediction (labeled or not) to the predictions topic. */
    publishPredictions: z.boolean().default(true),
    /** Where predictions go; defaults to `<topic>.predictions`. */
    predictionsTopic: z.string().min(1).optional(),
    /** `POST /predict` listens here, on a thread of its own; default: `metrics.host`. */
    host: z.string().min(1).optional(),
    /** `POST /predict`'s port; default: `metrics.port` + 1 (0 when `metrics.port` is 0: any free port). */
    port: z.number().int().min(0).max(65535).optional(),
    /** `POST /predict`: bodies above this many bytes are refused with 413. */
    maxRequestBytes: positiveInt.default(1024 * 1024),
    /** `POST /predict`: at most this many records per request. */
    maxRequestRecords: positiveInt.default(1000),
  })
  .strict();

export const pipelineConfigSchema = z
  .object({
    kafka: kafkaSchema.default(() => kafkaSchema.parse({})),
    model: modelSchema.default(() => modelSchema.parse({})),
    fineTune: fineTuneSchema.default(() => fineTuneSchema.parse({})),
    ntkgp: ntkGpSchema.default(() => ntkGpSchema.parse({})),
    drift: driftSchema.default(() => driftSchema.parse({})),
    checkpoint: checkpointSchema.default(() => checkpointSchema.parse({})),
    state: stateSchema.default(() => stateSchema.parse({})),
    batch: batchSchema.default(() => batchSchema.parse({})),
    metrics: metricsSchema.default(() => metricsSchema.parse({})),
    serving: servingSchema.default(() => servingSchema.parse({})),
    scaling: scalingSchema.default(() => scalingSchema.parse({})),
    /** Seconds between the one-line progress summaries on stderr; 0 = off. */
    summaryIntervalSeconds: z.number().nonnegative().default(5),
    /**
     * How far V8's old generation may grow past what the last major collection kept before the next one,
     * in percent (heap-growth.ts); 0 = V8's own heuristic.
     */
    heapGrowthPercent: z.number().int().min(0).max(400).default(15),
  })
  .strict()
  .superRefine((config, context) => {
    // With count-based batches only, a partial minibatch closes only when batch.size records have
    // arrived; if the source is paused with it in flight above the low-water mark, nothing ever
    // completes and the source never resumes.
    if (config.batch.lingerMs === 0 && config.kafka.lowWaterMark < config.batch.size - 1) {
      context.addIssue({
        code: 'custom',
        path: ['kafka', 'lowWaterMark'],
        message:
          `with batch.lingerMs 0 it must be at least batch.size − 1 (${config.batch.size - 1}), or the source can stay paused ` +
          `for good with a partial batch in flight; raise it or give batch.lingerMs a value above 0`,
      });
    }
  });

export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;
export type KafkaConfig = PipelineConfig['kafka'];

export function eventsTopicOf(config: PipelineConfig): string {
  return config.drift.eventsTopic ?? `${config.kafka.topic}.events`;
}

/** Where this member's checkpoints live: `<dir>/<groupId>/[<instanceId>/]`. */
export function checkpointDirectoryOf(config: PipelineConfig): string {
  return [config.checkpoint.dir, config.kafka.groupId, config.checkpoint.instanceId].filter((part) => part !== undefined).join('/');
}

export function predictionsTopicOf(config: PipelineConfig): string {
  return config.serving.predictionsTopic ?? `${config.kafka.topic}.predictions`;
}

/** Where `POST /predict` listens: `serving.host`/`serving.port`, by default the metrics host and the metrics port + 1. */
export function servingAddressOf(config: Pick<PipelineConfig, 'metrics' | 'serving'>): { host: string; port: number } {
  const { metrics, serving } = config;
  return { host: serving.host ?? metrics.host, port: serving.port ?? (metrics.port === 0 ? 0 : metrics.port + 1) };
}

export function stateTopicOf(config: PipelineConfig): string {
  return config.state.topic ?? `${config.kafka.groupId}.state`;
}

export function trunkTopicOf(config: PipelineConfig): string {
  return config.state.trunkTopic ?? `${config.kafka.groupId}.trunk`;
}

export function deadLetterTopicOf(kafka: KafkaConfig): string {
  return kafka.deadLetterTopic ?? `${kafka.topic}.dlq`;
}
