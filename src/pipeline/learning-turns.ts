/**
 * One thing at a time touches the learning state: a minibatch from scaling
 * to its checkpoint capture, a restore on assignment, an idle checkpoint.
 * A minibatch hands the event loop back between its steps (see
 * stepwise.ts), so without this another piece of work could land in the
 * middle of it. Work runs in the order it asked for a turn.
 *
 * The source asks {@link whenFree} before each record it emits, so no record
 * is decoded, admitted or batched while a minibatch is being learned: the
 * state a checkpoint captures holds exactly the records up to its position,
 * as when the whole minibatch ran synchronously.
 */
export class LearningTurns {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  private freeWaiters: (() => void)[] = [];

  /** Runs `work` once every turn asked for before has ended. */
  run<T>(work: () => Promise<T> | T): Promise<T> {
    this.waiting += 1;
    const result = this.tail.then(work);
    this.tail = result.then(
      () => this.ended(),
      () => this.ended(),
    );
    return result;
  }

  private ended(): void {
    this.waiting -= 1;
    if (this.waiting === 0) for (const wake of this.freeWaiters.splice(0)) wake();
  }

  /** Whether a turn is running or waiting. */
  get busy(): boolean {
    return this.waiting > 0;
  }

  /** Undefined when no turn is running or waiting (nothing to wait for); else resolves when none is. */
  whenFree(): Promise<void> | undefined {
    if (this.waiting === 0) return undefined;
    return new Promise((resolve) => this.freeWaiters.push(resolve));
  }
}
