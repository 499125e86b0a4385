import type { Logger } from 'pino';
import type { KafkaSource } from '../kafka/kafka-source.js';
import type { LearningTurns } from '../pipeline/learning-turns.js';
import type { CheckpointNow } from './checkpoint-now.js';

export interface IdleCheckpointParts {
  readonly intervalMs: number;
  readonly turns: LearningTurns;
  readonly source: Pick<KafkaSource, 'isDraining' | 'flow'>;
  readonly checkpoints: CheckpointNow;
  /** Whether the consumer is stopping or has failed: then the timer does nothing. */
  readonly halted: () => boolean;
  readonly logger: Logger;
}

/**
 * An idle stream is checkpointed and committed on a timer: the checkpoint stage only runs when a
 * batch passes, so without this the offsets of the last batches before a pause stay uncommitted (lag
 * above 0) until the next record. Each tick is a turn of its own, with nothing in flight: the state
 * holds exactly the records up to the position. Off with an interval of 0.
 *
 * @returns stops the timer
 */
export function startIdleCheckpoints(parts: IdleCheckpointParts): () => void {
  const { intervalMs, turns, source, checkpoints, halted, logger } = parts;
  if (intervalMs <= 0) return () => undefined;
  const checkpointWhenIdle = (): Promise<void> =>
    turns.run(async () => {
      if (halted() || source.isDraining || source.flow.inFlight > 0) return;
      await checkpoints.idle();
    });
  const timer = setInterval(() => void checkpointWhenIdle().catch((error: unknown) => logger.warn({ err: error }, 'idle checkpoint failed')), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
