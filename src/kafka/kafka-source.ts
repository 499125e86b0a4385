import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import { Observable } from 'rxjs';
import type { Logger } from 'pino';
import { KafkaError } from '../errors.js';
import type { SourceRecord } from '../pipeline/records.js';
import { FlowControl } from './flow-control.js';
import { PartitionOffsets } from './partition-offsets.js';
import { startOffset, startWarningMessages } from './start-offsets.js';
import { toSourceRecord } from './source-record.js';
import { nextTurn } from '../model/stepwise.js';

/** What the application restored for a new assignment, and what it is told back. */
export interface AssignmentRestore {
  /** The next offset the restored state has learned up to in a partition; undefined when it has none. */
  positionOf(partition: number): string | undefined;
  /** Whether that position comes from task states restored from the group's state changelog. */
  fromChangelog?(partition: number): boolean;
  /** Where the partition starts (undefined: at the group's committed offset, else `fromBeginning`). */
  started(partition: number, offset: string | undefined): void;
  /** Whether everything the state holds is stored (a checkpoint, the changelog): its positions may be committed as they are. */
  readonly stored?: boolean;
}

/** Commit errors that mean "not a member of the current generation", not "Kafka is broken". */
const groupMembershipErrors = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID']);

/** A refusal because of this member's standing in the group; kafkajs' retrier wraps it (as `cause`) when it gives up on it. */
function isGroupMembershipError(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth += 1) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && groupMembershipErrors.has(type)) return true;
  }
  return false;
}

export interface KafkaSourceOptions {
  readonly topic: string;
  readonly groupId: string;
  readonly fromBeginning: boolean;
  readonly highWaterMark: number;
  readonly lowWaterMark: number;
  /**
   * Written as the metadata of every offset commit, and recognised on assignment: it tells this
   * member's own commits from other members' (see start-offsets.ts).
   */
  readonly commitIdentity: string;
  /**
   * Asked before each record is emitted: a promise while the pipeline is
   * learning a minibatch (the record waits until it has finished, see
   * pipeline/learning-turns.ts), undefined when it is free.
   */
  readonly whenPipelineFree?: () => Promise<void> | undefined;
  /**
   * Runs work exclusively of learning (a turn of pipeline/learning-turns.ts). Restoring an
   * assignment and seeking its partitions run as one such turn, so no checkpoint is captured between
   * the restore and the positions it decides.
   */
  readonly exclusively?: <T>(work: () => Promise<T>) => Promise<T>;
  /**
   * On every group join, before the restore: learns what was emitted before it (closes the partial
   * minibatch and waits until nothing is in flight). A join that no handover preceded — kafkajs
   * rejoins by itself after the group forgot this member (UNKNOWN_MEMBER_ID), or after a crash it
   * restarts from — would otherwise seek back to the learned position below records still in the
   * pipeline, and those would be learned twice.
   */
  readonly settleInFlight?: () => Promise<void>;
}

/**
 * The consumer end of the pipeline: a kafkajs group consumer turned into an
 * Observable of records. No auto-commit: offsets are committed by the commit
 * stage after a batch is learned. Records are emitted inside `eachBatch`,
 * each one only while the pipeline is not learning a minibatch, so the
 * learning runs before kafkajs fetches again; the asynchronous tail
 * (dead-letter, commit) is bounded by water marks.
 */
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

export class KafkaSource {
  readonly flow: FlowControl;
  readonly offsets = new PartitionOffsets();
  private assigned = false;
  private draining = false;
  /** While a rebalance handover runs: emit nothing, let kafkajs see the rebalance (see rebalance-handover.ts). */
  private suspended = false;
  /** From a group join until its partitions are sought: emit nothing (the records before the join are being learned). */
  private settling = false;
  /** "topic:partition" of this member's current assignment: the only offsets it may commit. */
  private assignment = new Set<string>();
  /** Bumped on every group join: the restore of an assignment that a newer one replaced stops before seeking. */
  private generation = 0;
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
    private readonly restore: (partitions: number[]) => Promise<AssignmentRestore>,
    private readonly admin: Admin,
    private readonly onFlowChange: (paused: boolean, inFlight: number) => void = () => {},
  ) {
    this.flow = new FlowControl(options.highWaterMark, options.lowWaterMark);
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const assignment = payload.memberAssignment as Record<string, number[]>;
      this.assignment = new Set(Object.entries(assignment).flatMap(([t, ps]) => ps.map((p) => `${t}:${p}`)));
      this.offsets.retain(this.assignment);
      this.suspended = false;
      const partitions = assignment[options.topic] ?? [];
      // Paused here, synchronously, so nothing is fetched before the state is restored and the seeks below land.
      if (partitions.length > 0) consumer.pause([{ topic: options.topic, partitions }]);
      const generation = (this.generation += 1);
      this.settling = true;
      const exclusively = options.exclusively ?? (<T>(work: () => Promise<T>) => work());
      const settle = options.settleInFlight ?? (() => Promise.resolve());
      settle()
        .then(() => exclusively(() => this.seekToStart(partitions, generation)))
        .then(() => {
          if (generation === this.generation) this.settling = false;
        })
        .catch((error: unknown) => this.failure?.(error));
      logger.info({ assignment, leader: payload.isLeader }, 'joined consumer group');
    });
  }

  /**
   * Restores the assigned partitions' state, then starts each where
   * start-offsets.ts decides from the restored state's position, the group's committed offset (and who made it) and the
   * log's bounds; warns when the log is not the one the checkpoint was taken
   * on or records are learned again.
   */
  private async seekToStart(partitions: number[], generation: number): Promise<void> {
    const topic = this.options.topic;
    // A newer assignment arrived while this one waited for its turn or its reads: its own restore (queued after
    // this one) plans from the state as it is and seeks its partitions; seeking or resuming this one's would fetch
    // partitions before that restore, from positions it did not decide.
    const superseded = (): boolean => generation !== this.generation;
    if (superseded()) return;
    const restore = await this.restore(partitions);
    if (superseded()) return;
    if (partitions.length === 0) {
      this.assigned = true;
      return;
    }
    const [[committed], bounds] = await Promise.all([
      this.admin.fetchOffsets({ groupId: this.options.groupId, topics: [topic] }),
      this.admin.fetchTopicOffsets(topic),
    ]);
    if (superseded()) return;
    const committedOf = new Map((committed?.partitions ?? []).map((p) => [p.partition, p]));
    const boundsOf = new Map(bounds.map((b) => [b.partition, b]));
    /** Restored positions the group's offsets are behind. */
    const uncommitted: { topic: string; partition: number; offset: string }[] = [];
    for (const partition of partitions) {
      const position = restore.positionOf(partition);
      const commit = committedOf.get(partition);
      const bound = boundsOf.get(partition);
      const decision = startOffset({
        partition,
        position: position === undefined ? undefined : BigInt(position),
        committed: commit ? BigInt(commit.offset) : -1n,
        committedByThisMember: commit?.metadata === this.options.commitIdentity,
        logStart: BigInt(bound?.low ?? '0'),
        logEnd: BigInt(bound?.high ?? '0'),
        positionFromChangelog: restore.fromChangelog?.(partition) ?? false,
      });
      const facts = { topic, partition, position, committed: commit?.offset ?? '-1', logStart: bound?.low, logEnd: bound?.high };
      if (decision.warning) {
        this.logger.warn({ ...facts, start: decision.offset?.toString(), records: decision.records?.toString(), reason: decision.warning }, startWarningMessages[decision.warning]);
      }
      const hasCommit = commit !== undefined && BigInt(commit.offset) >= 0n;
      restore.started(partition, decision.offset?.toString() ?? (hasCommit ? commit.offset : undefined));
      if (decision.offset === undefined) continue;
      const offset = decision.offset.toString();
      // A seek may go back to records emitted before (a state older than this member's fetch position).
      this.offsets.rewind(topic, partition);
      this.consumer.seek({ topic, partition, offset });
      this.logger.info({ ...facts, offset }, 'seek');
      if (position !== undefined && decision.offset === BigInt(position) && !(hasCommit && BigInt(commit.offset) >= decision.offset)) {
        uncommitted.push({ topic, partition, offset });
      }
    }
    // A stored state whose commit was cut short (a crash between the two): committed now, so the lag reaches 0 even when
    // no record follows — the next checkpoint would carry it, but there may be none.
    if (restore.stored && uncommitted.length > 0) await this.commit(uncommitted);
    if (!this.draining && !this.flow.paused) this.consumer.resume([{ topic, partitions }]);
    this.assigned = true;
  }

  /** Whether this member owns the partition now. */
  owns(topic: string, partition: number): boolean {
    return this.assignment.has(`${topic}:${partition}`);
  }

  /** Ready once the group has given this member its assignment. */
  get ready(): boolean {
    return this.assigned;
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
    if ((this.suspended || this.settling) && !this.draining) {
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
      if (this.draining || this.suspended || this.settling || !isRunning() || isStale()) break;
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
    this.suspended = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Commits the next offsets of learned records and records them for lag —
   * only for partitions this member owns now: a partition that moved keeps
   * the offsets its new owner commits (this member's older position for it
   * would rewind them). A commit the group refuses because it is rebalancing
   * or this member was evicted is logged, not fatal: the checkpoint is what
   * restores the model, and the next commit carries the offsets again.
   *
   * @returns whether Kafka accepted the commit
   */
  async commit(nextOffsets: Iterable<{ topic: string; partition: number; offset: string }>): Promise<boolean> {
    const offsets = [...nextOffsets].filter(({ topic, partition }) => this.assignment.has(`${topic}:${partition}`));
    if (offsets.length === 0) return true;
    try {
      await this.consumer.commitOffsets(offsets.map((o) => ({ ...o, metadata: this.options.commitIdentity })));
    } catch (error) {
      if (!isGroupMembershipError(error)) throw error;
      this.logger.warn({ err: error, offsets }, 'offset commit refused by the group (rebalancing or evicted); the next commit carries these offsets');
      return false;
    }
    for (const { topic, partition, offset } of offsets) this.offsets.committed(topic, partition, offset);
    return true;
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
