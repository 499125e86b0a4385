import { concatMap, type OperatorFunction } from 'rxjs';
import type { OnlineModel } from '../model/online-model.js';
import { runInTurns, timed } from '../model/stepwise.js';
import type { LearnedBatch, ModelLearning, ScoredBatch } from './records.js';

/**
 * Stage: after scoring, every model learns the minibatch (one step each, and
 * a fine-tuning phase when one is due), handing the event loop back at
 * `pause` before each model and between two of its whole updates, so a
 * phase of many steps never holds HTTP or kafkajs' heartbeats for its whole
 * length. A model's `seconds` count its own steps, not the pauses.
 */
export function learn(models: readonly Pick<OnlineModel, 'model' | 'learnInSteps'>[], pause: () => Promise<void>): OperatorFunction<ScoredBatch, LearnedBatch> {
  return concatMap(async (batch) => {
    const examples = batch.accepted.map((a) => a.example);
    const learned: ModelLearning[] = [];
    for (const m of models) {
      await pause();
      const clock = { ms: 0 };
      const result = await runInTurns(timed(m.learnInSteps(examples), clock), pause);
      learned.push({ ...result, model: m.model, seconds: clock.ms / 1000 });
    }
    return { ...batch, learned };
  });
}
