import type { PipelineConfig } from './config/pipeline-config.js';
import type { LearningState, ParkedTask } from './checkpoint/learning-state.js';
import { StreamPosition } from './checkpoint/stream-position.js';
import { TaskLedger } from './checkpoint/task-ledger.js';
import { taskStateFormat, type TaskState } from './checkpoint/task-state.js';
import type { DetectorConfig } from './drift/create-detector.js';
import type { ArchitectureSpec } from './spec/architecture-spec.js';
import { NtkGpBaseline } from './model/ntk-gp-baseline.js';
import type { ModelStateField, OnlineModel } from './model/online-model.js';
import { OnlineRegressor } from './model/online-regressor.js';
import { RunningMoments } from './model/running-moments.js';
import { bandWindow, TargetBands, type ClipPolicy } from './model/outlier-clipping.js';
import { RobustBand } from './model/robust-band.js';
import type { ScaleParts } from './pipeline/scale.js';
import { TaskRegistry } from './model/task-registry.js';
import { loadTrunkArtifact } from './model/trunk-artifact.js';
import { DriftWatch, type DriftEvent } from './pipeline/drift-watch.js';

export function specOf(config: PipelineConfig): ArchitectureSpec {
  const { inputDim, hidden, headHidden, activation, sigmaW2, sigmaB2 } = config.model;
  return { inputDim, hidden, headHidden, activation, sigmaW2, sigmaB2 };
}

/**
 * Everything that learns, in one place: the network, the NTK-GP baseline,
 * the feature moments, the task registry, the drift detectors and the stream
 * position — built fresh or from a checkpoint, and captured back into one.
 */
export class LearningSession {
  readonly spec: ArchitectureSpec;
  readonly network: OnlineRegressor;
  readonly baseline: NtkGpBaseline | undefined;
  readonly featureMoments: RunningMoments;
  /** The band features are clipped to before they are learned (robust-band.ts). */
  readonly featureBand: RobustBand;
  readonly targetBands: TargetBands;
  readonly clipPolicy: ClipPolicy;
  readonly tasks: TaskRegistry;
  readonly driftWatch: DriftWatch;
  readonly position: StreamPosition;
  /** Each task's partition and learned count: what moves a task's state with its partition. */
  readonly ledger: TaskLedger;
  /** Evicted tasks' states, least recently evicted first, at most `model.maxTasks`. */
  private readonly parked = new Map<string, ParkedTask>();
  private readonly parkedLimit: number;
  /** Told of each eviction, each parked task restored, and each parked state dropped beyond the limit. */
  onEviction: (event: 'evicted' | 'restored' | 'dropped', task: string) => void = () => undefined;
  /** Told why, when model steps (or some of them) fall back from TensorFlow graphs to running kernel by kernel. */
  onCompiledStepsOff: (reason: string) => void = () => undefined;

  constructor(config: PipelineConfig, onDrift: (events: readonly DriftEvent[]) => void, saved?: LearningState) {
    this.spec = specOf(config);
    this.network = new OnlineRegressor(
      {
        spec: this.spec,
        learningRate: config.model.learningRate,
        learningRateSafety: config.model.learningRateSafety,
        marginEvery: config.ntkgp.marginEvery,
        readout: config.model.readout,
        lookahead: config.model.lookahead,
        seed: config.model.seed,
        fineTune: { ...config.fineTune, batchSize: config.batch.size },
        compiledSteps: config.model.compiledSteps,
        onCompiledStepsOff: (reason) => this.onCompiledStepsOff(reason),
      },
      saved?.network,
    );
    // A checkpoint wins over the pretrained trunk: it holds the trunk as fine-tuned since.
    if (!saved && config.model.pretrainedTrunk) this.network.network.loadTrunk(loadTrunkArtifact(config.model.pretrainedTrunk, this.spec));
    this.baseline = config.ntkgp.enabled
      ? new NtkGpBaseline(
          { spec: this.spec, window: config.ntkgp.window, noise: config.ntkgp.noise },
          saved?.ntkgp ?? undefined,
        )
      : undefined;
    this.featureMoments = saved ? RunningMoments.fromJSON(saved.featureMoments) : new RunningMoments(this.spec.inputDim);
    this.featureBand = saved?.featureBand ? RobustBand.fromJSON(saved.featureBand, bandWindow) : new RobustBand(this.spec.inputDim, bandWindow);
    this.clipPolicy = { sigmas: config.scaling.clipSigmas, warmup: config.scaling.warmup };
    this.targetBands = new TargetBands(this.clipPolicy, saved?.targetBands);
    this.parkedLimit = config.model.maxTasks;
    for (const parked of saved?.parkedTasks ?? []) this.parked.set(parked.state.task, parked);
    this.tasks = new TaskRegistry(
      config.model.maxTasks,
      { tasks: saved?.tasks ?? [], candidates: saved?.taskCandidates ?? [], lastSeen: saved?.taskLastSeen, admitted: saved?.admittedRecords },
      {
        idleRecords: config.model.taskIdleRecords,
        isParked: (task) => this.parked.has(task),
        evict: (task) => this.evictTask(task),
        admitted: (task) => this.unparkTask(task),
      },
    );
    this.driftWatch = new DriftWatch(config.drift.detectors as DetectorConfig[], config.drift.models, onDrift, saved?.drift);
    this.position = new StreamPosition(saved?.position);
    this.ledger = new TaskLedger(saved?.taskSources);
  }

  /** What the scale stage needs: the feature moments and band, the target bands and the clipping policy. */
  get scaling(): ScaleParts {
    return {
      batched: (tasks) => this.tasks.batched(tasks),
      featureMoments: this.featureMoments,
      featureBand: this.featureBand,
      targetBands: this.targetBands, policy: this.clipPolicy };
  }

  /** The network first, then the baseline: all score before any learns. */
  get models(): OnlineModel[] {
    return this.baseline ? [this.network, this.baseline] : [this.network];
  }

  /**
   * Reacts to drift on the network's errors: forgets the drifted tasks'
   * replay (a uniform sample of their whole history is mostly the old concept
   * right after a drift) and asks for a fine-tuning phase. Measured in
   * test/unit/model/fine-tune-drift.test.ts: fine-tuning on the old replay
   * barely helps, on a renewed one it lowers post-drift MAE by ~15%.
   */
  fineTuneAfterDrift(events: readonly DriftEvent[]): void {
    const drifted = new Set(events.filter((e) => e.model === 'nn').map((e) => e.task));
    if (drifted.size === 0) return;
    for (const task of drifted) this.network.replay.forget(task);
    this.network.requestFineTune();
  }

  capture(): LearningState {
    return {
      spec: this.spec,
      position: this.position.toJSON(),
      featureMoments: this.featureMoments.toJSON(),
      featureBand: this.featureBand.toJSON(),
      targetBands: this.targetBands.toJSON(),
      tasks: this.tasks.list(),
      taskCandidates: this.tasks.toJSON().candidates,
      taskLastSeen: this.tasks.toJSON().lastSeen,
      admittedRecords: this.tasks.toJSON().admitted,
      parkedTasks: [...this.parked.values()],
      ...this.modelStates(),
      drift: this.driftWatch.toJSON(),
      taskSources: this.ledger.toJSON(),
    };
  }

  /** Each model's state under its own field; the field of a model that is off holds null (the checkpoint format). */
  private modelStates(): Pick<LearningState, ModelStateField> {
    const states: Record<ModelStateField, unknown> = { network: null, ntkgp: null };
    for (const model of this.models) states[model.stateField] = model.toJSON();
    return states as Pick<LearningState, ModelStateField>;
  }

  /** Each model's part of one task's state, as {@link modelStates}. */
  private modelTaskStates(task: string): Pick<TaskState, ModelStateField> {
    const states: Record<ModelStateField, unknown> = { network: null, ntkgp: null };
    for (const model of this.models) states[model.stateField] = model.taskState(task) ?? null;
    return states as Pick<TaskState, ModelStateField>;
  }

  /**
   * One task's state, taken between two batches like {@link capture}; its
   * position is the next offset of the task's partition. Undefined for a task
   * whose records have not been through a batch yet.
   */
  captureTask(task: string): TaskState | undefined {
    const source = this.ledger.sourceOf(task);
    const offset = source && this.position.offsetOf(source.topic, source.partition);
    if (!source || offset === undefined) return undefined;
    return {
      format: taskStateFormat,
      spec: this.spec,
      task,
      source: { topic: source.topic, partition: source.partition, offset },
      learned: source.learned,
      ...this.modelTaskStates(task),
      drift: this.driftWatch.taskState(task),
    };
  }

  /**
   * Every task's state, e.g. for the state changelog at a checkpoint — the
   * parked ones too, at the partition's current offset (they have had no
   * record since), so the changelog never holds a stale position for them.
   */
  captureTasks(): TaskState[] {
    const parked = [...this.parked.values()].map(({ state }): TaskState => {
      const offset = this.position.offsetOf(state.source.topic, state.source.partition);
      return offset === undefined ? state : { ...state, source: { ...state.source, offset } };
    });
    return [...this.ledger.tasks().flatMap((task) => this.captureTask(task) ?? []), ...parked];
  }

  /** Parks an idle task's state (task-registry.ts) and drops it from the model. */
  private evictTask(task: string): void {
    const state = this.captureTask(task);
    if (state) this.park(task, { state: { ...state, parked: true }, band: this.targetBands.stateOf(task) });
    this.forgetTask(task);
    this.targetBands.forget(task);
    this.onEviction('evicted', task);
  }

  private park(task: string, parked: ParkedTask): void {
    this.parked.delete(task);
    this.parked.set(task, parked);
    if (this.parked.size <= this.parkedLimit) return;
    const oldest = this.parked.keys().next().value!;
    this.parked.delete(oldest);
    this.onEviction('dropped', oldest);
  }

  /** A parked task that is admitted again gets its state back. */
  private unparkTask(task: string): void {
    const parked = this.parked.get(task);
    if (!parked) return;
    this.parked.delete(task);
    this.restoreTask({ ...parked.state, parked: false });
    if (parked.band) this.targetBands.load(task, parked.band);
    this.onEviction('restored', task);
  }

  /** Drops the parked tasks of partitions outside `partitions`: their state lives on in the changelog for the partitions' new owner. */
  forgetParkedOutside(topic: string, partitions: readonly number[]): void {
    for (const [task, { state }] of this.parked) {
      if (state.source.topic === topic && !partitions.includes(state.source.partition)) this.parked.delete(task);
    }
  }

  /** Replaces what the session holds for a task with a state restored from elsewhere (the state changelog). */
  restoreTask(state: TaskState): void {
    if (state.parked) {
      if (this.tasks.has(state.task)) this.forgetTask(state.task);
      this.park(state.task, { state, band: this.parked.get(state.task)?.band });
      return;
    }
    this.tasks.adopt(state.task);
    for (const model of this.models) model.loadTask(state.task, state[model.stateField] ?? null);
    this.driftWatch.loadTask(state.task, state.drift);
    this.ledger.set(state.task, { topic: state.source.topic, partition: state.source.partition, learned: state.learned });
  }

  /** Drops a task whose partition another member owns now (its state lives on in the changelog). */
  forgetTask(task: string): void {
    this.tasks.remove(task);
    for (const model of this.models) model.forgetTask(task);
    this.driftWatch.forgetTask(task);
    this.ledger.delete(task);
  }

  dispose(): void {
    for (const model of this.models) model.dispose?.();
  }
}
