import type { Worker } from 'node:worker_threads';
import type { PredictStatus } from '../metrics/metrics.js';
import type { ServingThreadMessage, ServingWorkerOptions } from './serving-messages.js';
import { transferables, type SnapshotUpdate } from './snapshot-update.js';
import { startModuleWorker } from '../worker-thread.js';

export interface ServingThreadHooks {
  /** Told about every answered request: its status and seconds from arrival to response. */
  observe(status: PredictStatus, seconds: number): void;
  /** The thread stopped unexpectedly. */
  failed(error: Error): void;
}

/**
 * `POST /predict` on a thread of its own (predict-worker.ts). The learning
 * thread hands it a snapshot after every minibatch; the serving thread
 * answers from the newest, so a request waits for no piece of learning.
 */
export class ServingThread {
  private constructor(
    private readonly worker: Worker,
    /** Where it listens. */
    readonly port: number,
  ) {}

  static async start(options: ServingWorkerOptions, hooks: ServingThreadHooks): Promise<ServingThread> {
    const worker = startModuleWorker(import.meta.url, 'predict-worker', options);
    const port = await new Promise<number>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the serving thread exited with code ${code} before listening`)));
      worker.on('message', (message: ServingThreadMessage) => {
        if (message.type === 'listening') resolve(message.port);
        else if (message.type === 'failed') reject(new Error(`POST /predict cannot listen on ${options.host}:${options.port}: ${message.message}`));
        else hooks.observe(message.status, message.seconds);
      });
    }).catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    });
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    worker.on('error', (error) => hooks.failed(error));
    // The consumer's own handles keep the process alive; the serving thread alone never should.
    worker.unref();
    const thread = new ServingThread(worker, port);
    worker.on('exit', (code) => {
      if (!thread.stopped) hooks.failed(new Error(`the serving thread exited with code ${code}`));
    });
    return thread;
  }

  private stopped = false;

  /** Hands the serving thread the model as it stands now; its buffers move there. */
  publish(update: SnapshotUpdate): void {
    if (!this.stopped) this.worker.postMessage(update, transferables(update));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.worker.terminate();
  }
}
