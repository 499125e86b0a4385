import { map, type OperatorFunction } from 'rxjs';
import type { OnlineModel } from '../model/online-model.js';
import type { LearnedBatch, ScoredBatch } from './records.js';

/** Stage: after scoring, every model learns the minibatch (one step each). */
export function learn(models: readonly Pick<OnlineModel, 'model' | 'learn'>[]): OperatorFunction<ScoredBatch, LearnedBatch> {
  return map((batch) => {
    const examples = batch.accepted.map((a) => a.example);
    const learned = models.map((m) => {
      const started = performance.now();
      const result = m.learn(examples);
      return { ...result, model: m.model, seconds: (performance.now() - started) / 1000 };
    });
    return { ...batch, learned };
  });
}
