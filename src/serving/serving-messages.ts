import type { PredictStatus } from '../metrics/metrics.js';

/** What the serving thread is started with. */
export interface ServingWorkerOptions {
  readonly host: string;
  /** 0: any free port (reported back in `listening`). */
  readonly port: number;
  readonly inputDim: number;
  readonly maxRequestBytes: number;
  readonly maxRequestRecords: number;
}

/** What the serving thread tells the learning thread. */
export type ServingThreadMessage =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'observed'; readonly status: PredictStatus; readonly seconds: number };
