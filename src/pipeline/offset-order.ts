/**
 * Kafka offsets as the pipeline keeps them: the int64 as kafkajs gives it, a
 * decimal string without sign or leading zeros. Ordered without parsing: the
 * shorter is the smaller, and strings of one length compare as their digits do.
 */
export function compareOffsets(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The offset after `offset`: where a consumer that has it resumes. */
export function offsetAfter(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}
