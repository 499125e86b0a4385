import { asyncScheduler, Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';
import type { Consumer } from 'kafkajs';
import type { Logger } from 'pino';

/**
 * The batch stage's linger scheduler, with a way to fire it early: every
 * pending linger flush can be run now (`flushNow`), which is how a handover
 * closes the partial minibatch. With `lingerMs` 0 it never fires by itself,
 * so batches stay count-based (deterministic) outside handovers.
 */
export class FlushableScheduler implements SchedulerLike {
  private readonly pending = new Set<() => void>();

  /** @param fires - whether scheduled flushes also fire on their own after their delay */
  constructor(private readonly fires: boolean) {}

  now(): number {
    return asyncScheduler.now();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    let timer: Subscription | undefined;
    const subscription = new Subscription(() => {
      this.pending.delete(fire);
      timer?.unsubscribe();
    });
    const fire = (): void => {
      subscription.unsubscribe();
      // The batch stage's flush is an arrow function: it never looks at `this`.
      work.call(undefined as unknown as SchedulerAction<T>, state);
    };
    this.pending.add(fire);
    if (this.fires) timer = asyncScheduler.schedule(fire, delay);
    return subscription;
  }

  /** Runs every pending flush now. */
  flushNow(): void {
    for (const fire of [...this.pending]) fire();
  }
}

/** Thrown from kafkajs' REBALANCING listener to hold the rejoin back; kafkajs retries its fetch loop. */
export class RebalanceBarrier extends Error {
  readonly retriable = true;
  constructor() {
    super('tangent is committing what it learned before rejoining the group');
    this.name = 'TangentRebalanceBarrier';
  }
}

export interface HandoverParts {
  readonly consumer: Consumer;
  readonly logger: Logger;
  /** Stops the source emitting until the next group join. */
  suspend(): void;
  /** Closes the partial minibatch (it is learned like any other). */
  flushPartialBatch(): void;
  /** Resolves when every emitted record has left the pipeline. */
  whenIdle(): Promise<void>;
  /** Checkpoints what is learned beyond the last checkpoint and commits the position; resolves whether Kafka accepted it. */
  checkpointAndCommit(): Promise<boolean>;
  /** True once a graceful stop has begun (it checkpoints and commits by itself, then leaves the group). */
  stopping(): boolean;
  /** How long the rejoin may be held back before giving up (well below the group's rebalance timeout). */
  readonly maxMillis: number;
}

/**
 * A revocation barrier for kafkajs, which has no "partitions revoked"
 * callback. When a rebalance starts, kafkajs emits REBALANCING synchronously
 * and then rejoins the group. This listener holds the rejoin back — by
 * throwing, which makes kafkajs' runner retry its fetch loop instead — until
 * this member has (1) stopped taking records in, (2) learned its partial
 * minibatch, (3) drained the pipeline (dead letters published, checkpoints
 * stored and committed) and (4) checkpointed and committed the exact
 * position of everything it learned. Those commits are sent before this
 * member's JoinGroup, on the same coordinator connection, so the group
 * (waiting in PreparingRebalance for this member, which cannot complete
 * without it) accepts them before any new owner reads its starting offsets.
 * Records learned by a member therefore end exactly where the next owner
 * starts: no record is learned twice across a graceful rebalance.
 *
 * What it cannot cover: a member the group evicts (a crash, or a pause
 * longer than the session timeout) never runs a handover — see
 * docs/reliability.md for that bound.
 */
export class RebalanceHandover {
  private state: 'idle' | 'running' | 'done' | 'stopping' = 'idle';
  private startedAt = 0;
  /** Bumped on every group join, so a late handover cannot mark a newer rebalance done. */
  private epoch = 0;
  handovers = 0;

  constructor(private readonly parts: HandoverParts) {
    parts.consumer.on(parts.consumer.events.REBALANCING, () => this.onRebalancing());
    parts.consumer.on(parts.consumer.events.GROUP_JOIN, () => {
      this.epoch += 1;
      this.state = 'idle';
    });
  }

  /** Runs synchronously inside kafkajs' runner, just before it would rejoin. Throws to hold the rejoin back. */
  private onRebalancing(): void {
    if (this.parts.stopping()) {
      // A stopping member checkpoints and commits by itself, then leaves the group: it has no reason to rejoin,
      // and holding the rejoin back keeps the group waiting until its final commit has landed.
      if (this.state !== 'stopping') {
        this.state = 'stopping';
        this.startedAt = Date.now();
      }
      if (Date.now() - this.startedAt <= this.parts.maxMillis) throw new RebalanceBarrier();
      return;
    }
    if (this.state === 'done') {
      this.state = 'idle';
      return;
    }
    if (this.state === 'idle') {
      this.state = 'running';
      this.startedAt = Date.now();
      this.handovers += 1;
      this.parts.suspend();
      void this.handOver(this.epoch);
    } else if (Date.now() - this.startedAt > this.parts.maxMillis) {
      this.parts.logger.warn(
        { waitedMs: Date.now() - this.startedAt },
        'rebalance handover did not finish in time; rejoining anyway (records learned since the last commit may be learned again by their next owner)',
      );
      this.state = 'idle';
      return;
    }
    throw new RebalanceBarrier();
  }

  private async handOver(epoch: number): Promise<void> {
    const { logger } = this.parts;
    let committed = false;
    try {
      this.parts.flushPartialBatch();
      await this.parts.whenIdle();
      if (!this.parts.stopping()) committed = await this.parts.checkpointAndCommit();
    } catch (error) {
      logger.warn({ err: error }, 'rebalance handover failed; rejoining');
    }
    const ms = Date.now() - this.startedAt;
    if (committed) logger.info({ ms }, 'rebalance handover: learned records checkpointed and committed before rejoining');
    else if (!this.parts.stopping()) logger.warn({ ms }, 'rebalance handover could not commit; the next owner may learn records again');
    if (epoch === this.epoch && this.state === 'running') this.state = 'done';
  }
}
