import type { PredictionColumns } from '../pipeline/prediction.js';
import type { KafkaClientSettings } from './kafka-client.js';

/** What the predictions thread is started with. */
export interface PredictionsWorkerOptions {
  readonly kafka: KafkaClientSettings;
  readonly topic: string;
  /** The learning thread's log level, for the thread's own logger. */
  readonly logLevel: string;
}

/** What the learning thread asks of the predictions thread. */
export type PredictionsRequest =
  | { readonly type: 'send'; readonly id: number; readonly predictions: PredictionColumns }
  | { readonly type: 'stop' };

/** What the predictions thread answers. */
export type PredictionsReply =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'sent'; readonly id: number }
  | { readonly type: 'send-failed'; readonly id: number; readonly message: string; readonly retriable: boolean }
  | { readonly type: 'stopped' };
