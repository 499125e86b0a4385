/**
 * Where a partition starts after this member joins the group: the pure
 * decision behind the seek on assignment (kafka-source.ts). Inputs are the
 * position of the restored (or running) model, the group's committed offset
 * with whether this member's checkpoint store made that commit, and the
 * partition's log bounds.
 *
 * The policy (docs/reliability.md, "Where a partition starts"):
 * - A commit by **this member** ahead of its position means a newer checkpoint
 *   of its own was lost (a corrupt newest file): start at the position and
 *   learn those records again — the model never skips what it has not learned.
 * - A commit by **another member** ahead of the position means that member
 *   learned those records: start at the commit (exactly once across the group).
 * - A position **beyond the log end**, or a position of this member's own
 *   checkpoint with **no committed offset at all**, means the log it was taken
 *   on is gone (the topic was deleted and recreated, or the group's offsets
 *   were deleted or expired): start at the log start; the model is kept. Warned.
 * - A position from the group's **state changelog** without a committed
 *   offset: its writer stopped between publishing the state and its first
 *   commit; start at the position (the records below it are in the state).
 * - A position **before the log start** means retention deleted records before
 *   they were learned: start at the log start. Warned, with the count.
 */
export interface PartitionFacts {
  readonly partition: number;
  /** The next offset the model has learned up to; undefined when it has never seen the partition. */
  readonly position: bigint | undefined;
  /** The group's committed offset, -1 when there is none. */
  readonly committed: bigint;
  /** Whether that commit carries this member's checkpoint-store identity. */
  readonly committedByThisMember: boolean;
  readonly logStart: bigint;
  readonly logEnd: bigint;
  /**
   * The position comes from task states in the group's state changelog (not from this member's
   * own checkpoint): a member of this group wrote them for this log before committing, so a
   * missing commit means it stopped between the two, not that the log is new.
   */
  readonly positionFromChangelog?: boolean;
}

export type StartWarning = 'beyond_log_end' | 'no_committed_offset' | 'before_log_start' | 'relearning_lost_checkpoint' | 'relearning_lost_state';

export interface StartDecision {
  readonly partition: number;
  /** Where to seek; undefined leaves it to the group (its committed offset, else `fromBeginning`). */
  readonly offset: bigint | undefined;
  readonly warning?: StartWarning;
  /** Records concerned by the warning (skipped by retention, or learned again). */
  readonly records?: bigint;
}

export const startWarningMessages: Record<StartWarning, string> = {
  beyond_log_end:
    'the checkpoint position is beyond the end of the log: the topic was recreated or truncated; starting at the log start (the model is kept)',
  no_committed_offset:
    'the group has no committed offset for a partition the checkpoint has a position in: the topic was recreated, or the group offsets were deleted or expired; starting at the log start (the model is kept)',
  before_log_start: 'retention deleted records before they were learned; starting at the log start',
  relearning_lost_checkpoint:
    "this member's committed offset is ahead of the checkpoint it restored (a newer checkpoint was unreadable): learning those records again",
  relearning_lost_state: 'this member committed offsets but has no checkpoint to restore: learning the partition again from the log start',
};

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

export function startOffset(facts: PartitionFacts): StartDecision {
  const { partition, position, committed, committedByThisMember, logStart, logEnd } = facts;
  const hasCommit = committed >= 0n;
  const othersCommit = hasCommit && !committedByThisMember && committed <= logEnd ? committed : undefined;
  if (position === undefined) {
    if (hasCommit && committedByThisMember) {
      return { partition, offset: logStart, warning: 'relearning_lost_state', records: committed - logStart };
    }
    return { partition, offset: undefined };
  }
  if (position > logEnd) return { partition, offset: max(logStart, othersCommit ?? logStart), warning: 'beyond_log_end' };
  if (!hasCommit && facts.positionFromChangelog && position >= logStart) return { partition, offset: position };
  if (!hasCommit && position > logStart) return { partition, offset: logStart, warning: 'no_committed_offset', records: position - logStart };
  if (position < logStart) {
    return { partition, offset: max(logStart, othersCommit ?? logStart), warning: 'before_log_start', records: logStart - position };
  }
  if (committedByThisMember) {
    return committed > position
      ? { partition, offset: position, warning: 'relearning_lost_checkpoint', records: committed - position }
      : { partition, offset: position };
  }
  return { partition, offset: othersCommit !== undefined ? max(position, othersCommit) : position };
}
