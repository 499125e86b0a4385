import type { TangentMetrics } from '../metrics/metrics.js';
import { timed } from '../metrics/timed.js';
import type { Prediction } from '../pipeline/prediction.js';

/** Publishes a batch's predictions and counts them: the publish stage's duration, each record's age when published, labeled or not. */
export function measuredPredictions(
  send: (predictions: readonly Prediction[]) => Promise<void>,
  metrics: TangentMetrics,
): (predictions: readonly Prediction[]) => Promise<void> {
  return async (predictions) => {
    await timed((s) => metrics.stageDuration.observe({ stage: 'publish' }, s), () => send(predictions));
    const now = Date.now();
    let labeled = 0;
    for (const p of predictions) {
      if (p.labeled) labeled += 1;
      metrics.recordToPrediction.observe(Math.max(0, now - p.ts) / 1000);
    }
    metrics.predictionsPublished.inc({ labeled: 'true' }, labeled);
    metrics.predictionsPublished.inc({ labeled: 'false' }, predictions.length - labeled);
  };
}
