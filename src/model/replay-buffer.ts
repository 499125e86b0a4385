import { decodeFloat32, encodeFloat32 } from '../math/float-codec.js';
import { SeededRandom } from '../math/seeded-random.js';
import type { Example } from '../spec/example.js';

/** One task's reservoir: how many it has seen and the kept examples (features as base64 float32). */
export interface TaskReservoirState {
  readonly task: string;
  readonly seen: number;
  readonly x: string;
  readonly y: number[];
  readonly ts: number[];
}

export interface ReplayState {
  readonly capacityPerTask: number;
  readonly random: number;
  readonly tasks: TaskReservoirState[];
}

/**
 * Bounded memory of past examples for fine-tuning phases: one reservoir
 * (Algorithm R) per task, so a frequent task cannot crowd out a rare one.
 */
export class StratifiedReservoir {
  private readonly reservoirs = new Map<string, { seen: number; items: Example[] }>();
  private random: SeededRandom;

  constructor(
    readonly capacityPerTask: number,
    seed: number,
  ) {
    this.random = SeededRandom.fromSeed(seed);
  }

  add(example: Example): void {
    let reservoir = this.reservoirs.get(example.task);
    if (!reservoir) this.reservoirs.set(example.task, (reservoir = { seen: 0, items: [] }));
    reservoir.seen += 1;
    if (reservoir.items.length < this.capacityPerTask) {
      reservoir.items.push(example);
      return;
    }
    const slot = this.random.integerBelow(reservoir.seen);
    if (slot < this.capacityPerTask) reservoir.items[slot] = example;
  }

  /** `count` examples, tasks drawn uniformly, examples uniformly within the task. */
  sample(count: number): Example[] {
    const tasks = [...this.reservoirs.values()].filter((r) => r.items.length > 0);
    if (tasks.length === 0) return [];
    return Array.from({ length: count }, () => {
      const reservoir = tasks[this.random.integerBelow(tasks.length)]!;
      return reservoir.items[this.random.integerBelow(reservoir.items.length)]!;
    });
  }

  forget(task: string): void {
    this.reservoirs.delete(task);
  }

  /** One task's reservoir as saved state, or undefined when it has none. */
  taskState(task: string): TaskReservoirState | undefined {
    const r = this.reservoirs.get(task);
    if (!r) return undefined;
    const dim = r.items[0]?.x.length ?? 0;
    const x = new Float32Array(r.items.length * dim);
    r.items.forEach((e, i) => x.set(e.x, i * dim));
    return { task, seen: r.seen, x: encodeFloat32(x), y: r.items.map((e) => e.y), ts: r.items.map((e) => e.ts) };
  }

  /** Replaces one task's reservoir with a saved one (the sampling RNG stays this reservoir's own). */
  loadTask({ task, seen, x, y, ts }: TaskReservoirState): void {
    const features = decodeFloat32(x);
    const dim = y.length > 0 ? features.length / y.length : 0;
    const items = y.map((target, i) => ({ task, x: features.slice(i * dim, (i + 1) * dim), y: target, ts: ts[i]! }));
    this.reservoirs.set(task, { seen, items });
  }

  toJSON(): ReplayState {
    return {
      capacityPerTask: this.capacityPerTask,
      random: this.random.state,
      tasks: [...this.reservoirs.keys()].map((task) => this.taskState(task)!),
    };
  }

  static fromJSON(state: ReplayState): StratifiedReservoir {
    const reservoir = new StratifiedReservoir(state.capacityPerTask, 0);
    reservoir.random = SeededRandom.fromState(state.random);
    for (const task of state.tasks) reservoir.loadTask(task);
    return reservoir;
  }

  get size(): number {
    let total = 0;
    for (const r of this.reservoirs.values()) total += r.items.length;
    return total;
  }
}
