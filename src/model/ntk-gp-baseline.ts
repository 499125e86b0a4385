import { IncrementalGP, type IncrementalGPState } from '../ntk/incremental-gp.js';
import type { Example, Query } from '../spec/example.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { LearnResult, OnlineModel, PredictiveDistribution } from './online-model.js';
import { RunningMoments, type RunningMomentsState } from './running-moments.js';
import { runToEnd, type Stepwise } from './stepwise.js';

/** One task's GP: the window's points and targets (the factor is rebuilt from them) and the target moments. */
export interface NtkGpTaskState {
  readonly task: string;
  readonly gp: IncrementalGPState;
  readonly moments: RunningMomentsState;
}

export interface NtkGpBaselineState {
  readonly tasks: NtkGpTaskState[];
}

export interface NtkGpBaselineConfig {
  /** The network's own spec: the GP is its infinite-width limit. */
  readonly spec: ArchitectureSpec;
  /** Window W per task. */
  readonly window: number;
  /** Noise variance s, in standardised target units. */
  readonly noise: number;
}

/** What the observe stage exports about one task's GP after a batch. */
export interface GpTaskStatus {
  readonly task: string;
  readonly windowSize: number;
  readonly refactorCount: number;
  /** Seconds spent adding this batch's points (append + evict). */
  readonly updateSeconds: number;
  readonly pointsAdded: number;
  /** Latent predictive variance of the task's first record in the batch (standardised units). */
  readonly meanPredictiveVariance: number;
}

/** Records scored (and added to their windows) between two yields of {@link NtkGpBaseline.scoreInSteps}: a few ms at W = 256. */
const recordsPerStep = 16;

/**
 * The NTK-GP baseline beside the network: one incremental GP per task over a
 * sliding window, with targets standardised per task (a zero-mean prior
 * would otherwise be a poor baseline for offset targets).
 */
export class NtkGpBaseline implements OnlineModel {
  readonly model = 'ntkgp' as const;
  readonly stateField = 'ntkgp' as const;
  private readonly tasks = new Map<string, { gp: IncrementalGP; moments: RunningMoments }>();
  private lastStatus: GpTaskStatus[] = [];
  private readonly lastVariance = new Map<string, number>();
  private varianceSamples = 0;
  /** Records scoring already added to their window (learn skips them). */
  private readonly added = new WeakSet<Query>();
  private readonly addSeconds = new Map<string, number>();

  constructor(
    readonly config: NtkGpBaselineConfig,
    saved?: NtkGpBaselineState,
  ) {
    for (const { task, gp, moments } of saved?.tasks ?? []) {
      this.tasks.set(task, { gp: IncrementalGP.fromJSON(gp), moments: RunningMoments.fromJSON(moments) });
    }
  }

  /** One task's GP as saved state, or undefined when it has none. */
  taskState(task: string): NtkGpTaskState | undefined {
    const entry = this.tasks.get(task);
    return entry ? { task, gp: entry.gp.toJSON(), moments: entry.moments.toJSON() } : undefined;
  }

  /** Replaces the task's GP with a saved one (none: forgets it); its Cholesky factor is rebuilt from the window (O(W³)). */
  loadTask(task: string, state: NtkGpTaskState | null): void {
    if (!state) return this.forgetTask(task);
    this.tasks.set(task, { gp: IncrementalGP.fromJSON(state.gp), moments: RunningMoments.fromJSON(state.moments) });
    this.lastVariance.delete(task);
  }

  forgetTask(task: string): void {
    this.tasks.delete(task);
    this.lastVariance.delete(task);
  }

  toJSON(): NtkGpBaselineState {
    return { tasks: [...this.tasks].map(([task, { gp, moments }]) => ({ task, gp: gp.toJSON(), moments: moments.toJSON() })) };
  }

  private task(name: string): { gp: IncrementalGP; moments: RunningMoments } {
    let entry = this.tasks.get(name);
    if (!entry) {
      entry = {
        gp: new IncrementalGP({ spec: this.config.spec, window: this.config.window, noise: this.config.noise }),
        moments: new RunningMoments(1),
      };
      this.tasks.set(name, entry);
    }
    return entry;
  }

  private rowsByTask(examples: readonly Query[]): Map<string, number[]> {
    const rows = new Map<string, number[]>();
    examples.forEach((e, i) => {
      const list = rows.get(e.task);
      if (list) list.push(i);
      else rows.set(e.task, [i]);
    });
    return rows;
  }

  /**
   * Means for every record (O(N) each); the O(N²) predictive variance only
   * for one task's first record per call, tasks in turn, which is all the
   * variance gauge needs. Record by record within the batch: each labeled
   * record is predicted by the GP of every record before it (earlier batches
   * and the earlier records of this one) and added to its window right after,
   * so the GP's prequential error does not depend on the batch size. Still
   * test-then-train: no record is predicted by a GP that holds it.
   */
  predict(examples: readonly Query[]): Float32Array {
    return runToEnd(this.scoreInSteps(examples, false)).mean;
  }

  /**
   * Means and predictive standard deviations of y (latent variance plus the
   * noise variance s, in target units) for every record: O(N²) per record
   * for the variance. The means equal {@link predict}'s exactly.
   */
  predictWithUncertainty(examples: readonly Query[]): PredictiveDistribution {
    return runToEnd(this.scoreInSteps(examples, true));
  }

  /**
   * {@link predict} (or, `withVariance`, {@link predictWithUncertainty}) with a
   * yield after every {@link recordsPerStep} records: each record's prediction
   * and its addition to the window are one whole update.
   */
  *scoreInSteps(examples: readonly Query[], withVariance: boolean): Stepwise<PredictiveDistribution> {
    const mean = new Float32Array(examples.length);
    const standardDeviation = new Float32Array(examples.length);
    const x = new Float64Array(this.config.spec.inputDim);
    const byTask = this.rowsByTask(examples);
    const sampled = [...byTask.keys()][this.varianceSamples++ % Math.max(1, byTask.size)];
    let scored = 0;
    for (const [name, rows] of byTask) {
      const { gp, moments } = this.task(name);
      let addSeconds = 0;
      for (const [k, row] of rows.entries()) {
        if (scored > 0 && scored % recordsPerStep === 0) yield;
        scored += 1;
        const query = examples[row]!;
        x.set(query.x);
        const std = moments.standardDeviation(0);
        if (withVariance) {
          const prediction = gp.predict(x);
          mean[row] = moments.mean[0]! + std * prediction.mean[0]!;
          standardDeviation[row] = std * Math.sqrt(prediction.variance[0]! + gp.noise);
          if (k === 0) this.lastVariance.set(name, prediction.variance[0]!);
        } else {
          mean[row] = moments.mean[0]! + std * gp.predictMean(x)[0]!;
          if (k === 0 && name === sampled) this.lastVariance.set(name, gp.predict(x).variance[0]!);
        }
        const y = (query as Partial<Example>).y;
        if (typeof y !== 'number') continue;
        const started = performance.now();
        this.addPoint(gp, moments, x, y);
        addSeconds += (performance.now() - started) / 1000;
        this.added.add(query);
      }
      this.addSeconds.set(name, (this.addSeconds.get(name) ?? 0) + addSeconds);
    }
    return { mean, standardDeviation };
  }

  /** The task's moments learn the target, then the window learns the point in the updated standardised units. */
  private addPoint(gp: IncrementalGP, moments: RunningMoments, x: Float64Array, y: number): void {
    moments.update([y]);
    gp.add(x, (y - moments.mean[0]!) / moments.standardDeviation(0));
  }

  /** The task's GP and its target moments, to read (a serving snapshot); undefined when it has none. Never modify them. */
  taskModel(task: string): { readonly gp: IncrementalGP; readonly moments: RunningMoments } | undefined {
    return this.tasks.get(task);
  }

  /** Whether the task has a GP (it has been scored at least once). */
  hasTask(task: string): boolean {
    return this.tasks.has(task);
  }

  /** Adds the records that scoring has not already added (a caller that learns without scoring). */
  learn(examples: readonly Example[]): LearnResult {
    return runToEnd(this.learnInSteps(examples));
  }

  /** {@link learn} with a yield between two tasks' windows. */
  *learnInSteps(examples: readonly Example[]): Stepwise<LearnResult> {
    const status: GpTaskStatus[] = [];
    const x = new Float64Array(this.config.spec.inputDim);
    for (const [name, rows] of this.rowsByTask(examples)) {
      if (status.length > 0) yield;
      const { gp, moments } = this.task(name);
      const started = performance.now();
      for (const row of rows) {
        const example = examples[row]!;
        if (this.added.delete(example)) continue;
        x.set(example.x);
        this.addPoint(gp, moments, x, example.y);
      }
      status.push({
        task: name,
        windowSize: gp.size,
        refactorCount: gp.refactorCount,
        updateSeconds: (performance.now() - started) / 1000 + (this.addSeconds.get(name) ?? 0),
        pointsAdded: rows.length,
        meanPredictiveVariance: this.lastVariance.get(name) ?? Number.NaN,
      });
      this.addSeconds.delete(name);
    }
    this.lastStatus = status;
    return { applied: true, loss: 0 };
  }

  /** Per task, what the last `learn` did. */
  status(): readonly GpTaskStatus[] {
    return this.lastStatus;
  }
}
