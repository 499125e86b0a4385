import type { Producer } from 'kafkajs';
import type { Prediction } from '../pipeline/prediction.js';

/** The predictions topic's message value: a prediction as JSON (docs/serving.md). */
function encodePrediction(prediction: Prediction): string {
  return JSON.stringify(prediction);
}

/**
 * Sends predictions to the predictions topic keyed by task, so one task's
 * predictions stay in one partition in source order. The message timestamp
 * is the record's event time, so a re-sent prediction is identical in key,
 * value and timestamp. Resolves once every in-sync replica has them.
 */
export function predictionsPublisher(producer: Producer, topic: string): (predictions: readonly Prediction[]) => Promise<void> {
  return async (predictions) => {
    if (predictions.length === 0) return;
    await producer.send({
      topic,
      acks: -1,
      messages: predictions.map((p) => ({ key: p.task, value: encodePrediction(p), timestamp: String(Math.trunc(p.ts)) })),
    });
  };
}
