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

/** A trunk's parameters decoded: each layer's weights, then its biases, layer by layer. */
type TrunkValues = Float32Array[];

function decodeTrunk(trunk: readonly LayerState[]): TrunkValues {
  return trunk.flatMap((layer) => [decodeFloat32(layer.weight), decodeFloat32(layer.bias)]);
}

function encodeTrunk(values: TrunkValues): LayerState[] {
  const layers: LayerState[] = [];
  for (let i = 0; i < values.length; i += 2) layers.push({ weight: encodeFloat32(values[i]!), bias: encodeFloat32(values[i + 1]!) });
  return layers;
}

function meanValues(trunks: readonly TrunkValues[]): TrunkValues {
  const first = trunks[0];
  if (!first) throw new RangeError('no trunks to average');
  return first.map((_, j) => {
    const sum = new Float64Array(first[j]!.length);
    for (const trunk of trunks) {
      const array = trunk[j]!;
      if (array.length !== sum.length) throw new RangeError(`trunk layer ${j >> 1} ${j % 2 === 0 ? 'weight' : 'bias'} sizes differ`);
      for (let i = 0; i < sum.length; i++) sum[i]! += array[i]!;
    }
    // A plain loop: Float32Array.from with a mapping function is an order of magnitude slower, for the same roundings.
    const averaged = new Float32Array(sum.length);
    for (let i = 0; i < sum.length; i++) averaged[i] = sum[i]! / trunks.length;
    return averaged;
  });
}

function distanceOf(a: TrunkValues, b: TrunkValues): number {
  let squared = 0;
  a.forEach((x, j) => {
    const y = b[j]!;
    for (let k = 0; k < x.length; k++) squared += (x[k]! - y[k]!) ** 2;
  });
  return Math.sqrt(squared);
}

/**
 * The element-wise mean of trunks (float64 sums in the given order, so the
 * same inputs always give the same bits).
 */
export function averageTrunks(trunks: readonly (readonly LayerState[])[]): LayerState[] {
  return encodeTrunk(meanValues(trunks.map(decodeTrunk)));
}

/** Euclidean distance between two trunks' parameters (all layers, weights and biases). */
export function trunkDistance(a: readonly LayerState[], b: readonly LayerState[]): number {
  return distanceOf(decodeTrunk(a), decodeTrunk(b));
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
  /**
   * The newest records in the trunk topic of `members` (keyed by member id);
   * records of anyone else may come too, and are left out.
   */
  readonly published: (members: ReadonlySet<string>) => TrunkRecord[];
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
  /** Kept decoded: the next sync measures how far the trunk moved from it, and a trunk of tens of kilobytes of base64 need not be decoded twice. */
  private afterLastSync: TrunkValues | undefined;
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
    const ownValues = decodeTrunk(own);
    if (this.afterLastSync) this.maxPeriodMovement = Math.max(this.maxPeriodMovement, distanceOf(this.afterLastSync, ownValues));
    this.afterLastSync = ownValues;
    this.round += 1;
    this.publish(self, own, now);
    const peers = this.hooks.peers();
    // Not this member's own publication: decoding it (tens of kilobytes gunzipped and parsed at every sync) would be for nothing.
    const wanted = new Set([...peers].filter((member) => member !== self));
    const others = wanted.size === 0 ? [] : peersToMerge(this.hooks.published(wanted), self, peers, now, this.maxAgeMs);
    if (others.length === 0) return 0;
    const merged = meanValues([ownValues, ...others.map((r) => decodeTrunk(r.trunk))]);
    this.hooks.loadTrunk(encodeTrunk(merged));
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
