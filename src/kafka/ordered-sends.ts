import type { Logger } from 'pino';

/**
 * Sends to one topic that go out one after the other, off the hot path: a failed send is logged,
 * not fatal, and the sends after it still go out.
 */
export class OrderedSends {
  private last: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly topic: string,
    private readonly logger: Logger,
    private readonly failure: string,
  ) {}

  send(work: () => Promise<unknown>): void {
    this.last = this.last.then(() => work()).catch((error: unknown) => this.logger.warn({ err: error, topic: this.topic }, this.failure));
  }

  /** Resolves once every send asked for so far has ended (sent or logged). */
  settled(): Promise<unknown> {
    return this.last;
  }
}
