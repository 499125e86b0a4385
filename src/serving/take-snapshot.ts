import { effectiveDense } from '../model/effective-dense.js';
import type { NtkGpBaseline } from '../model/ntk-gp-baseline.js';
import type { OnlineRegressor } from '../model/online-regressor.js';
import type { RobustBand } from '../model/robust-band.js';
import type { RunningMoments } from '../model/running-moments.js';
import type { IncrementalGP } from '../ntk/incremental-gp.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { GpUpdate, SnapshotUpdate } from './snapshot-update.js';

/** The parts of a learning session a snapshot reads, never writes. */
export interface SnapshotSource {
  readonly spec: ArchitectureSpec;
  readonly featureMoments: RunningMoments;
  readonly featureBand: RobustBand;
  readonly network: OnlineRegressor;
  readonly baseline: NtkGpBaseline | undefined;
  modelVersion(): number;
}

/**
 * Takes snapshots of a learning session between two minibatches for the
 * serving thread (see model-snapshot.ts). Each copies the weights, moments
 * and band; a task's GP posterior only when its window changed since the
 * previous snapshot (a GP replaced by a restore is a new object, so it counts
 * as changed).
 */
export class SnapshotTaker {
  private sent = new WeakMap<IncrementalGP, number>();

  constructor(private readonly source: SnapshotSource) {}

  take(): SnapshotUpdate {
    const { spec, featureMoments, featureBand, network, baseline } = this.source;
    const dim = spec.inputDim;
    const sent = new WeakMap<IncrementalGP, number>();
    const tasks = [...network.network.allHeadParameters()].map(([task, head]) => {
      // A head whose task has no target moments yet predicts in standardised units (mean 0, sd 1), as the network does.
      const targets = network.targetMoments.get(task);
      let gp: GpUpdate = null;
      const model = baseline?.taskModel(task);
      if (model) {
        const revision = model.gp.revision;
        sent.set(model.gp, revision);
        gp =
          this.sent.get(model.gp) === revision
            ? 'unchanged'
            : { posterior: model.gp.posterior(), targetMean: model.moments.mean[0]!, targetStd: model.moments.standardDeviation(0) };
      }
      return { task, head: head.map((layer) => effectiveDense(layer.weight, layer.bias, spec)), targetMean: targets?.mean[0] ?? 0, targetStd: targets?.standardDeviation(0) ?? 1, gp };
    });
    this.sent = sent;
    return {
      modelVersion: this.source.modelVersion(),
      inputDim: dim,
      featureLow: Float64Array.from(featureBand.low),
      featureHigh: Float64Array.from(featureBand.high),
      featureMean: Float64Array.from(featureMoments.mean),
      featureStd: Float64Array.from({ length: dim }, (_, i) => featureMoments.standardDeviation(i)),
      trunk: network.network.trunk.map((layer) => effectiveDense(layer.weight.dataSync() as Float32Array, layer.bias.dataSync() as Float32Array, spec)),
      tasks,
    };
  }
}
