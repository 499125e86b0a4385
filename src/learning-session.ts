import type { PipelineConfig } from './config/pipeline-config.js';
import type { LearningState } from './checkpoint/learning-state.js';
import { StreamPosition } from './checkpoint/stream-position.js';
import type { DetectorConfig } from './drift/drift-detector.js';
import type { ArchitectureSpec } from './model/architecture-spec.js';
import { NtkGpBaseline } from './model/ntk-gp-baseline.js';
import type { OnlineModel } from './model/online-model.js';
import { OnlineRegressor } from './model/online-regressor.js';
import { RunningMoments } from './model/running-moments.js';
import { TargetBands, type ClipPolicy } from './model/outlier-clipping.js';
import type { ScaleParts } from './pipeline/scale.js';
import { TaskRegistry } from './model/task-registry.js';
import { loadTrunkArtifact } from './model/trunk-artifact.js';
import { DriftWatch, type DriftEvent } from './pipeline/drift-watch.js';

export function specOf(config: PipelineConfig): ArchitectureSpec {
  const { inputDim, hidden, headHidden, activation, sigmaW2, sigmaB2 } = config.model;
  return { inputDim, hidden, headHidden, activation, sigmaW2, sigmaB2 };
}

/**
 * Everything that learns, in one place: the network, the NTK-GP baseline,
 * the feature moments, the task registry, the drift detectors and the stream
 * position — built fresh or from a checkpoint, and captured back into one.
 */
export class LearningSession {
  readonly spec: ArchitectureSpec;
  readonly network: OnlineRegressor;
  readonly baseline: NtkGpBaseline | undefined;
  readonly featureMoments: RunningMoments;
  readonly targetBands: TargetBands;
  readonly clipPolicy: ClipPolicy;
  readonly tasks: TaskRegistry;
  readonly driftWatch: DriftWatch;
  readonly position: StreamPosition;
  private checkpointRequested = false;

  constructor(config: PipelineConfig, onDrift: (events: readonly DriftEvent[]) => void, saved?: LearningState) {
    this.spec = specOf(config);
    this.network = new OnlineRegressor(
      {
        spec: this.spec,
        learningRate: config.model.learningRate,
        learningRateSafety: config.model.learningRateSafety,
        marginEvery: config.ntkgp.marginEvery,
        readout: config.model.readout,
        seed: config.model.seed,
        fineTune: { ...config.fineTune, batchSize: config.batch.size },
      },
      saved?.network,
    );
    // A checkpoint wins over the pretrained trunk: it holds the trunk as fine-tuned since.
    if (!saved && config.model.pretrainedTrunk) this.network.network.loadTrunk(loadTrunkArtifact(config.model.pretrainedTrunk, this.spec));
    this.baseline = config.ntkgp.enabled
      ? new NtkGpBaseline(
          { spec: this.spec, window: config.ntkgp.window, noise: config.ntkgp.noise },
          saved?.ntkgp ?? undefined,
        )
      : undefined;
    this.featureMoments = saved ? RunningMoments.fromJSON(saved.featureMoments) : new RunningMoments(this.spec.inputDim);
    this.clipPolicy = { sigmas: config.scaling.clipSigmas, warmup: config.scaling.warmup };
    this.targetBands = new TargetBands(this.clipPolicy, saved?.targetBands);
    this.tasks = new TaskRegistry(config.model.maxTasks, { tasks: saved?.tasks ?? [], candidates: saved?.taskCandidates ?? [] });
    this.driftWatch = new DriftWatch(config.drift.detectors as DetectorConfig[], config.drift.models, onDrift, saved?.drift);
    this.position = new StreamPosition(saved?.position);
  }

  /** What the scale stage needs: the feature moments, the target bands and the clipping policy. */
  get scaling(): ScaleParts {
    return { featureMoments: this.featureMoments, targetBands: this.targetBands, policy: this.clipPolicy };
  }

  /** The network first, then the baseline: all score before any learns. */
  get models(): OnlineModel[] {
    return this.baseline ? [this.network, this.baseline] : [this.network];
  }

  /**
   * Reacts to drift on the network's errors: forgets the drifted tasks'
   * replay (a uniform sample of their whole history is mostly the old concept
   * right after a drift) and asks for a fine-tuning phase. Measured in
   * test/unit/model/fine-tune-drift.test.ts: fine-tuning on the old replay
   * barely helps, on a renewed one it lowers post-drift MAE by ~15%.
   */
  fineTuneAfterDrift(events: readonly DriftEvent[]): void {
    const drifted = new Set(events.filter((e) => e.model === 'nn').map((e) => e.task));
    if (drifted.size === 0) return;
    for (const task of drifted) this.network.replay.forget(task);
    this.network.requestFineTune();
  }

  /** Asks for a checkpoint at the next batch boundary (e.g. before partitions move in a rebalance). */
  requestCheckpoint(): void {
    this.checkpointRequested = true;
  }

  takeCheckpointRequest(): boolean {
    const requested = this.checkpointRequested;
    this.checkpointRequested = false;
    return requested;
  }

  capture(): LearningState {
    return {
      spec: this.spec,
      position: this.position.toJSON(),
      featureMoments: this.featureMoments.toJSON(),
      targetBands: this.targetBands.toJSON(),
      tasks: this.tasks.list(),
      taskCandidates: this.tasks.toJSON().candidates,
      network: this.network.toJSON(),
      ntkgp: this.baseline?.toJSON() ?? null,
      drift: this.driftWatch.toJSON(),
    };
  }

  dispose(): void {
    this.network.dispose();
  }
}
