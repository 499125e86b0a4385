import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import { sameTrunk } from '../spec/architecture-spec.js';
import type { NtkGpBaselineState } from '../model/ntk-gp-baseline.js';
import type { OnlineRegressorState } from '../model/online-regressor.js';
import type { RunningMomentsState } from '../model/running-moments.js';
import type { TargetBandState, TargetBandsState } from '../model/outlier-clipping.js';
import type { RobustBandState } from '../model/robust-band.js';
import type { DriftWatchState } from '../pipeline/drift-watch.js';
import { ModelError } from '../errors.js';
import type { StreamPositionState } from './stream-position.js';
import type { TaskSource } from './task-ledger.js';
import type { TaskState } from './task-state.js';

/** An evicted task's state (with its target band), restored when the task returns. */
export interface ParkedTask {
  readonly state: TaskState;
  readonly band: TargetBandState | undefined;
}

/** Everything that must survive a crash for every record to affect the model exactly once. */
export interface LearningState {
  readonly spec: ArchitectureSpec;
  readonly position: StreamPositionState;
  readonly featureMoments: RunningMomentsState;
  /** The robust band features are clipped to; absent in checkpoints from before it (an empty window then). */
  readonly featureBand?: RobustBandState;
  /** Per-task target bands for clipping (robust scaling); absent in checkpoints from before it. */
  readonly targetBands?: TargetBandsState;
  readonly tasks: string[];
  /** New tasks seen once while admission needs a second sighting (task-registry.ts); absent in older checkpoints. */
  readonly taskCandidates?: readonly string[];
  /** Per task of `tasks`, the admitted-record count at its last record, and the count so far (idle-task eviction). */
  readonly taskLastSeen?: readonly number[];
  readonly admittedRecords?: number;
  /** States of evicted tasks, kept until they return. */
  readonly parkedTasks?: readonly ParkedTask[];
  readonly network: OnlineRegressorState;
  readonly ntkgp: NtkGpBaselineState | null;
  readonly drift: DriftWatchState;
  /** Each task's partition and learned count (absent in checkpoints of older versions). */
  readonly taskSources?: Record<string, TaskSource>;
}

/** Refuses a checkpoint made for another architecture instead of loading weights of the wrong shape. */
export function validateLearningState(spec: ArchitectureSpec): (state: unknown) => LearningState {
  return (state) => {
    const candidate = state as Partial<LearningState>;
    if (!candidate.spec || !candidate.position || !candidate.network || !candidate.featureMoments) {
      throw new Error('checkpoint lacks learning state');
    }
    const saved = candidate.spec;
    if (!sameTrunk(saved, spec) || saved.headHidden.join() !== spec.headHidden.join()) {
      throw new ModelError(
        `checkpoint was made for model ${JSON.stringify(saved)}, the pipeline's model is ${JSON.stringify(spec)}; ` +
          'use another checkpoint.dir or restore the old model settings',
      );
    }
    return candidate as LearningState;
  };
}
