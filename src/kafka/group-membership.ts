import type { Admin, Consumer } from 'kafkajs';
import type { Logger } from 'pino';
import type { PartitionOffsets } from './partition-offsets.js';
import { retrying } from './retrying.js';
import { startOffset, startWarningMessages } from './start-offsets.js';

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

export interface GroupMembershipOptions {
  readonly topic: string;
  readonly groupId: string;
  /**
   * Written as the metadata of every offset commit, and recognised on assignment: it tells this
   * member's own commits from other members' (see start-offsets.ts).
   */
  readonly commitIdentity: string;
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

/** What the membership asks of the run loop (kafka-source.ts). */
export interface Fetching {
  /** Emitted and committed offsets per partition: kept to the assignment, rewound by a seek. */
  readonly offsets: PartitionOffsets;
  /** After the seeks: whether fetching may resume (not draining, not paused by flow control). */
  mayResume(): boolean;
  /** A restore or seek failed: the stream ends with this error. */
  failed(error: unknown): void;
}

/**
 * This member's standing in the consumer group: on every join, the assignment it owns, the restore
 * of its partitions' state and the seeks to where each resumes (start-offsets.ts); the commits,
 * only of partitions it owns; and while the records before a join are learned or a handover runs,
 * that nothing is to be emitted.
 */
export class GroupMembership {
  private assigned = false;
  /** While a rebalance handover runs: emit nothing, let kafkajs see the rebalance (see rebalance-handover.ts). */
  private suspended = false;
  /** From a group join until its partitions are sought: emit nothing (the records before the join are being learned). */
  private settling = false;
  /** "topic:partition" of this member's current assignment: the only offsets it may commit. */
  private assignment = new Set<string>();
  /** Bumped on every group join: the restore of an assignment that a newer one replaced stops before seeking. */
  private generation = 0;

  /**
   * @param restore - on every assignment (also an empty one): restores the assigned partitions' state
   *   (restore-plan.ts) and tells the position it has learned up to in each
   * @param admin - reads the group's committed offsets and the log bounds
   */
  constructor(
    private readonly consumer: Consumer,
    private readonly options: GroupMembershipOptions,
    private readonly logger: Logger,
    private readonly restore: (partitions: number[]) => Promise<AssignmentRestore>,
    private readonly admin: Admin,
    private readonly fetching: Fetching,
  ) {
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const assignment = payload.memberAssignment as Record<string, number[]>;
      this.assignment = new Set(Object.entries(assignment).flatMap(([t, ps]) => ps.map((p) => `${t}:${p}`)));
      fetching.offsets.retain(this.assignment);
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
        .catch((error: unknown) => fetching.failed(error));
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
      retrying(() => this.admin.fetchOffsets({ groupId: this.options.groupId, topics: [topic] })),
      retrying(() => this.admin.fetchTopicOffsets(topic)),
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
      this.fetching.offsets.rewind(topic, partition);
      this.consumer.seek({ topic, partition, offset });
      this.logger.info({ ...facts, offset }, 'seek');
      if (position !== undefined && decision.offset === BigInt(position) && !(hasCommit && BigInt(commit.offset) >= decision.offset)) {
        uncommitted.push({ topic, partition, offset });
      }
    }
    // A stored state whose commit was cut short (a crash between the two): committed now, so the lag reaches 0 even when
    // no record follows — the next checkpoint would carry it, but there may be none.
    if (restore.stored && uncommitted.length > 0) await this.commit(uncommitted);
    if (this.fetching.mayResume()) this.consumer.resume([{ topic, partitions }]);
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

  /** Whether records must not be emitted now: a handover is under way, or the records before a join are being learned. */
  get holding(): boolean {
    return this.suspended || this.settling;
  }

  /** Stops emitting until the next group join (a rebalance handover is under way). */
  suspend(): void {
    this.suspended = true;
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
    for (const { topic, partition, offset } of offsets) this.fetching.offsets.committed(topic, partition, offset);
    return true;
  }
}
