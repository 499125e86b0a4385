import type { GpPosterior } from '../ntk/gp-posterior.js';
import type { DenseSnapshot, ModelSnapshot, TaskSnapshot } from './model-snapshot.js';

/** A task's GP in an update: a new posterior, `unchanged` since the previous update, or none. */
export type GpUpdate = { readonly posterior: GpPosterior; readonly targetMean: number; readonly targetStd: number } | 'unchanged' | null;

/**
 * A snapshot as sent to the serving thread: everything, except the GP
 * posteriors that did not change since the previous update (a factor is
 * 8·W² bytes per task; a batch touches only some tasks' windows). Tasks
 * absent from `tasks` are gone from the model.
 */
export interface SnapshotUpdate extends Omit<ModelSnapshot, 'tasks'> {
  readonly tasks: readonly (Omit<TaskSnapshot, 'gp'> & { readonly gp: GpUpdate })[];
}

/** The snapshot an update describes, given the one before it (whose unchanged GPs it keeps). */
export function applySnapshotUpdate(previous: ModelSnapshot | undefined, update: SnapshotUpdate): ModelSnapshot {
  const tasks = new Map<string, TaskSnapshot>();
  for (const task of update.tasks) {
    const gp = task.gp === 'unchanged' ? (previous?.tasks.get(task.task)?.gp ?? null) : task.gp;
    tasks.set(task.task, { ...task, gp });
  }
  return { ...update, tasks };
}

/** The buffers an update can hand over instead of copying (every array in it is a fresh copy). */
export function transferables(update: SnapshotUpdate): ArrayBuffer[] {
  const layers = (list: readonly DenseSnapshot[]): ArrayBuffer[] => list.flatMap((l) => [l.weight.buffer as ArrayBuffer, l.bias.buffer as ArrayBuffer]);
  const buffers = [update.featureLow, update.featureHigh, update.featureMean, update.featureStd].map((a) => a.buffer as ArrayBuffer);
  buffers.push(...layers(update.trunk));
  for (const task of update.tasks) {
    buffers.push(...layers(task.head));
    if (task.gp && task.gp !== 'unchanged') {
      const { points, alpha, factor } = task.gp.posterior;
      buffers.push(points.rows.buffer as ArrayBuffer, points.layerVariances.buffer as ArrayBuffer, alpha.buffer as ArrayBuffer, factor.buffer as ArrayBuffer);
    }
  }
  return [...new Set(buffers)];
}
