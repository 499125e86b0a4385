/**
 * Runs `work`, retrying errors kafkajs marks retriable (a fresh broker's group
 * coordinator still loading, a new partition without an elected leader yet)
 * with a growing pause; any other error, or the last attempt's, is thrown.
 */
export async function retrying<T>(work: () => Promise<T>, options: { attempts?: number; pauseMs?: number } = {}): Promise<T> {
  const attempts = options.attempts ?? 20;
  const pauseMs = options.pauseMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || (error as { retriable?: boolean } | undefined)?.retriable !== true) throw error;
      await new Promise((resolve) => setTimeout(resolve, pauseMs * Math.min(attempt, 8)));
    }
  }
}
