import type { Logger } from 'pino';
import type { CheckpointWriter } from '../checkpoint/checkpoint-writer.js';
import type { StreamPosition, StreamPositionState } from '../checkpoint/stream-position.js';
import type { KafkaSource } from '../kafka/kafka-source.js';

export interface CheckpointNowParts {
  readonly writer: CheckpointWriter;
  readonly source: Pick<KafkaSource, 'commit' | 'owns' | 'offsets'>;
  readonly position: StreamPosition;
  /** Replay steps the network's deferred phases owe now (0 when it does not learn). */
  readonly replayOwed: () => number;
  /** Publishes the trunk as it is now, merging nothing (absent without a trunk topic). */
  readonly publishTrunk?: () => Promise<void>;
  readonly logger: Logger;
}

/**
 * Checkpoints and commits everything learned, out of the pipeline's own cadence: before a rebalance
 * moves partitions away, at stop, and on the idle timer. The caller holds the pipeline idle (a turn of
 * its own, nothing in flight), so the captured state holds exactly the records up to its position.
 * The pipeline's own checkpoints go through the same writer, one write after the other.
 */
export class CheckpointNow {
  constructor(private readonly parts: CheckpointNowParts) {}

  /**
   * Before partitions move: the trunk first, so their next owner starts from the very trunk their heads
   * were trained with; stored when the model moved since the newest checkpoint, so the changelog holds
   * the heads that go with that trunk.
   *
   * @returns whether the commit was accepted
   */
  async handover(): Promise<boolean> {
    await this.parts.publishTrunk?.();
    return this.parts.source.commit(await this.store(false));
  }

  /**
   * At stop: the trunk first, then always stored, even with no batch since the newest checkpoint:
   * replay steps between minibatches may have moved the trunk just published, and the newest
   * checkpoint must hold that trunk (an export from the checkpoint and one from Kafka agree). A failed
   * commit is logged, not thrown: the stored checkpoint restores the position, and the stop goes on
   * to release what it holds.
   *
   * @returns whether the commit was accepted
   */
  async stop(): Promise<boolean> {
    await this.parts.publishTrunk?.();
    const offsets = await this.store(true);
    return this.parts.source.commit(offsets).catch((error: unknown) => {
      this.parts.logger.warn({ err: error }, 'final commit failed');
      return false;
    });
  }

  /**
   * On the idle timer: stored when a batch was learned since the newest checkpoint; otherwise only a
   * commit refused earlier (the group was rebalancing) is made again, since no batch came after to
   * carry it. Replay steps paid since are not a reason to store: a restore pays what the checkpoint
   * owes, to the same weights, and the timer also ticks in the gaps of a backlog replay, where it
   * would store nearly every interval. The trunk keeps its cadence of learned batches.
   */
  async idle(): Promise<void> {
    if (this.parts.position.batches > this.parts.writer.storedBatches) {
      await this.parts.source.commit(await this.store(true));
      return;
    }
    const { source, position } = this.parts;
    const owned = position.toJSON().offsets.filter((o) => source.owns(o.topic, o.partition));
    if (source.offsets.commitsBehind(owned)) await source.commit(owned);
  }

  /**
   * A batch learned since the newest stored checkpoint, or replay steps its deferred phases owed
   * paid since (between minibatches, with `fineTune.yieldToRecords`): the trunk and the replayed
   * tasks' heads moved.
   */
  private movedSinceStored(): boolean {
    const { position, writer, replayOwed } = this.parts;
    return position.batches > writer.storedBatches || replayOwed() < writer.storedReplayOwed;
  }

  /** @returns the offsets the state continues from, to commit */
  private async store(always: boolean): Promise<StreamPositionState['offsets']> {
    if (!always && !this.movedSinceStored()) return this.parts.position.toJSON().offsets;
    const snapshot = this.parts.writer.capture();
    await this.parts.writer.store(snapshot);
    return snapshot.state.position.offsets;
  }
}
