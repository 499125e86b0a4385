import type { Admin, Consumer, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { encodeChangelogValue } from '../checkpoint/state-changelog.js';
import { newestMergedTrunk, TrunkSync, type TrunkRecord } from '../checkpoint/trunk-sync.js';
import type { PipelineConfig } from '../config/pipeline-config.js';
import type { CompactedTopicView } from '../kafka/compacted-topic-view.js';
import { OrderedSends } from '../kafka/ordered-sends.js';
import { readTrunkRecords, type DecodedTrunkRecords } from '../kafka/task-state-topic.js';
import type { LearningSession } from '../learning-session.js';
import { RunningMoments } from '../model/running-moments.js';

export interface GroupTrunkParts {
  readonly config: PipelineConfig;
  readonly session: LearningSession;
  readonly consumer: Consumer;
  readonly producer: Producer;
  readonly admin: Admin;
  /** Holds the trunk topic: every member reads all of it. */
  readonly view: CompactedTopicView;
  /** `<groupId>.trunk` */
  readonly topic: string;
  readonly maxMessageBytes: number;
  /** Whether the session started from a checkpoint of its own (then it never takes the group's trunk). */
  readonly restored: boolean;
  readonly logger: Logger;
}

/**
 * The shared trunk across the group (DESIGN §6): this member's trunk published and averaged with
 * the others' (trunk-sync.ts), and on the first assignment of a member without any state of its
 * own, the group's newest merged trunk taken as its start.
 */
export class GroupTrunk {
  readonly sync: TrunkSync;
  private memberId: string | undefined;
  private members: ReadonlySet<string> = new Set();
  /** Only a member without any state of its own starts from the group's trunk. */
  private adoptGroupTrunk: boolean;
  /** Trunk publications go out in order, off the hot path; a failed send is logged (the next period publishes again). */
  private readonly sends: OrderedSends;
  private readonly decoded: DecodedTrunkRecords = new WeakMap();

  constructor(private readonly parts: GroupTrunkParts) {
    const { config, session, consumer, producer, topic, maxMessageBytes, logger } = parts;
    this.adoptGroupTrunk = !parts.restored;
    this.sends = new OrderedSends(topic, logger, 'cannot publish the trunk');
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.memberId = payload.memberId;
    });
    this.sync = new TrunkSync(session.spec, config.state.trunkSyncBatches, config.state.trunkMaxAgeSeconds * 1000, {
      self: () => this.memberId,
      peers: () => this.members,
      published: (members) => this.published(members),
      trunk: () => session.network.network.trunkState(),
      loadTrunk: (trunk) => session.network.network.loadTrunk(trunk),
      featureMoments: () => session.featureMoments.toJSON(),
      featureBand: () => session.featureBand.toJSON(),
      publish: (record) =>
        this.sends.send(async () =>
          producer.send({
            topic,
            messages: (await encodeChangelogValue(record.member, record, maxMessageBytes)).map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
          }),
        ),
    });
  }

  private published(members?: ReadonlySet<string>): TrunkRecord[] {
    const { view, topic, session, logger } = this.parts;
    const unreadable = (member: string, reason: string): void => logger.warn({ topic, member, reason }, 'skipping an unreadable trunk record');
    return readTrunkRecords(view, topic, session.spec, unreadable, this.decoded, members);
  }

  /** On every assignment, before its tasks are restored: who is in the group now, and (once) the group's trunk. */
  async assigned(): Promise<void> {
    const { config, admin, session, logger } = this.parts;
    const described = await admin.describeGroups([config.kafka.groupId]);
    this.members = new Set(described.groups[0]?.members.map((m) => m.memberId) ?? []);
    const newest = this.adoptGroupTrunk ? newestMergedTrunk(this.published(), config.state.trunkMaxAgeSeconds * 1000) : undefined;
    if (newest) {
      session.network.network.loadTrunk(newest.trunk);
      const moments = RunningMoments.fromJSON(newest.featureMoments);
      session.featureMoments.count = moments.count;
      session.featureMoments.mean.set(moments.mean);
      session.featureMoments.m2.set(moments.m2);
      logger.info({ featureRecords: moments.count }, "started from the group's newest merged trunk");
    }
    this.adoptGroupTrunk = false;
  }

  /** Before partitions move away: the heads about to move were trained with this trunk as it is now, so their next owner starts from it. */
  async publishNow(): Promise<void> {
    if (this.sync.publishCurrent()) await this.sends.settled();
  }

  /** Resolves once every publication so far is sent (or its failure logged). */
  sent(): Promise<unknown> {
    return this.sends.settled();
  }
}
