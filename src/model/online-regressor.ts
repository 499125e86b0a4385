import * as tf from '@tensorflow/tfjs';
import type { Example, Query } from '../spec/example.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import { lookahead } from './lookahead.js';
import { stabilityMargin, stableLearningRate, stepSpectrum } from './learning-rate.js';
import type { FineTunePhase, LearnResult, OnlineModel, ReplayProgress, TaskLearningRate } from './online-model.js';
import { addReplayProgress, ReplayDebt, type OwedPhaseState } from './replay-debt.js';
import { StratifiedReservoir, type ReplayState, type TaskReservoirState } from './replay-buffer.js';
import { RunningMoments, type RunningMomentsState } from './running-moments.js';
import { runToEnd, type Stepwise } from './stepwise.js';
import { TrunkHeadsNetwork, type LayerState, type NetworkState, type TaskGroup } from './trunk-heads-network.js';
import { decodeFloat32, encodeFloat32 } from '../math/float-codec.js';
import { CompiledSteps } from './compiled-steps.js';
import type { NamedTensors } from './kernel-trace.js';

export interface FineTuneConfig {
  /**
   * Run a fine-tuning phase every this many batches' worth of learned records (`every · batchSize`
   * records, so a slow stream's small batches do not multiply phases); 0 = only on demand.
   */
  readonly every: number;
  readonly steps: number;
  /** ρ: the trunk learns at ρ·η during a phase (ρ < 1 keeps pretrained features). */
  readonly trunkLearningRateRatio: number;
  readonly replayPerTask: number;
  /** The pipeline's `batch.size`: the size of a replayed minibatch, and the unit of `every`. */
  readonly batchSize: number;
}

export interface OnlineRegressorConfig {
  readonly spec: ArchitectureSpec;
  /** η of the heads; `auto` derives it per task and step from the NTK spectrum (see learning-rate.ts). */
  readonly learningRate: number | 'auto';
  /** Under `auto`: η = safety · 2/(λ'_max + λ'_min), i.e. the stability margin it keeps. */
  readonly learningRateSafety?: number;
  /**
   * `zero` starts every head's read-out at 0, so an untrained head predicts
   * exactly the task's running target mean; `random` is the plain NTK init.
   */
  readonly readout?: 'zero' | 'random';
  /**
   * Gain of the in-batch look-ahead (lookahead.ts): a labelled record is scored as if the head had
   * taken a linearised one-record step of this gain on each earlier labelled record of its batch;
   * 0 (the default here) scores every record of a batch with the model as it was before the batch.
   */
  readonly lookahead?: number;
  readonly seed: number;
  readonly fineTune: FineTuneConfig;
  /** With an explicit η, its stability margin is estimated on one step in this many (default 20). */
  readonly marginEvery?: number;
  /** Run each model step as one TensorFlow graph call on the native backend (compiled-steps.ts; default true): the same numbers. */
  readonly compiledSteps?: boolean;
  /** Told why, when model steps fall back to running kernel by kernel. */
  readonly onCompiledStepsOff?: (reason: string) => void;
}

/** Rejected steps in a row that halve the learning rate and reset the heads involved. */
export const rejectedStepsBeforeBackoff = 3;

interface StepResult {
  readonly applied: boolean;
  /** Mean squared error in standardised target units, before the step. */
  readonly loss: number;
}

/** Everything the regressor learned, for checkpoints (plain JSON; weights as base64 float32). */
export interface OnlineRegressorState {
  readonly network: NetworkState;
  /** Per task, in first-seen order. */
  readonly targetMoments: Record<string, RunningMomentsState>;
  readonly replay: ReplayState;
  /** Learned records since the last phase, each batch counting at most `batchSize`. */
  readonly recordsSinceFineTune?: number;
  /** Older checkpoints counted whole batches instead. */
  readonly batchesSinceFineTune?: number;
  readonly fineTunePending: boolean;
  /** Divergence protection: the factor on η after backoffs (1 = none); absent in older checkpoints. */
  readonly learningRateScale?: number;
  readonly rejectedInARow?: number;
  /**
   * Deferred phases (`fineTune.yieldToRecords`) still owing replay steps when the state was captured,
   * and, when the oldest has paid some, the trunk it found (a rejected step puts it back there);
   * absent when nothing was owed.
   */
  readonly replayOwed?: { readonly phases: readonly OwedPhaseState[]; readonly phaseTrunk?: readonly string[] };
}

/** What the regressor holds for one task alone: its head, its target moments, its replay. */
export interface RegressorTaskState {
  readonly head: LayerState[] | null;
  readonly targetMoments: RunningMomentsState | null;
  readonly replay: TaskReservoirState | null;
}

interface PreparedBatch {
  readonly input: Float32Array;
  readonly targets: Float32Array;
  readonly groups: TaskGroup[];
  /** order[k] = index in the caller's array of the k-th row after grouping by task. */
  readonly order: Int32Array;
  /** Each row's head slot in the stacked heads. */
  readonly slots: Int32Array;
}

/**
 * The neural model: per-minibatch SGD on the heads of the tasks present
 * (trunk frozen), plus fine-tuning phases that move the trunk at ρ·η.
 * Targets are standardised with running moments so one learning rate suits
 * tasks of any scale; predictions are returned in the target's own units.
 */
export class OnlineRegressor implements OnlineModel {
  readonly model = 'nn' as const;
  readonly stateField = 'network' as const;
  readonly network: TrunkHeadsNetwork;
  /**
   * Running moments of each task's targets: every head learns its task's
   * standardised target, so tasks that differ in scale and offset ask the
   * shared trunk for the same thing.
   */
  readonly targetMoments = new Map<string, RunningMoments>();
  readonly replay: StratifiedReservoir;
  private recordsSinceFineTune = 0;
  private fineTunePending = false;
  private fineTuneInFlight = false;
  /**
   * At most this many steps per phase, below `fineTune.steps` (undefined: no
   * limit; 0: due phases wait). Set from outside the model (replay-governor.ts),
   * never saved: it follows the stream's arrival rate, not what was learned.
   */
  phaseStepsLimit: number | undefined;
  /**
   * When true, a due phase is not run whole in its batch's learning: its steps are owed and paid one
   * at a time by {@link replayStep} (pipeline/idle-replay.ts runs it whenever no minibatch waits), and
   * the next batch pays what is still owed before it is scored ({@link payOwedInSteps}). Set from
   * outside the model; what is owed is saved (`replayOwed`), so a restart learns what an uninterrupted run does.
   */
  deferredReplay = false;
  /**
   * With {@link deferredReplay}: a batch pays only the phases older than the newest before it is
   * scored; the newest overlaps it (its steps run between batches, the batch's own step may come
   * between two of them). At most one phase is ever owed past a batch, and a record never waits for
   * a whole phase. The weights then depend on where the steps fell, so this is only for streams
   * whose batches already depend on timing (`batch.lingerMs` > 0); off, every batch is scored by
   * the model that learned every phase before it, as with phases run whole. Set from outside the model.
   */
  overlapNewestPhase = false;
  private readonly debt = new ReplayDebt();
  /** The trunk where the deferred phase being paid found it (a rejected step puts it back). */
  private phaseTrunk: tf.Tensor[] | undefined;
  private readonly compiled: CompiledSteps;
  /** Halved on every backoff of the divergence protection. */
  learningRateScale = 1;
  private rejectedInARow = 0;
  rejectedSteps = 0;
  private stepsSinceMargin = 0;

  constructor(
    readonly config: OnlineRegressorConfig,
    saved?: OnlineRegressorState,
  ) {
    const readout = config.readout ?? 'random';
    this.compiled = new CompiledSteps(config.compiledSteps ?? true, config.onCompiledStepsOff);
    this.network = saved
      ? TrunkHeadsNetwork.fromJSON(config.spec, saved.network, readout)
      : new TrunkHeadsNetwork(config.spec, config.seed, readout);
    for (const [task, moments] of Object.entries(saved?.targetMoments ?? {})) this.targetMoments.set(task, RunningMoments.fromJSON(moments));
    this.replay = saved
      ? StratifiedReservoir.fromJSON(saved.replay)
      : new StratifiedReservoir(config.fineTune.replayPerTask, config.seed ^ 0x2e91a7);
    this.recordsSinceFineTune = saved?.recordsSinceFineTune ?? (saved?.batchesSinceFineTune ?? 0) * config.fineTune.batchSize;
    this.fineTunePending = saved?.fineTunePending ?? false;
    this.learningRateScale = saved?.learningRateScale ?? 1;
    this.rejectedInARow = saved?.rejectedInARow ?? 0;
    if (saved?.replayOwed) {
      this.debt.load(saved.replayOwed.phases);
      const trunk = saved.replayOwed.phaseTrunk;
      if (trunk) this.phaseTrunk = this.network.trunkVariables().map((v, i) => tf.tensor(decodeFloat32(trunk[i]!), v.shape));
    }
  }

  /** How many of its model steps' TensorFlow graphs are loaded (0 off the native backend). */
  get compiledStepGraphs(): number {
    return this.compiled.size;
  }

  toJSON(): OnlineRegressorState {
    return {
      network: this.network.toJSON(),
      targetMoments: Object.fromEntries([...this.targetMoments].map(([task, moments]) => [task, moments.toJSON()])),
      replay: this.replay.toJSON(),
      recordsSinceFineTune: this.recordsSinceFineTune,
      fineTunePending: this.fineTunePending,
      learningRateScale: this.learningRateScale,
      rejectedInARow: this.rejectedInARow,
      ...(this.debt.owed > 0 ? { replayOwed: this.owedState() } : {}),
    };
  }

  private owedState(): NonNullable<OnlineRegressorState['replayOwed']> {
    const phases = this.debt.toJSON();
    const phaseTrunk = this.phaseTrunk && phases[0]!.taken > 0 ? this.phaseTrunk.map((t) => encodeFloat32(t.dataSync() as Float32Array)) : undefined;
    return { phases, ...(phaseTrunk ? { phaseTrunk } : {}) };
  }

  /** One task's part of the state, to move the task to another member. */
  taskState(task: string): RegressorTaskState {
    return {
      head: this.network.headState(task) ?? null,
      targetMoments: this.targetMoments.get(task)?.toJSON() ?? null,
      replay: this.replay.taskState(task) ?? null,
    };
  }

  /** Replaces whatever this regressor holds for the task with a saved task state. */
  loadTask(task: string, state: RegressorTaskState): void {
    this.forgetTask(task);
    if (state.head) this.network.loadHead(task, state.head);
    if (state.targetMoments) this.targetMoments.set(task, RunningMoments.fromJSON(state.targetMoments));
    if (state.replay) this.replay.loadTask(state.replay);
  }

  /** Whether the task has a head: it has been scored at least once. */
  hasTask(task: string): boolean {
    return this.network.hasHead(task);
  }

  /** The task's target moments, created (empty: mean 0, std 1) on first sight. */
  targetMomentsOf(task: string): RunningMoments {
    let moments = this.targetMoments.get(task);
    if (!moments) this.targetMoments.set(task, (moments = new RunningMoments(1)));
    return moments;
  }

  /** Rows grouped by task; targets standardised when the rows are examples, zero for queries. */
  private prepare(examples: readonly (Query & { readonly y?: number })[]): PreparedBatch {
    const dim = this.config.spec.inputDim;
    // Rows grouped by task, the tasks in name order and each task's rows in arrival order. A batch holds few
    // distinct tasks: sorting those, not the rows, keeps the same order for a fraction of the comparisons.
    const rowsByTask = new Map<string, number[]>();
    examples.forEach(({ task }, index) => {
      const rows = rowsByTask.get(task);
      if (rows) rows.push(index);
      else rowsByTask.set(task, [index]);
    });
    const order = new Int32Array(examples.length);
    const input = new Float32Array(examples.length * dim);
    const targets = new Float32Array(examples.length);
    const groups: TaskGroup[] = [];
    let row = 0;
    for (const task of [...rowsByTask.keys()].sort()) {
      const moments = this.targetMomentsOf(task);
      const mean = moments.mean[0]!;
      const standardDeviation = moments.standardDeviation(0);
      groups.push({ task, start: row, count: rowsByTask.get(task)!.length });
      for (const index of rowsByTask.get(task)!) {
        const example = examples[index]!;
        order[row] = index;
        input.set(example.x, row * dim);
        targets[row] = example.y === undefined ? 0 : (example.y - mean) / standardDeviation;
        row += 1;
      }
    }
    return { input, targets, groups, order, slots: this.network.slotsOf(groups) };
  }

  /** Prequential scoring: predictions (target units) before learning from the batch. */
  predict(examples: readonly Query[]): Float32Array {
    const predictions = new Float32Array(examples.length);
    if (examples.length === 0) return predictions;
    const batch = this.prepare(examples);
    const standardized = tf.tidy(() => Float32Array.from(this.forward(batch).dataSync()));
    this.lookAhead(examples, batch, standardized);
    batch.order.forEach((index, row) => {
      const moments = this.targetMomentsOf(examples[index]!.task);
      predictions[index] = moments.mean[0]! + moments.standardDeviation(0) * standardized[row]!;
    });
    return predictions;
  }

  /**
   * Corrects each task's outputs in place by the in-batch look-ahead, from
   * the targets of the batch's earlier labelled records (rows keep arrival
   * order within a task). Unlabelled records take corrections, give none.
   */
  private lookAhead(examples: readonly Query[], batch: PreparedBatch, outputs: Float32Array): void {
    const gain = this.config.lookahead ?? 0;
    if (gain <= 0) return;
    const dim = this.config.spec.inputDim;
    const kind = this.config.spec.headHidden.length > 0 ? 'ntk' : 'nngp';
    for (const { start, count } of batch.groups) {
      if (count < 2) continue;
      const targets = new Float64Array(count);
      for (let k = 0; k < count; k++) {
        const labeled = typeof (examples[batch.order[start + k]!] as Partial<Example>).y === 'number';
        targets[k] = labeled ? batch.targets[start + k]! : Number.NaN;
      }
      const X = Float64Array.from(batch.input.subarray(start * dim, (start + count) * dim));
      lookahead(this.config.spec, X, outputs.subarray(start, start + count), targets, gain, kind);
    }
  }

  /** The network's outputs for a prepared batch, [n, 1] in the batch's row order. */
  private forward(batch: PreparedBatch): tf.Tensor2D {
    const inputs: NamedTensors = { input: this.inputOf(batch), slots: tf.tensor1d(batch.slots, 'int32') };
    [...this.network.trunkVariables(), ...this.network.headVariables()].forEach((v, i) => (inputs[`variable${i}`] = v));
    const key = `scoring, ${batch.targets.length} rows, ${this.network.slotCapacity} slots`;
    const { outputs } = this.compiled.run(key, inputs, this.network.constants(), () => ({
      outputs: this.network.forwardHeads(this.network.forwardTrunk(inputs.input as tf.Tensor2D), inputs.slots as tf.Tensor1D),
    }));
    return outputs as tf.Tensor2D;
  }

  /** The batch's feature rows as a tensor, [n, inputDim] in the batch's row order. */
  private inputOf(batch: PreparedBatch): tf.Tensor2D {
    return tf.tensor2d(batch.input, [batch.targets.length, this.config.spec.inputDim]);
  }

  /**
   * One SGD step: every task's head at its own η (`taskRates`; a task
   * without a rate keeps its head), the trunk at `trunkRate` when given.
   * The heads' update is one kernel per stacked variable whatever the number
   * of tasks. The numerical guard reads the loss and the gradients' squared
   * norm once; anything non-finite rejects the whole step.
   */
  private sgdStep(batch: PreparedBatch, taskRates: ReadonlyMap<string, number>, trunkRate?: number): StepResult {
    const trunk = this.network.trunkVariables();
    const heads = this.network.headVariables();
    const slotRates = new Float32Array(this.network.slotCapacity);
    for (const [task, rate] of taskRates) slotRates[this.network.head(task)] = rate;
    return tf.tidy(() => {
      const rows = batch.targets.length;
      const inputs: NamedTensors = {
        input: this.inputOf(batch),
        targets: tf.tensor2d(batch.targets, [rows, 1]),
        slots: tf.tensor1d(batch.slots, 'int32'),
      };
      if (trunkRate !== undefined) inputs.trunkRate = tf.scalar(trunkRate);
      trunk.forEach((v, i) => (inputs[`trunk${i}`] = v));
      heads.forEach((v, i) => {
        inputs[`head${i}`] = v;
        // One rate per slot, broadcast over the slot's weights.
        inputs[`headRates${i}`] = tf.tensor(slotRates, [slotRates.length, ...v.shape.slice(1).map(() => 1)]);
      });
      const key = `${trunkRate === undefined ? 'heads' : 'fine-tune'} step, ${rows} rows, ${this.network.slotCapacity} slots`;
      const step = this.compiled.run(key, inputs, this.network.constants(), () => {
        const { loss, gradients } = this.network.lossAndGradients(inputs.input as tf.Tensor2D, inputs.slots as tf.Tensor1D, inputs.targets as tf.Tensor2D, trunkRate !== undefined);
        // A sum over the stacked squares, not tf.addN: a graph's AddN may add its inputs in another order (a last-bit
        // difference in one case in three, compiled-steps.ts would see it), a Sum adds them as the kernels do.
        const squaredNorm = tf.sum(tf.stack(gradients.map((g) => tf.sum(tf.square(g)))));
        const updated: NamedTensors = { lossAndNorm: tf.stack([loss, squaredNorm]) };
        // The gradients are the heads' alone when the trunk stays.
        const headGradients = gradients.slice(gradients.length - heads.length);
        if (trunkRate !== undefined) trunk.forEach((v, i) => (updated[`trunk${i}`] = tf.sub(v, tf.mul(gradients[i]!, inputs.trunkRate!))));
        heads.forEach((v, i) => (updated[`head${i}`] = tf.sub(v, tf.mul(headGradients[i]!, inputs[`headRates${i}`]!))));
        return updated;
      });
      const [loss, norm] = step.lossAndNorm!.dataSync();
      if (!Number.isFinite(loss) || !Number.isFinite(norm)) return { applied: false, loss: loss! };
      if (trunkRate !== undefined) trunk.forEach((v, i) => v.assign(step[`trunk${i}`]!));
      heads.forEach((v, i) => v.assign(step[`head${i}`]!));
      return { applied: true, loss: loss! };
    });
  }

  /**
   * Learns one minibatch: heads of the tasks present move at η, the trunk
   * stays; then runs a fine-tuning phase when one is due or was requested.
   */
  learn(examples: readonly Example[]): LearnResult {
    return runToEnd(this.learnInSteps(examples));
  }

  /**
   * {@link learn} in steps: the heads' step, then each step of a fine-tuning
   * phase when one is due, with a yield between two (see stepwise.ts).
   */
  *learnInSteps(examples: readonly Example[]): Stepwise<LearnResult> {
    if (examples.length === 0) return { applied: true, loss: 0 };
    for (const example of examples) {
      this.targetMomentsOf(example.task).update([example.y]);
      this.replay.add(example);
    }
    const batch = this.prepare(examples);
    const learningRates = this.learningRates(batch, 0);
    const step = this.sgdStep(batch, new Map(learningRates.map(({ task, learningRate }) => [task, learningRate])));
    const backoff = this.afterStep(step.applied, batch.groups.map((g) => g.task));
    // Fine-tuning follows the data, not the clock: under a linger, a slow stream's batches are small,
    // and a phase per batch would replay many times more per record than a backlog's full batches do.
    const { every, batchSize } = this.config.fineTune;
    this.recordsSinceFineTune += Math.min(examples.length, batchSize);
    const due = every > 0 && this.recordsSinceFineTune >= every * batchSize;
    const result: LearnResult = { ...step, learningRates, ...(backoff ? { backoff } : {}) };
    if ((!due && !this.fineTunePending) || this.phaseStepsLimit === 0) return result;
    if (this.deferredReplay) return { ...result, replay: this.deferPhase() };
    yield;
    return { ...result, fineTune: yield* this.fineTuneInSteps() };
  }

  /** The steps a phase takes now: `fineTune.steps`, or fewer under the governor's limit. */
  private phaseSteps(): number {
    return Math.min(this.config.fineTune.steps, this.phaseStepsLimit ?? Number.POSITIVE_INFINITY);
  }

  /**
   * A phase began: the count of learned records starts over, keeping what a due phase's batch
   * learned beyond the period. Batches that carry a few dead-lettered or unlabeled records learn
   * a little less than `batchSize` each; dropping the excess would make such a stream's phases
   * come every second batch instead of nearly every one. Periods a withheld phase let pass
   * (the governor's limit at 0) are not made up.
   */
  private restartPhaseCount(): void {
    const period = this.config.fineTune.every * this.config.fineTune.batchSize;
    this.recordsSinceFineTune = period > 0 && this.recordsSinceFineTune >= period ? this.recordsSinceFineTune % period : 0;
  }

  /** A deferred phase begins: its steps are owed. */
  private deferPhase(): ReplayProgress {
    this.debt.owe(this.phaseSteps());
    this.restartPhaseCount();
    this.fineTunePending = false;
    return { phasesBegun: 1, steps: 0, rejectedSteps: 0, seconds: 0, phasesEnded: [] };
  }

  /**
   * Pays the steps a batch must see paid before it is scored ({@link replayOwedBeforeScoring}), a
   * yield between two: every step owed, so that every batch is scored by the model that has learned
   * every phase before it, as with phases run whole; or, with {@link overlapNewestPhase}, those of
   * the phases older than the newest.
   */
  *payOwedInSteps(): Stepwise<ReplayProgress> {
    let paid: ReplayProgress = { phasesBegun: 0, steps: 0, rejectedSteps: 0, seconds: 0, phasesEnded: [] };
    while (this.replayOwedBeforeScoring > 0) {
      if (paid.steps > 0) yield;
      paid = addReplayProgress(paid, this.replayStep()!);
    }
    return paid;
  }

  /** Replay steps that deferred phases still owe. */
  get replayOwed(): number {
    return this.debt.owed;
  }

  /** The owed replay steps the next batch pays before it is scored (see {@link overlapNewestPhase}). */
  get replayOwedBeforeScoring(): number {
    return this.overlapNewestPhase ? this.debt.owedBeforeNewest : this.debt.owed;
  }

  /**
   * One step that a deferred phase owes (undefined when none is): a step of {@link fineTuneStep} on
   * a replayed minibatch. A rejected step ends its phase as in a whole one: the trunk goes back to
   * where the phase found it and η halves.
   */
  replayStep(): ReplayProgress | undefined {
    if (this.debt.owed === 0) return undefined;
    const started = performance.now();
    if (this.debt.startsPhase) {
      this.releasePhaseTrunk();
      this.phaseTrunk = this.network.trunkVariables().map((v) => tf.clone(v));
    }
    const sample = this.replay.sample(this.config.fineTune.batchSize);
    const applied = sample.length === 0 || this.fineTuneStep(sample).applied;
    if (!applied) {
      this.network.trunkVariables().forEach((v, i) => v.assign(this.phaseTrunk![i]!));
      this.learningRateScale /= 2;
      this.rejectedSteps += 1;
    }
    const seconds = (performance.now() - started) / 1000;
    const ended = sample.length === 0 ? this.debt.cut(seconds) : applied ? this.debt.paid(seconds) : this.debt.rejected(seconds);
    if (ended) this.releasePhaseTrunk();
    const rejection = applied ? {} : { learningRateScale: this.learningRateScale };
    return {
      phasesBegun: 0,
      steps: sample.length === 0 ? 0 : 1,
      rejectedSteps: applied ? 0 : 1,
      seconds,
      phasesEnded: ended ? [{ ...ended, ...rejection }] : [],
      ...rejection,
    };
  }

  private releasePhaseTrunk(): void {
    this.phaseTrunk?.forEach((t) => t.dispose());
    this.phaseTrunk = undefined;
  }

  /**
   * η per task for a step on `batch` whose trunk moves at `trunkRatio`·η:
   * the configured number, or under `auto` safety·2/(λ'_max + λ'_min) of the
   * step's own kernel on the task's rows; times the backoff scale.
   */
  private learningRates(batch: PreparedBatch, trunkRatio: number): TaskLearningRate[] {
    const dim = this.config.spec.inputDim;
    const explicit = this.config.learningRate;
    // An explicit η needs the spectrum only for its margin: estimated on one step in marginEvery.
    if (explicit !== 'auto' && this.stepsSinceMargin++ % (this.config.marginEvery ?? 20) !== 0) {
      return batch.groups.map(({ task }) => ({ task, learningRate: explicit * this.learningRateScale, margin: Number.NaN }));
    }
    return batch.groups.map(({ task, start, count }) => {
      const rows = Float64Array.from(batch.input.subarray(start * dim, (start + count) * dim));
      const spectrum = stepSpectrum(this.config.spec, rows, batch.targets.length, trunkRatio);
      const auto = Number.isFinite(spectrum.extremesSum) ? stableLearningRate(spectrum, this.config.learningRateSafety ?? 0.5) : 0;
      const base = this.config.learningRate === 'auto' ? auto : this.config.learningRate;
      const learningRate = base * this.learningRateScale;
      return { task, learningRate, margin: stabilityMargin(learningRate, spectrum) };
    });
  }

  /**
   * Divergence protection: after `rejectedStepsBeforeBackoff` rejected steps
   * in a row, η is halved and the heads involved start over (weights whose
   * loss is not finite cannot be stepped back to health).
   */
  private afterStep(applied: boolean, tasks: readonly string[]): LearnResult['backoff'] {
    if (applied) {
      this.rejectedInARow = 0;
      return undefined;
    }
    this.rejectedSteps += 1;
    this.rejectedInARow += 1;
    if (this.rejectedInARow < rejectedStepsBeforeBackoff) return undefined;
    const rejectedInARow = this.rejectedInARow;
    this.rejectedInARow = 0;
    this.learningRateScale /= 2;
    for (const task of tasks) this.network.resetHead(task);
    return { rejectedInARow, rejectedSteps: this.rejectedSteps, learningRateScale: this.learningRateScale, resetTasks: [...tasks] };
  }

  /** Asks for a fine-tuning phase after the next learned batch (e.g. on drift). */
  requestFineTune(): void {
    this.fineTunePending = true;
  }

  /**
   * A fine-tuning phase: `steps` SGD steps on replayed examples, the trunk at
   * ρ·η and the replayed tasks' heads at η.
   */
  fineTune(): FineTunePhase {
    return runToEnd(this.fineTuneInSteps());
  }

  /**
   * {@link fineTune} with a yield between two of its steps. Its `seconds`
   * count the steps only, not the time others ran at the yields.
   */
  *fineTuneInSteps(): Stepwise<FineTunePhase> {
    this.fineTuneInFlight = true;
    try {
      return yield* this.fineTunePhase();
    } finally {
      this.fineTuneInFlight = false;
    }
  }

  /** Whether a fine-tuning phase has begun and not ended: running whole (it hands the event loop back between its steps), or owing steps. */
  get fineTuning(): boolean {
    return this.fineTuneInFlight || this.debt.owed > 0;
  }

  private *fineTunePhase(): Stepwise<FineTunePhase> {
    let busy = 0;
    let started = performance.now();
    const { batchSize } = this.config.fineTune;
    const steps = this.phaseSteps();
    let rejectedSteps = 0;
    let taken = 0;
    const trunkBefore = this.network.trunkVariables().map((v) => tf.clone(v));
    try {
      while (taken < steps) {
        const sample = this.replay.sample(batchSize);
        if (sample.length === 0) break;
        if (taken > 0) {
          busy += performance.now() - started;
          yield;
          started = performance.now();
        }
        taken += 1;
        if (!this.fineTuneStep(sample).applied) {
          rejectedSteps += 1;
          break;
        }
      }
      // A rejected fine-tuning step means the trunk diverged: it goes back to where the phase found it, and η halves.
      if (rejectedSteps > 0) {
        this.network.trunkVariables().forEach((v, i) => v.assign(trunkBefore[i]!));
        this.learningRateScale /= 2;
        this.rejectedSteps += rejectedSteps;
      }
    } finally {
      trunkBefore.forEach((t) => t.dispose());
    }
    this.restartPhaseCount();
    this.fineTunePending = false;
    busy += performance.now() - started;
    return { steps: taken, rejectedSteps, seconds: busy / 1000, ...(rejectedSteps > 0 ? { learningRateScale: this.learningRateScale } : {}) };
  }

  /** One fine-tuning step on given examples: their heads at η (per task), the trunk at ρ·(the smallest of those η). */
  fineTuneStep(examples: readonly Example[]): { applied: boolean; loss: number } {
    const batch = this.prepare(examples);
    const ratio = this.config.fineTune.trunkLearningRateRatio;
    const learningRates = this.learningRates(batch, ratio);
    const trunkRate = ratio * Math.min(...learningRates.map((r) => r.learningRate));
    return this.sgdStep(batch, new Map(learningRates.map(({ task, learningRate }) => [task, learningRate])), trunkRate);
  }

  forgetTask(task: string): void {
    this.network.removeHead(task);
    this.targetMoments.delete(task);
    this.replay.forget(task);
  }

  dispose(): void {
    this.releasePhaseTrunk();
    this.compiled.dispose();
    this.network.dispose();
  }
}
