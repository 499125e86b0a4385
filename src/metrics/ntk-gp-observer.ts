import type { Logger } from 'pino';
import type { NtkGpBaseline } from '../model/ntk-gp-baseline.js';
import type { BatchObserver } from '../pipeline/observe.js';
import type { LearnedBatch } from '../pipeline/records.js';
import type { TangentMetrics } from './metrics.js';

// A margin hovering at 1 as the window slides would otherwise warn on every estimate.
const recoveredBelow = 0.95;

/**
 * Exports the NTK-GP baseline's health after each batch and, every
 * `marginEvery` batches, the learning-rate stability margin of one task,
 * tasks in turn (each estimate is O(W²) per iteration, so estimating every
 * task at once would stall the pipeline for as many estimates as there are
 * tasks), with one warning when a task's margin reaches 1 (and one when it
 * falls back below 0.95).
 */
export class NtkGpObserver implements BatchObserver {
  private batches = 0;
  private estimates = 0;
  private readonly refactorsSeen = new Map<string, number>();
  private readonly unstable = new Set<string>();

  constructor(
    private readonly baseline: NtkGpBaseline,
    private readonly metrics: TangentMetrics,
    private readonly marginEvery: number,
    private readonly logger: Logger,
  ) {}

  observe(_batch: LearnedBatch): void {
    const m = this.metrics;
    for (const status of this.baseline.status()) {
      m.gpWindowSize.set({ task: status.task }, status.windowSize);
      if (status.pointsAdded > 0) m.gpPointUpdate.observe(status.updateSeconds / status.pointsAdded);
      const newRefactors = status.refactorCount - (this.refactorsSeen.get(status.task) ?? 0);
      if (newRefactors > 0) m.gpRefactorizations.inc({ task: status.task }, newRefactors);
      this.refactorsSeen.set(status.task, status.refactorCount);
      if (Number.isFinite(status.meanPredictiveVariance)) m.gpPredictiveVariance.set({ task: status.task }, status.meanPredictiveVariance);
    }
    if (++this.batches % this.marginEvery !== 0) return;
    const tasks = this.baseline.taskNames();
    if (tasks.length === 0) return;
    const task = tasks[this.estimates++ % tasks.length]!;
    const margin = this.baseline.stabilityMargin(task);
    if (margin === undefined) return;
    m.stabilityMargin.set({ task }, margin);
    if (margin >= 1 && !this.unstable.has(task)) {
      this.unstable.add(task);
      this.logger.warn({ task, margin }, 'learning rate above the stability bound η < 2/(λ_max + λ_min) of the NTK: lower model.learningRate');
    } else if (margin < recoveredBelow && this.unstable.delete(task)) {
      this.logger.info({ task, margin }, 'learning rate back under the stability bound (margin below 0.95)');
    }
  }
}
