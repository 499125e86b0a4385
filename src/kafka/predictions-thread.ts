import type { Worker } from 'node:worker_threads';
import { KafkaError } from '../errors.js';
import type { PredictionColumns } from '../pipeline/prediction.js';
import { startModuleWorker } from '../worker-thread.js';
import type { PredictionsReply, PredictionsRequest, PredictionsWorkerOptions } from './predictions-messages.js';

/** How long stop() lets the thread flush and disconnect its producer before ending it. */
const stopWithinMs = 10_000;

/**
 * Publishes predictions from a thread of its own (predictions-worker.ts). The
 * Kafka client encodes each message in JavaScript, at tens of microseconds a
 * message: on the learning thread that was more than all of tangent's own
 * ingest work. A send resolves once the broker has the batch, as before, so
 * a batch's predictions are still out before its offsets are committed.
 */
export class PredictionsThread {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private failure: Error | undefined;
  private stopping = false;

  private constructor(
    private readonly worker: Worker,
    /** Where the predictions go. */
    readonly topic: string,
  ) {
    worker.on('message', (message: PredictionsReply) => {
      if (message.type === 'sent') this.settle(message.id)?.resolve();
      else if (message.type === 'send-failed') {
        this.settle(message.id)?.reject(
          new KafkaError(`cannot publish predictions to ${topic}: ${message.message}`, { topic }, { retriable: message.retriable }),
        );
      }
    });
    worker.on('error', (error) => this.fail(new KafkaError(`the predictions thread failed: ${error.message}`, { topic }, { cause: error })));
    worker.on('exit', (code) => {
      if (!this.stopping) this.fail(new KafkaError(`the predictions thread exited with code ${code}`, { topic }));
    });
    // The consumer's own handles keep the process alive; this thread alone never should.
    worker.unref();
  }

  /** Starts the thread and connects its producer; rejects when it cannot connect. */
  static async start(options: PredictionsWorkerOptions): Promise<PredictionsThread> {
    const worker = startModuleWorker(import.meta.url, 'predictions-worker', options);
    try {
      await new Promise<void>((resolve, reject) => {
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`exited with code ${code} before connecting`)));
        worker.on('message', function connected(message: PredictionsReply) {
          if (message.type === 'ready') resolve();
          else if (message.type === 'failed') reject(new Error(message.message));
          if (message.type === 'ready' || message.type === 'failed') worker.off('message', connected);
        });
      });
    } catch (cause) {
      await worker.terminate();
      throw new KafkaError(`cannot start publishing predictions to ${options.topic}: ${(cause as Error).message}`, { topic: options.topic }, { retriable: true, cause });
    }
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    return new PredictionsThread(worker, options.topic);
  }

  /** Sends a batch's predictions; resolves once the broker has them all. */
  send(predictions: PredictionColumns): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.stopping) return Promise.reject(new KafkaError(`predictions to ${this.topic} sent after stop`, { topic: this.topic }));
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'send', id, predictions } satisfies PredictionsRequest);
    });
  }

  /** Disconnects the thread's producer (sends still pending are given up with an error) and ends the thread. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const stopped = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, stopWithinMs);
      this.worker.on('message', (message: PredictionsReply) => {
        if (message.type !== 'stopped') return;
        clearTimeout(timer);
        resolve();
      });
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.worker.postMessage({ type: 'stop' } satisfies PredictionsRequest);
    await stopped;
    await this.worker.terminate();
    this.fail(new KafkaError(`predictions to ${this.topic} not sent: publishing stopped`, { topic: this.topic }));
  }

  private settle(id: number): { resolve: () => void; reject: (error: Error) => void } | undefined {
    const waiting = this.pending.get(id);
    this.pending.delete(id);
    return waiting;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}
