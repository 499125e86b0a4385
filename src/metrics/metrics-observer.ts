import { SlidingMean } from '../math/sliding-mean.js';
import type { ModelName, ReplayProgress } from '../model/online-model.js';
import type { BatchObserver } from '../pipeline/observe.js';
import { observedTarget, type LearnedBatch } from '../pipeline/records.js';
import type { TangentMetrics } from './metrics.js';

/**
 * Turns learned batches into metric updates. Errors are summed per
 * (task, model) within a batch first, so the hot path does one labelled
 * increment per task and model, not one per record.
 */
export class MetricsObserver implements BatchObserver {
  private readonly windows = new Map<string, SlidingMean>();
  private readonly tasksSeen = new Set<string>();

  /**
   * @param watched - the models and drift detectors in use: their counters
   *   start at 0 for each task, so a rate() over them has data before the first event
   */
  constructor(
    private readonly metrics: TangentMetrics,
    private readonly maeWindow: number,
    private readonly taskCount: () => number,
    private readonly watched: { readonly models: readonly ModelName[]; readonly driftModels: readonly ModelName[]; readonly detectors: readonly string[] },
    private readonly now: () => number = Date.now,
  ) {
    for (const result of ['learned', 'dead_lettered', 'unlabeled'] as const) metrics.records.inc({ result }, 0);
    for (const model of watched.models) {
      for (const result of ['applied', 'rejected']) metrics.sgdSteps.inc({ model, result }, 0);
    }
  }

  private firstSight(task: string): void {
    if (this.tasksSeen.has(task)) return;
    this.tasksSeen.add(task);
    for (const model of this.watched.driftModels) {
      for (const detector of this.watched.detectors) this.metrics.driftDetections.inc({ task, model, detector }, 0);
    }
    if (this.watched.models.includes('ntkgp')) this.metrics.gpRefactorizations.inc({ task }, 0);
  }

  private window(task: string, model: ModelName): SlidingMean {
    const key = `${model}\u0000${task}`;
    let window = this.windows.get(key);
    if (!window) this.windows.set(key, (window = new SlidingMean(this.maeWindow)));
    return window;
  }

  observe(batch: LearnedBatch): void {
    const m = this.metrics;
    for (const { example } of batch.accepted) this.firstSight(example.task);
    // Every accepted record is learned, whatever the step's fate: rejected steps have their own counter.
    m.records.inc({ result: 'learned' }, batch.accepted.length);
    m.records.inc({ result: 'unlabeled' }, batch.unlabeled.length);

    for (const { model, predictions } of batch.scores) {
      const sums = new Map<string, { absolute: number; squared: number; count: number; nonFinite: number }>();
      batch.accepted.forEach((record, i) => {
        const { example } = record;
        const error = predictions[i]! - observedTarget(record);
        let sum = sums.get(example.task);
        if (!sum) sums.set(example.task, (sum = { absolute: 0, squared: 0, count: 0, nonFinite: 0 }));
        // Counted as scored and as non-finite; the error sums cannot take it (prom-client rejects non-finite increments).
        if (!Number.isFinite(error * error)) {
          sum.count += 1;
          sum.nonFinite += 1;
          return;
        }
        sum.absolute += Math.abs(error);
        sum.squared += error * error;
        sum.count += 1;
        this.window(example.task, model).push(Math.abs(error));
      });
      for (const [task, sum] of sums) {
        const labels = { task, model };
        m.absoluteError.inc(labels, sum.absolute);
        m.squaredError.inc(labels, sum.squared);
        m.predictions.inc(labels, sum.count);
        m.nonFinitePredictions.inc(labels, sum.nonFinite);
        if (sum.count > sum.nonFinite) m.windowMae.set(labels, this.window(task, model).mean);
      }
    }

    for (const learned of batch.learned) {
      m.sgdSteps.inc({ model: learned.model, result: learned.applied ? 'applied' : 'rejected' });
      if (learned.fineTune) {
        const { steps, rejectedSteps } = learned.fineTune;
        m.sgdSteps.inc({ model: learned.model, result: 'applied' }, Math.max(0, steps - rejectedSteps));
        m.sgdSteps.inc({ model: learned.model, result: 'rejected' }, rejectedSteps);
      }
      if (Number.isFinite(learned.loss)) m.trainingLoss.set({ model: learned.model }, learned.loss);
      m.stageDuration.observe({ stage: 'learn' }, learned.seconds);
      if (learned.fineTune) {
        m.fineTunePhases.inc();
        m.fineTuneDuration.observe(learned.fineTune.seconds);
      }
      if (learned.replay) this.replayed(learned.model, learned.replay);
    }
    m.stageDuration.observe({ stage: 'score' }, batch.scoreSeconds);
    m.batches.inc();
    m.tasks.set(this.taskCount());
    const now = this.now();
    for (const { example } of batch.accepted) m.ingestToLearned.observe(Math.max(0, now - example.ts) / 1000);
  }

  /** Replay steps of deferred phases, in a batch's turn or one of their own (pipeline/idle-replay.ts). */
  replayed(model: ModelName, progress: ReplayProgress): void {
    const m = this.metrics;
    m.sgdSteps.inc({ model, result: 'applied' }, Math.max(0, progress.steps - progress.rejectedSteps));
    m.sgdSteps.inc({ model, result: 'rejected' }, progress.rejectedSteps);
    m.fineTunePhases.inc(progress.phasesBegun);
    for (const phase of progress.phasesEnded) m.fineTuneDuration.observe(phase.seconds);
  }

  /** After the commit: the whole batch is done. */
  committed(batch: LearnedBatch): void {
    // Counted once published (the dead-letter stage runs before the commit), never before.
    for (const rejected of batch.rejected) this.metrics.countDeadLetter(rejected.reason);
    this.metrics.batchDuration.observe((this.now() - batch.formedAt) / 1000);
  }
}
