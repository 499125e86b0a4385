import type { Logger } from 'pino';
import { planRestore } from '../checkpoint/restore-plan.js';
import { TaskFloors } from '../checkpoint/task-floors.js';
import type { CompactedTopicView } from '../kafka/compacted-topic-view.js';
import type { AssignmentRestore } from '../kafka/group-membership.js';
import { readTaskStates } from '../kafka/task-state-topic.js';
import type { LearningSession } from '../learning-session.js';
import type { TangentMetrics } from '../metrics/metrics.js';
import type { GroupTrunk } from './group-trunk.js';

/** Per assignment: task states read from the changelog, how many replaced this member's own, how many tasks it gave up. */
export interface AssignmentRestoreCounts {
  readonly read: number;
  readonly restored: number;
  readonly forgotten: number;
}

export interface AssignmentRestorerParts {
  /** The records topic. */
  readonly topic: string;
  readonly session: LearningSession;
  /** The state topics, when there are any. */
  readonly view: CompactedTopicView | undefined;
  /** `<groupId>.state`, when the changelog is on. */
  readonly stateTopic: string | undefined;
  readonly groupTrunk: GroupTrunk | undefined;
  /** Batches learned up to the newest stored checkpoint. */
  readonly storedBatches: () => number;
  readonly metrics: TangentMetrics;
  readonly logger: Logger;
}

/**
 * On every assignment: restores the assigned partitions' tasks from the changelog where it is newer
 * than what this member holds, forgets tasks that moved away, and says where each partition resumes
 * (restore-plan.ts). Its floors tell the pipeline which records the restored states have learned.
 */
export class AssignmentRestorer {
  readonly floors = new TaskFloors();
  readonly restores: AssignmentRestoreCounts[] = [];

  constructor(private readonly parts: AssignmentRestorerParts) {}

  readonly restore = async (partitions: number[]): Promise<AssignmentRestore> => {
    const { topic, session, view, stateTopic, groupTrunk, metrics, logger } = this.parts;
    const floors = this.floors;
    if (view) await view.caughtUp();
    await groupTrunk?.assigned();
    const changelog =
      stateTopic && view
        ? readTaskStates(view, stateTopic, session.spec, (task, reason) => logger.warn({ task, reason }, 'skipping an unreadable task state')).filter(
            (state) => state.source.topic === topic,
          )
        : [];
    const held = session.ledger.tasks().flatMap((task) => {
      const source = session.ledger.sourceOf(task)!;
      return source.topic === topic ? [{ task, partition: source.partition, offset: session.position.offsetOf(topic, source.partition) }] : [];
    });
    const plan = planRestore({ assigned: partitions, held, changelog });
    for (const task of plan.forget) session.forgetTask(task);
    session.forgetParkedOutside(topic, partitions);
    for (const state of plan.restore) session.restoreTask(state);
    floors.clear();
    for (const [task, floor] of plan.floors) floors.set(task, topic, floor.partition, floor.offset);
    // Positions of partitions this member lost are no longer its own; those it kept without any task state stand.
    const earlier = new Map(session.position.toJSON().offsets.filter((o) => o.topic === topic).map((o) => [o.partition, o.offset]));
    for (const partition of earlier.keys()) if (!partitions.includes(partition)) session.position.resumeAt(topic, partition, undefined);
    this.restores.push({ read: changelog.length, restored: plan.restore.length, forgotten: plan.forget.length });
    metrics.stateTasksRestored.inc(plan.restore.length);
    logger.info(
      { partitions, restoredTasks: plan.restore.map((s) => s.task), forgottenTasks: plan.forget, start: Object.fromEntries(plan.start) },
      'restored the assigned partitions',
    );
    const restoredPartitions = new Set(plan.restore.map((state) => state.source.partition));
    return {
      // Nothing learned since the newest stored checkpoint; restored task states come from the changelog.
      stored: session.position.batches <= this.parts.storedBatches(),
      positionOf: (partition) => plan.start.get(partition) ?? earlier.get(partition),
      // Only when no position of this member's own covers the partition.
      fromChangelog: (partition) => restoredPartitions.has(partition) && !earlier.has(partition),
      started: (partition, offset) => {
        session.position.resumeAt(topic, partition, offset);
        // Starting below the states' own position (the log was recreated or truncated): their floors no longer apply.
        const own = plan.start.get(partition);
        if (offset !== undefined && own !== undefined && BigInt(offset) < BigInt(own)) floors.dropPartition(topic, partition);
      },
    };
  };
}
