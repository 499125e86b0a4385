import type { BatchObserver } from '../pipeline/observe.js';
import type { LearnedBatch } from '../pipeline/records.js';
import { SlidingMean } from '../math/sliding-mean.js';

/**
 * The one-line live summary for people at a terminal: throughput, dead
 * letters and the recent prequential MAE per model.
 */
export class ProgressLine implements BatchObserver {
  private learned = 0;
  private deadLettered = 0;
  private learnedAtLastLine = 0;
  private lastLineAt = performance.now();
  private readonly mae = new Map<string, SlidingMean>();

  constructor(private readonly window = 2000) {}

  observe(batch: LearnedBatch): void {
    this.learned += batch.accepted.length;
    this.deadLettered += batch.rejected.length;
    for (const { model, predictions } of batch.scores) {
      let mean = this.mae.get(model);
      if (!mean) this.mae.set(model, (mean = new SlidingMean(this.window)));
      batch.accepted.forEach(({ example }, i) => mean.push(Math.abs(predictions[i]! - example.y)));
    }
  }

  /** Renders the line and starts a new rate interval. */
  line(extra: string): string {
    const now = performance.now();
    const rate = ((this.learned - this.learnedAtLastLine) * 1000) / Math.max(1, now - this.lastLineAt);
    this.learnedAtLastLine = this.learned;
    this.lastLineAt = now;
    const errors = [...this.mae].map(([model, m]) => `MAE(${model}, last ${m.count}) ${m.mean.toFixed(3)}`).join(' · ');
    return [
      `${this.learned.toLocaleString('en-US')} learned (${Math.round(rate).toLocaleString('en-US')}/s)`,
      `${this.deadLettered.toLocaleString('en-US')} dead-lettered`,
      errors || 'no predictions yet',
      extra,
    ]
      .filter(Boolean)
      .join(' · ');
  }

  get totals(): { learned: number; deadLettered: number } {
    return { learned: this.learned, deadLettered: this.deadLettered };
  }
}
