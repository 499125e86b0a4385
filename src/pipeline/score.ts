import { map, type OperatorFunction } from 'rxjs';
import type { OnlineModel } from '../model/online-model.js';
import type { Batch, ModelScores, ScoredBatch } from './records.js';

/**
 * Stage (test-then-train): every model predicts each record of the batch
 * before any model learns from it; these are the honest online errors, and
 * the predictions the publish stage sends. Labeled and unlabeled records are
 * scored in one call per model, labeled first.
 */
export function score(
  models: readonly Pick<OnlineModel, 'model' | 'predict' | 'predictWithUncertainty'>[],
  modelVersion: () => number,
  /** Ask models with one for their predictive standard deviation too (the NTK-GP: O(W²) per record instead of O(W)). */
  uncertainty = true,
): OperatorFunction<Batch, ScoredBatch> {
  return map((batch) => {
    const version = modelVersion();
    const queries = [...batch.accepted.map((a) => a.example), ...batch.unlabeled.map((u) => u.example)];
    const started = performance.now();
    const scores = models.map((m): ModelScores => {
      if (!uncertainty || !m.predictWithUncertainty) return { model: m.model, predictions: m.predict(queries) };
      const { mean, standardDeviation } = m.predictWithUncertainty(queries);
      return { model: m.model, predictions: mean, standardDeviations: standardDeviation };
    });
    return { ...batch, scores, scoreSeconds: (performance.now() - started) / 1000, modelVersion: version };
  });
}
