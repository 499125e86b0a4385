import { decodeFloat32, encodeFloat32 } from '../math/float-codec.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { RunningMomentsState } from '../model/running-moments.js';
import type { RobustBandState } from '../model/robust-band.js';
import type { LayerState } from '../model/trunk-heads-network.js';
import type { BatchObserver } from '../pipeline/observe.js';

export const trunkRecordFormat = 'tangent.trunk/1';

/** What a member publishes to the trunk topic, keyed by its group member id. */
export interface TrunkRecord {
  readonly format: typeof trunkRecordFormat;
  readonly spec: ArchitectureSpec;
  readonly member: string;
  /** How many merge periods this member has completed. */
  readonly round: number;
  readonly publishedAt: number;
  readonly trunk: LayerState[];
  readonly featureMoments: RunningMomentsState;
  /** The member's robust feature band (what exports clip to); absent in records of older versions. */
  readonly featureBand?: RobustBandState;
}

/**
 * The element-wise mean of trunks (float64 sums in the given order, so the
 * same inputs always give the same bits).
 */
export function averageTrunks(trunks: readonly (readonly LayerState[])[]): LayerState[] {
  const first = trunks[0];
  if (!first) throw new RangeError('no trunks to average');
  return first.map((_, layer) => {
    const mean = (field: 'weight' | 'bias'): string => {
      const arrays = trunks.map((t) => decodeFloat32(t[layer]![field]));
      const sum = new Float64Array(arrays[0]!.length);
      for (const array of arrays) {
        if (array.length !== sum.length) throw new RangeError(`trunk layer ${layer} ${field} sizes differ`);
        for (let i = 0; i < sum.length; i++) sum[i]! += array[i]!;
      }
      return encodeFloat32(Float32Array.from(sum, (v) => v / arrays.length));
    };
    return { weight: mean('weight'), bias: mean('bias') };
  });
}

/** Euclidean distance between two trunks' parameters (all layers, weights and biases). */
export function trunkDistance(a: readonly LayerState[], b: readonly LayerState[]): number {
  let squared = 0;
  a.forEach((layer, i) => {
    for (const field of ['weight', 'bias'] as const) {
      const x = decodeFloat32(layer[field]);
      const y = decodeFloat32(b[i]![field]);
      for (let k = 0; k < x.length; k++) squared += (x[k]! - y[k]!) ** 2;
    }
  });
  return Math.sqrt(squared);
}

/**
 * The records a member merges: the other current group members' newest
 * publications, no older than `maxAgeMs`, in member-id order (deterministic).
 */
function peersToMerge(records: readonly TrunkRecord[], self: string, peers: ReadonlySet<string>, now: number, maxAgeMs: number): TrunkRecord[] {
  return records
    .filter((r) => r.member !== self && peers.has(r.member) && now - r.publishedAt <= maxAgeMs)
    .sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
}

/**
 * The trunk a member starts from when it has no state of its own: the mean of
 * the newest generation of publications (those within `maxAgeMs` of the
 * newest one), with the feature moments of the member that had seen the most
 * records. Undefined when nothing was published.
 */
export function newestMergedTrunk(
  records: readonly TrunkRecord[],
  maxAgeMs: number,
): { trunk: LayerState[]; featureMoments: RunningMomentsState; featureBand: RobustBandState | undefined } | undefined {
  if (records.length === 0) return undefined;
  const newest = Math.max(...records.map((r) => r.publishedAt));
  const generation = records
    .filter((r) => newest - r.publishedAt <= maxAgeMs)
    .sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
  const widest = generation.reduce((best, r) => (r.featureMoments.count > best.featureMoments.count ? r : best));
  return { trunk: averageTrunks(generation.map((r) => r.trunk)), featureMoments: widest.featureMoments, featureBand: widest.featureBand };
}

export interface TrunkSyncHooks {
  /** This member's id in the group (its key in the trunk topic); undefined before it joined. */
  readonly self: () => string | undefined;
  /** The group's current members. */
  readonly peers: () => ReadonlySet<string>;
  /** The newest record of every member in the trunk topic. */
  readonly published: () => TrunkRecord[];
  readonly trunk: () => LayerState[];
  readonly loadTrunk: (trunk: LayerState[]) => void;
  readonly featureMoments: () => RunningMomentsState;
  readonly featureBand?: () => RobustBandState;
  readonly publish: (record: TrunkRecord) => void;
  readonly now?: () => number;
}

/**
 * Model averaging across members (local SGD): every `everyBatches` learned
 * batches a member publishes its trunk, then replaces it with the mean of its
 * own and the other current members' newest published trunks (each at most
 * `maxAgeMs` old). Between merges each trunk moves only by its own
 * fine-tuning phases, so two members' trunks differ by at most what each
 * learns in one period plus the staleness of what it merged.
 */
export class TrunkSync implements BatchObserver {
  private batches = 0;
  private round = 0;
  private afterLastSync: LayerState[] | undefined;
  merges = 0;
  /** The largest distance this member's trunk moved by its own learning within one period (between two syncs). */
  maxPeriodMovement = 0;

  constructor(
    private readonly spec: ArchitectureSpec,
    private readonly everyBatches: number,
    private readonly maxAgeMs: number,
    private readonly hooks: TrunkSyncHooks,
  ) {}

  observe(): void {
    if (this.everyBatches <= 0 || (this.batches += 1) % this.everyBatches !== 0) return;
    this.sync();
  }

  /** Publishes this member's trunk and merges the others'; returns how many others were merged. */
  sync(): number {
    const self = this.hooks.self();
    if (self === undefined) return 0;
    const now = (this.hooks.now ?? Date.now)();
    const own = this.hooks.trunk();
    if (this.afterLastSync) this.maxPeriodMovement = Math.max(this.maxPeriodMovement, trunkDistance(this.afterLastSync, own));
    this.afterLastSync = own;
    this.round += 1;
    this.publish(self, own, now);
    const others = peersToMerge(this.hooks.published(), self, this.hooks.peers(), now, this.maxAgeMs);
    if (others.length === 0) return 0;
    const merged = averageTrunks([own, ...others.map((r) => r.trunk)]);
    this.hooks.loadTrunk(merged);
    this.afterLastSync = merged;
    this.merges += 1;
    return others.length;
  }

  /**
   * Publishes this member's trunk as it is now, merging nothing: before its
   * partitions move (a rebalance handover), so that a member taking them over
   * starts from the very trunk their heads were trained with rather than one
   * up to a period older. Returns whether anything was published.
   */
  publishCurrent(): boolean {
    const self = this.hooks.self();
    if (self === undefined) return false;
    this.publish(self, this.hooks.trunk(), (this.hooks.now ?? Date.now)());
    return true;
  }

  private publish(self: string, trunk: LayerState[], now: number): void {
    this.hooks.publish({
      format: trunkRecordFormat,
      spec: this.spec,
      member: self,
      round: this.round,
      publishedAt: now,
      trunk,
      featureMoments: this.hooks.featureMoments(),
      ...(this.hooks.featureBand ? { featureBand: this.hooks.featureBand() } : {}),
    });
  }
}
