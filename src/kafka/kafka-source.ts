import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import { Observable } from 'rxjs';
import type { Logger } from 'pino';
import { KafkaError } from '../errors.js';
import type { SourceRecord } from '../pipeline/records.js';
import { FlowControl } from './flow-control.js';
import { PartitionOffsets } from './partition-offsets.js';
import { GroupMembership, type AssignmentRestore, type GroupMembershipOptions } from './group-membership.js';
import { toSourceRecord } from './source-record.js';
import { nextTurn } from '../model/stepwise.js';

export interface KafkaSourceOptions extends GroupMembershipOptions {
  readonly fromBeginning: boolean;
  readonly highWaterMark: number;
  readonly lowWaterMark: number;
  /**
   * Asked before each record is emitted: a promise while the pipeline is
   * learning a minibatch (the record waits until it has finished, see
   * pipeline/learning-turns.ts), undefined when it is free.
   */
  readonly whenPipelineFree?: () => Promise<void> | undefined;
}

/**
 * Waits for `work`, heartbeating every second meanwhile (kafkajs sends one only when its interval is
 * due): a minibatch with a long fine-tuning phase never makes the group think this member is gone.
 */
async function whileBeating(work: Promise<void>, heartbeat: () => Promise<void>): Promise<void> {
  let done = false;
  const finished = work.then(() => {
    done = true;
  });
  while (!done) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([finished, new Promise<void>((resolve) => (timer = setTimeout(resolve, 1_000)))]);
    clearTimeout(timer);
    await heartbeat();
  }
}

/** Records emitted between two yields to the event loop (see emitBatch). */
const yieldEveryRecords = 32;

/**
 * Partitions whose fetched records are emitted at the same time. A fetch holds up to 1 MiB per
 * partition (thousands of records); emitted one partition after the other, a backlog would reach the
 * pipeline in runs of thousands of records of one partition — of one task, when tasks are alone on
 * their partitions — and the shared trunk would learn task after task, forgetting between the runs,
 * by a schedule that depends on fetch timing. Emitted together, the partitions' records interleave
 * in runs of at most `yieldEveryRecords` (each eachBatch yields there, and waits for every learning
 * turn), so every minibatch mixes the partitions in flow. Within a partition the order stays the
 * log's. More partitions than this are emitted in groups of this many.
 */
const interleavedPartitions = 64;

/**
 * The consumer end of the pipeline: a kafkajs group consumer turned into an
 * Observable of records. No auto-commit: offsets are committed by the commit
 * stage after a batch is learned. Records are emitted inside `eachBatch`,
 * each one only while the pipeline is not learning a minibatch, so the
 * learning runs before kafkajs fetches again; the asynchronous tail
 * (dead-letter, commit) is bounded by water marks. Joining the group, restoring
 * and seeking on assignment, and committing are its membership's (group-membership.ts).
 */
export class KafkaSource {
  readonly flow: FlowControl;
  readonly offsets = new PartitionOffsets();
  private readonly membership: GroupMembership;
  private draining = false;
  private idleWaiters: (() => void)[] = [];
  /** The eachBatch calls running now (one per partition fetched: they interleave, see records$). */
  private readonly batchesInProgress = new Set<Promise<void>>();
  private emitterComplete: (() => void) | undefined;

  private failure: ((error: unknown) => void) | undefined;

  /**
   * @param restore - on every assignment (also an empty one): restores the assigned partitions' state
   *   (restore-plan.ts) and tells the position it has learned up to in each
   * @param admin - reads the group's committed offsets and the log bounds
   */
  constructor(
    private readonly consumer: Consumer,
    private readonly options: KafkaSourceOptions,
    private readonly logger: Logger,
    restore: (partitions: number[]) => Promise<AssignmentRestore>,
    admin: Admin,
    private readonly onFlowChange: (paused: boolean, inFlight: number) => void = () => {},
  ) {
    this.flow = new FlowControl(options.highWaterMark, options.lowWaterMark);
    this.membership = new GroupMembership(consumer, options, logger, restore, admin, {
      offsets: this.offsets,
      mayResume: () => !this.draining && !this.flow.paused,
      failed: (error) => this.failure?.(error),
    });
  }

  /** Whether this member owns the partition now. */
  owns(topic: string, partition: number): boolean {
    return this.membership.owns(topic, partition);
  }

  /** Records waiting to be learned: fetched and not yet committed, plus those known to be in the log and not fetched yet. */
  get waiting(): number {
    return this.flow.inFlight + this.offsets.unfetched();
  }

  /** Ready once the group has given this member its assignment. */
  get ready(): boolean {
    return this.membership.ready;
  }

  readonly records$ = new Observable<SourceRecord>((subscriber) => {
    this.emitterComplete = () => subscriber.complete();
    this.failure = (error) => subscriber.error(new KafkaError('cannot restore the assigned partitions', { topic: this.options.topic }, { cause: error }));
    const start = async (): Promise<void> => {
      await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: this.options.fromBeginning });
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: interleavedPartitions,
        eachBatch: (payload) => {
          const run = this.emitBatch(payload, (record) => subscriber.next(record));
          const settled = run.catch(() => undefined);
          this.batchesInProgress.add(settled);
          void settled.then(() => this.batchesInProgress.delete(settled));
          return run;
        },
      });
    };
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) {
        subscriber.error(new KafkaError(`consumer crashed: ${payload.error.message}`, { topic: this.options.topic }, { cause: payload.error }));
      }
    });
    start().catch((cause: unknown) =>
      subscriber.error(new KafkaError(`cannot start consuming ${this.options.topic}`, { topic: this.options.topic }, { retriable: true, cause })),
    );
  });

  private async emitBatch(payload: EachBatchPayload, emit: (record: SourceRecord) => void): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    if (this.membership.holding && !this.draining) {
      // Nothing enters the pipeline during a handover; the heartbeat hands kafkajs the rebalance
      // error (REBALANCE_IN_PROGRESS) so that it goes back to its rejoin. Offsets stay unresolved:
      // these records are fetched again by whoever owns the partition next.
      await heartbeat();
      return;
    }
    this.offsets.seenHighWatermark(batch.topic, batch.partition, batch.highWatermark);
    let emitted = 0;
    for (const message of batch.messages) {
      const learning = this.options.whenPipelineFree?.();
      if (learning) await whileBeating(learning, heartbeat);
      // Checked per record: a handover may begin during one of the waits and yields here.
      if (this.draining || this.membership.holding || !isRunning() || isStale()) break;
      // resolveOffset only advances kafkajs' fetch position; nothing is committed here.
      resolveOffset(message.offset);
      if (!this.offsets.accept(batch.topic, batch.partition, message.offset)) continue;
      // Counted before it enters the pipeline: its batch can be committed (and counted out)
      // during a heartbeat below, before this loop ends.
      this.flow.emitted(1);
      emit(toSourceRecord(batch.topic, batch.partition, message));
      emitted += 1;
      // A fetch can hold thousands of records: yielding to the event loop every few records lets HTTP
      // (/predict, /metrics, /healthz) and kafkajs' own I/O run between them as well as within a minibatch's learning.
      if (emitted % yieldEveryRecords === 0) await nextTurn();
      if (emitted % 512 === 0) await heartbeat();
    }
    // Decided at the end: completions during the heartbeats may already have brought it back down.
    if (this.flow.paused) {
      this.consumer.pause([{ topic: this.options.topic }]);
      this.logger.debug({ inFlight: this.flow.inFlight }, 'paused: in-flight records above the high-water mark');
    }
    this.onFlowChange(this.flow.paused, this.flow.inFlight);
    await heartbeat();
  }

  /** Called by the commit stage when records have left the pipeline. */
  completed(count: number): void {
    if (this.flow.completed(count) === 'resume' && !this.draining) {
      this.consumer.resume([{ topic: this.options.topic }]);
      this.logger.debug({ inFlight: this.flow.inFlight }, 'resumed: in-flight records below the low-water mark');
    }
    this.onFlowChange(this.flow.paused, this.flow.inFlight);
    if (this.flow.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Resolves once every record emitted so far has left the pipeline (committed or not). */
  whenIdle(): Promise<void> {
    if (this.flow.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops emitting until the next group join (a rebalance handover is under way). */
  suspend(): void {
    this.membership.suspend();
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Commits the next offsets of learned records, of owned partitions only (see {@link GroupMembership.commit}). */
  commit(nextOffsets: Iterable<{ topic: string; partition: number; offset: string }>): Promise<boolean> {
    return this.membership.commit(nextOffsets);
  }

  /**
   * Graceful end: stop fetching, let the batch being emitted finish, then
   * complete the stream so the last partial minibatch is learned and committed.
   */
  async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.consumer.pause([{ topic: this.options.topic }]);
    await Promise.all(this.batchesInProgress);
    this.emitterComplete?.();
  }
}
