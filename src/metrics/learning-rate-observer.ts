import type { Logger } from 'pino';
import type { ReplayProgress } from '../model/online-model.js';
import type { BatchObserver } from '../pipeline/observe.js';
import type { LearnedBatch } from '../pipeline/records.js';
import type { TangentMetrics } from './metrics.js';

// A margin hovering at 1 from batch to batch would otherwise warn on every step.
const recoveredBelow = 0.95;

/**
 * Exports the network's η and stability margin per task after each step,
 * warns once when a task's margin reaches 1 (and once when it falls back
 * below 0.95), and warns with counts whenever the divergence protection
 * lowers η.
 */
export class LearningRateObserver implements BatchObserver {
  private readonly unstable = new Set<string>();

  constructor(
    private readonly metrics: TangentMetrics,
    private readonly logger: Logger,
  ) {}

  observe(batch: LearnedBatch): void {
    const network = batch.learned.find((l) => l.model === 'nn');
    if (!network) return;
    for (const { task, learningRate, margin } of network.learningRates ?? []) {
      this.metrics.learningRate.set({ task }, learningRate);
      if (!Number.isFinite(margin)) continue;
      this.metrics.stabilityMargin.set({ task }, margin);
      if (margin >= 1 && !this.unstable.has(task)) {
        this.unstable.add(task);
        this.logger.warn(
          { task, learningRate, margin },
          "learning rate above the stability bound η < 2/(λ'_max + λ'_min) of the step's NTK: set model.learningRate to auto or lower it",
        );
      } else if (margin < recoveredBelow && this.unstable.delete(task)) {
        this.logger.info({ task, learningRate, margin }, 'learning rate back under the stability bound (margin below 0.95)');
      }
    }
    if (network.backoff) {
      this.logger.warn(network.backoff, 'repeated rejected steps: learning rate halved and the heads of the batch reset');
    }
    const phase = network.fineTune ?? network.replay;
    if (phase) this.replayed(phase);
  }

  /** Replay steps of the network's fine-tuning, in a batch's turn or one of their own (pipeline/idle-replay.ts). */
  replayed({ rejectedSteps, learningRateScale }: Pick<ReplayProgress, 'rejectedSteps' | 'learningRateScale'>): void {
    if (learningRateScale === undefined) return;
    this.logger.warn({ rejectedSteps, learningRateScale }, 'a fine-tuning step was rejected: trunk restored to the start of the phase, learning rate halved');
  }
}
