import type { Producer } from 'kafkajs';
import { decodeChangelogValue, encodeChangelogValue, holdsWholeValue, isChunkKey, type ChangelogEntry, type ChangelogMessage } from '../checkpoint/state-changelog.js';
import { parseTaskState, type TaskState } from '../checkpoint/task-state.js';
import { trunkRecordFormat, type TrunkRecord } from '../checkpoint/trunk-sync.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { CompactedTopicView } from './compacted-topic-view.js';

/**
 * Writes task states to the changelog, each in as many records as its size
 * needs, in requests under the topic's record-batch limit; resolves once the
 * broker has them all (acks from all in-sync replicas), so offsets committed
 * afterwards never lead the states.
 */
export async function publishTaskStates(producer: Producer, topic: string, states: readonly TaskState[], maxMessageBytes: number): Promise<number> {
  let bytes = 0;
  let request: ChangelogMessage[] = [];
  let requestBytes = 0;
  const flush = async (): Promise<void> => {
    if (request.length === 0) return;
    await producer.send({ topic, acks: -1, messages: request.map((m) => ({ key: m.key, value: m.value, headers: m.headers })) });
    request = [];
    requestBytes = 0;
  };
  for (const state of states) {
    for (const message of await encodeChangelogValue(state.task, state, maxMessageBytes)) {
      const size = message.value.length + Buffer.byteLength(message.key) + 256;
      if (requestBytes + size > maxMessageBytes / 2) await flush();
      request.push(message);
      requestBytes += size;
      bytes += message.value.length;
    }
  }
  await flush();
  return bytes;
}

/** Every task state in the view; one that cannot be read is reported and left out. */
export function readTaskStates(view: CompactedTopicView, topic: string, spec: ArchitectureSpec, onUnreadable: (task: string, reason: string) => void): TaskState[] {
  const states: TaskState[] = [];
  for (const key of view.keys(topic)) {
    if (isChunkKey(key)) continue;
    try {
      states.push(parseTaskState(decodeChangelogValue(key, (k) => view.get(topic, k)), spec));
    } catch (error) {
      onUnreadable(key, (error as Error).message);
    }
  }
  return states;
}

/** What reading a changelog needs of a view: its keys and their newest entries. */
export type ChangelogView = Pick<CompactedTopicView, 'keys' | 'get'>;

/**
 * Trunk records by the view entry they were decoded from. A member reads the
 * whole trunk topic at every sync, and between two syncs most entries (its own
 * publication included) have not changed: an entry that holds its whole value
 * always decodes to the same record, so it is decompressed and parsed once.
 */
export type DecodedTrunkRecords = WeakMap<ChangelogEntry, TrunkRecord>;

/**
 * Every member's newest trunk record in the view of this architecture (only
 * those of `members`, when given: records are keyed by member id, and a sync
 * needs only its peers'); an unreadable one is reported and left out.
 */
export function readTrunkRecords(
  view: ChangelogView,
  topic: string,
  spec: ArchitectureSpec,
  onUnreadable: (member: string, reason: string) => void,
  decoded?: DecodedTrunkRecords,
  members?: ReadonlySet<string>,
): TrunkRecord[] {
  const ofThisArchitecture = (record: TrunkRecord): TrunkRecord[] =>
    record.format === trunkRecordFormat && record.spec.hidden.join() === spec.hidden.join() ? [record] : [];
  return view.keys(topic).flatMap((key) => {
    if (isChunkKey(key) || (members && !members.has(key))) return [];
    const entry = view.get(topic, key);
    const known = entry && decoded?.get(entry);
    if (known) return ofThisArchitecture(known);
    try {
      const record = decodeChangelogValue(key, (k) => view.get(topic, k)) as TrunkRecord;
      if (entry && holdsWholeValue(entry)) decoded?.set(entry, record);
      return ofThisArchitecture(record);
    } catch (error) {
      onUnreadable(key, (error as Error).message);
      return [];
    }
  });
}
