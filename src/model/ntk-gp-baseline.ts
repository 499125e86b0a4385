import { IncrementalGP, type IncrementalGPState } from '../ntk/incremental-gp.js';
import type { Example, Query } from '../pipeline/records.js';
import type { ArchitectureSpec } from './architecture-spec.js';
import type { LearnResult, OnlineModel, PredictiveDistribution } from './online-model.js';
import { RunningMoments, type RunningMomentsState } from './running-moments.js';

export interface NtkGpBaselineState {
  readonly tasks: { task: string; gp: IncrementalGPState; moments: RunningMomentsState }[];
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

/**
 * The NTK-GP baseline beside the network: one incremental GP per task over a
 * sliding window, with targets standardised per task (a zero-mean prior
 * would otherwise be a poor baseline for offset targets).
 */
export class NtkGpBaseline implements OnlineModel {
  readonly model = 'ntkgp' as const;
  private readonly tasks = new Map<string, { gp: IncrementalGP; moments: RunningMoments }>();
  private lastStatus: GpTaskStatus[] = [];
  private readonly lastVariance = new Map<string, number>();
  private varianceSamples = 0;

  constructor(
    readonly config: NtkGpBaselineConfig,
    saved?: NtkGpBaselineState,
  ) {
    for (const { task, gp, moments } of saved?.tasks ?? []) {
      this.tasks.set(task, { gp: IncrementalGP.fromJSON(gp), moments: RunningMoments.fromJSON(moments) });
    }
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
   * variance gauge needs and keeps a call's cost independent of the task count.
   */
  predict(examples: readonly Query[]): Float32Array {
    const predictions = new Float32Array(examples.length);
    const dim = this.config.spec.inputDim;
    const byTask = this.rowsByTask(examples);
    const sampled = [...byTask.keys()][this.varianceSamples++ % byTask.size];
    for (const [name, rows] of byTask) {
      const { gp, moments } = this.task(name);
      const X = new Float64Array(rows.length * dim);
      rows.forEach((row, k) => X.set(examples[row]!.x, k * dim));
      const mean = gp.predictMean(X);
      const std = moments.standardDeviation(0);
      rows.forEach((row, k) => (predictions[row] = moments.mean[0]! + std * mean[k]!));
      if (name === sampled) this.lastVariance.set(name, gp.predict(X.subarray(0, dim)).variance[0]!);
    }
    return predictions;
  }

  /**
   * Means and predictive standard deviations of y (latent variance plus the
   * noise variance s, in target units) for every record: O(N²) per record
   * for the variance. The means equal {@link predict}'s exactly.
   */
  predictWithUncertainty(examples: readonly Query[]): PredictiveDistribution {
    const mean = new Float32Array(examples.length);
    const standardDeviation = new Float32Array(examples.length);
    const dim = this.config.spec.inputDim;
    for (const [name, rows] of this.rowsByTask(examples)) {
      const { gp, moments } = this.task(name);
      const X = new Float64Array(rows.length * dim);
      rows.forEach((row, k) => X.set(examples[row]!.x, k * dim));
      const prediction = gp.predict(X);
      const std = moments.standardDeviation(0);
      rows.forEach((row, k) => {
        mean[row] = moments.mean[0]! + std * prediction.mean[k]!;
        standardDeviation[row] = std * Math.sqrt(prediction.variance[k]! + gp.noise);
      });
      this.lastVariance.set(name, prediction.variance[0]!);
    }
    return { mean, standardDeviation };
  }

  /** Whether the task has a GP (it has been scored at least once). */
  hasTask(task: string): boolean {
    return this.tasks.has(task);
  }

  learn(examples: readonly Example[]): LearnResult {
    const status: GpTaskStatus[] = [];
    const x = new Float64Array(this.config.spec.inputDim);
    for (const [name, rows] of this.rowsByTask(examples)) {
      const { gp, moments } = this.task(name);
      for (const row of rows) moments.update([examples[row]!.y]);
      const mean = moments.mean[0]!;
      const std = moments.standardDeviation(0);
      const started = performance.now();
      for (const row of rows) {
        x.set(examples[row]!.x);
        gp.add(x, (examples[row]!.y - mean) / std);
      }
      status.push({
        task: name,
        windowSize: gp.size,
        refactorCount: gp.refactorCount,
        updateSeconds: (performance.now() - started) / 1000,
        pointsAdded: rows.length,
        meanPredictiveVariance: this.lastVariance.get(name) ?? Number.NaN,
      });
    }
    this.lastStatus = status;
    return { applied: true, loss: 0 };
  }

  /** Per task, what the last `learn` did. */
  status(): readonly GpTaskStatus[] {
    return this.lastStatus;
  }

  taskNames(): string[] {
    return [...this.tasks.keys()];
  }
}
