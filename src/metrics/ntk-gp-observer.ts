import type { NtkGpBaseline } from '../model/ntk-gp-baseline.js';
import type { BatchObserver } from '../pipeline/observe.js';
import type { LearnedBatch } from '../pipeline/records.js';
import type { TangentMetrics } from './metrics.js';

/** Exports the NTK-GP baseline's health after each batch. */
export class NtkGpObserver implements BatchObserver {
  private readonly refactorsSeen = new Map<string, number>();

  constructor(
    private readonly baseline: NtkGpBaseline,
    private readonly metrics: TangentMetrics,
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
  }
}
