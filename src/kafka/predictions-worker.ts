/**
 * The predictions thread: a producer of its own that encodes and sends each
 * batch's predictions (predictions-publisher.ts), so the learning thread
 * spends no time in the Kafka client's per-message encoding. Started by
 * predictions-thread.ts; speaks to it only by messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Partitioners } from 'kafkajs';
import { createLogger } from '../logger.js';
import { errorMessage } from '../errors.js';
import { createKafka } from './kafka-client.js';
import { predictionsFromColumns, type Prediction } from '../pipeline/prediction.js';
import type { PredictionsReply, PredictionsRequest, PredictionsWorkerOptions } from './predictions-messages.js';
import { predictionsPublisher } from './predictions-publisher.js';
import { CoalescedSends } from './coalesced-sends.js';
import { untilDelivered, warnEachRetry } from './until-delivered.js';

const options = workerData as PredictionsWorkerOptions;
const port = parentPort!;
const reply = (message: PredictionsReply): void => port.postMessage(message);
const logger = createLogger('tangent', options.logLevel).child({ thread: 'predictions' });
const producer = createKafka(options.kafka, logger).producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
const publish = predictionsPublisher(producer, options.topic);
// At most 2,048 predictions (about 0.5 MB) a send: well within a topic's default message and request limits.
const sends = new CoalescedSends(
  (predictions: readonly Prediction[]) =>
    untilDelivered(() => publish(predictions), warnEachRetry(logger, options.topic, 'predictions')),
  2048,
);

port.on('message', (request: PredictionsRequest) => {
  if (request.type === 'stop') {
    void producer
      .disconnect()
      .catch((error: unknown) => logger.warn({ err: error }, 'predictions producer did not disconnect cleanly'))
      .then(() => reply({ type: 'stopped' }));
    return;
  }
  sends.send(predictionsFromColumns(request.predictions)).then(
    () => reply({ type: 'sent', id: request.id }),
    (error: unknown) =>
      reply({ type: 'send-failed', id: request.id, message: errorMessage(error), retriable: (error as { retriable?: unknown } | undefined)?.retriable === true }),
  );
});

producer.connect().then(
  () => reply({ type: 'ready' }),
  (error: unknown) => reply({ type: 'failed', message: errorMessage(error) }),
);
