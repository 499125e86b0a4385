import type { TangentMetrics } from '../metrics/metrics.js';
import { timed } from '../metrics/timed.js';
import type { PredictionColumns } from '../pipeline/prediction.js';

/** Publishes a batch's predictions and counts them: the publish stage's duration, each record's age when published, labeled or not. */
export function measuredPredictions(
  send: (predictions: PredictionColumns) => Promise<void>,
  metrics: TangentMetrics,
): (predictions: PredictionColumns) => Promise<void> {
  return async (predictions) => {
    await timed((s) => metrics.stageDuration.observe({ stage: 'publish' }, s), () => send(predictions));
    const now = Date.now();
    let labeled = 0;
    for (let k = 0; k < predictions.ts.length; k++) {
      labeled += predictions.labeled[k]!;
      metrics.recordToPrediction.observe(Math.max(0, now - predictions.ts[k]!) / 1000);
    }
    metrics.predictionsPublished.inc({ labeled: 'true' }, labeled);
    metrics.predictionsPublished.inc({ labeled: 'false' }, predictions.ts.length - labeled);
  };
}
