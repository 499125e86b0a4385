import { tap, type OperatorFunction } from 'rxjs';
import type { LearnedBatch } from './records.js';

/** Anything that watches learned batches: metrics, drift detectors, the progress line. */
export interface BatchObserver {
  observe(batch: LearnedBatch): void;
}

/** Stage: hands each learned batch to every observer, in order. */
export function observe(observers: readonly BatchObserver[]): OperatorFunction<LearnedBatch, LearnedBatch> {
  return tap((batch) => {
    for (const observer of observers) observer.observe(batch);
  });
}
