import { decodeFloat32, encodeFloat32 } from '../math/float-codec.js';
import { SeededRandom } from '../math/seeded-random.js';
import type { Example } from '../pipeline/records.js';

export interface ReplayState {
  readonly capacityPerTask: number;
  readonly random: number;
  readonly tasks: { task: string; seen: number; x: string; y: number[]; ts: number[] }[];
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

  toJSON(): ReplayState {
    return {
      capacityPerTask: this.capacityPerTask,
      random: this.random.state,
      tasks: [...this.reservoirs].map(([task, r]) => {
        const dim = r.items[0]?.x.length ?? 0;
        const x = new Float32Array(r.items.length * dim);
        r.items.forEach((e, i) => x.set(e.x, i * dim));
        return { task, seen: r.seen, x: encodeFloat32(x), y: r.items.map((e) => e.y), ts: r.items.map((e) => e.ts) };
      }),
    };
  }

  static fromJSON(state: ReplayState): StratifiedReservoir {
    const reservoir = new StratifiedReservoir(state.capacityPerTask, 0);
    reservoir.random = SeededRandom.fromState(state.random);
    for (const { task, seen, x, y, ts } of state.tasks) {
      const features = decodeFloat32(x);
      const dim = y.length > 0 ? features.length / y.length : 0;
      const items = y.map((target, i) => ({ task, x: features.slice(i * dim, (i + 1) * dim), y: target, ts: ts[i]! }));
      reservoir.reservoirs.set(task, { seen, items });
    }
    return reservoir;
  }

  get size(): number {
    let total = 0;
    for (const r of this.reservoirs.values()) total += r.items.length;
    return total;
  }
}
