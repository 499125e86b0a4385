/** Runs `work` and tells `observe` how long it took in seconds, whether it succeeded or threw. */
export async function timed<T>(observe: (seconds: number) => void, work: () => Promise<T> | T): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    observe((performance.now() - started) / 1000);
  }
}
