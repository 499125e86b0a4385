import { map, type OperatorFunction } from 'rxjs';
import type { OnlineModel } from '../model/online-model.js';
import type { Batch, ScoredBatch } from './records.js';

/**
 * Stage (test-then-train): every model predicts each record of the batch
 * before any model learns from it; these are the honest online errors.
 */
export function score(models: readonly Pick<OnlineModel, 'model' | 'predict'>[]): OperatorFunction<Batch, ScoredBatch> {
  return map((batch) => {
    const examples = batch.accepted.map((a) => a.example);
    const started = performance.now();
    const scores = models.map((m) => ({ model: m.model, predictions: m.predict(examples) }));
    return { ...batch, scores, scoreSeconds: (performance.now() - started) / 1000 };
  });
}
