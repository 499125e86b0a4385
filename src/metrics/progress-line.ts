import type { BatchObserver } from '../pipeline/observe.js';
import { observedTarget, type LearnedBatch } from '../pipeline/records.js';
import { SlidingMean } from '../math/sliding-mean.js';
import type { StreamTotals } from './stream-totals.js';

/**
 * The one-line live summary for people at a terminal: throughput, dead
 * letters, rejected steps and, per model, the whole-stream prequential MAE
 * beside the recent one. Counts come from the consumer's StreamTotals, the
 * same numbers the metrics export.
 */
export class ProgressLine implements BatchObserver {
  private learnedAtLastLine = 0;
  private lastLineAt = performance.now();
  private readonly mae = new Map<string, SlidingMean>();

  constructor(
    private readonly counts: StreamTotals,
    private readonly window = 2000,
  ) {}

  observe(batch: LearnedBatch): void {
    for (const { model, predictions } of batch.scores) {
      let mean = this.mae.get(model);
      if (!mean) this.mae.set(model, (mean = new SlidingMean(this.window)));
      batch.accepted.forEach((record, i) => {
        const error = Math.abs(predictions[i]! - observedTarget(record));
        if (Number.isFinite(error)) mean.push(error);
      });
    }
  }

  /** Renders the line and starts a new rate interval. */
  line(extra: string): string {
    const now = performance.now();
    const { learned, deadLettered } = this.counts;
    const rate = ((learned - this.learnedAtLastLine) * 1000) / Math.max(1, now - this.lastLineAt);
    this.learnedAtLastLine = learned;
    this.lastLineAt = now;
    const errors = this.counts
      .prequentialByModel()
      .map((t) => {
        const recent = this.mae.get(t.model);
        const parts = [`MAE(${t.model}) ${t.mae.toFixed(3)}`];
        if (recent && recent.count < t.records) parts.push(`last ${recent.count} ${recent.mean.toFixed(3)}`);
        if (t.nonFinite > 0) parts.push(`${t.nonFinite.toLocaleString('en-US')} non-finite`);
        return parts.join(', ');
      })
      .join(' · ');
    const rejected = [...this.counts.rejectedSteps].filter(([, n]) => n > 0).map(([model, n]) => `${n.toLocaleString('en-US')} ${model} steps rejected`);
    return [
      `${learned.toLocaleString('en-US')} learned (${Math.round(rate).toLocaleString('en-US')}/s)`,
      `${deadLettered.toLocaleString('en-US')} dead-lettered`,
      errors || 'no predictions yet',
      ...rejected,
      extra,
    ]
      .filter(Boolean)
      .join(' · ');
  }

  get totals(): { learned: number; deadLettered: number } {
    return { learned: this.counts.learned, deadLettered: this.counts.deadLettered };
  }
}
