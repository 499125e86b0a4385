/**
 * Learning as a sequence of whole updates. A model's stepwise method is a
 * generator that `yield`s between two updates (an SGD step, one task's
 * points): at each yield the model is consistent, and a caller that must
 * keep the event loop free hands it back there. Run to the end without
 * pausing, it is exactly the same computation, in the same order.
 */
export type Stepwise<T> = Generator<void, T, void>;

/** Runs every step at once, synchronously. */
export function runToEnd<T>(steps: Stepwise<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * Runs the steps, awaiting `pause` at every yield. Abandoned (the pause or a
 * step throws), the generator is closed so its `finally` blocks release what
 * it holds.
 */
export async function runInTurns<T>(steps: Stepwise<T>, pause: () => Promise<void>): Promise<T> {
  try {
    for (;;) {
      const next = steps.next();
      if (next.done) return next.value;
      await pause();
    }
  } finally {
    steps.return(undefined as never);
  }
}

/** The same steps, adding the time each one runs (not the pauses between them) to `clock.ms`. */
export function* timed<T>(steps: Stepwise<T>, clock: { ms: number }): Stepwise<T> {
  try {
    for (;;) {
      const started = performance.now();
      const next = steps.next();
      clock.ms += performance.now() - started;
      if (next.done) return next.value;
      yield;
    }
  } finally {
    steps.return(undefined as never);
  }
}

/** A turn of the event loop: timers, I/O and HTTP callbacks waiting now run before the promise resolves. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
