import { concatMap, type OperatorFunction } from 'rxjs';
import type { OnlineModel } from '../model/online-model.js';
import { runInTurns, timed } from '../model/stepwise.js';
import type { Batch, ModelScores, ScoredBatch } from './records.js';

/**
 * Stage (test-then-train): every model predicts each record of the batch
 * before any model learns from it; these are the honest online errors, and
 * the predictions the publish stage sends. Labeled and unlabeled records are
 * scored in one call per model, labeled first.
 */
export function score(
  models: readonly Pick<OnlineModel, 'model' | 'predict' | 'predictWithUncertainty' | 'scoreInSteps'>[],
  modelVersion: () => number,
  /** Ask models with one for their predictive standard deviation too (the NTK-GP: O(W²) per record instead of O(W)). */
  uncertainty = true,
  /** Hands the event loop back between two models. */
  pause: () => Promise<void> = () => Promise.resolve(),
): OperatorFunction<Batch, ScoredBatch> {
  return concatMap(async (batch) => {
    const version = modelVersion();
    const queries = [...batch.accepted.map((a) => a.example), ...batch.unlabeled.map((u) => u.example)];
    const clock = { ms: 0 };
    const scores: ModelScores[] = [];
    for (const m of models) {
      if (scores.length > 0) await pause();
      const withUncertainty = uncertainty && m.predictWithUncertainty !== undefined;
      if (m.scoreInSteps) {
        const { mean, standardDeviation } = await runInTurns(timed(m.scoreInSteps(queries, withUncertainty), clock), pause);
        scores.push({ model: m.model, predictions: mean, ...(withUncertainty ? { standardDeviations: standardDeviation } : {}) });
        continue;
      }
      const started = performance.now();
      if (uncertainty && m.predictWithUncertainty) {
        const { mean, standardDeviation } = m.predictWithUncertainty(queries);
        scores.push({ model: m.model, predictions: mean, standardDeviations: standardDeviation });
      } else scores.push({ model: m.model, predictions: m.predict(queries) });
      clock.ms += performance.now() - started;
    }
    return { ...batch, scores, scoreSeconds: clock.ms / 1000, modelVersion: version };
  });
}
