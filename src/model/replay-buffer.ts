import { SeededRandom } from '../math/seeded-random.js';
import type { Example } from '../pipeline/records.js';

/**
 * Bounded memory of past examples for fine-tuning phases: one reservoir
 * (Algorithm R) per task, so a frequent task cannot crowd out a rare one.
 */
export class StratifiedReservoir {
  private readonly reservoirs = new Map<string, { seen: number; items: Example[] }>();
  private readonly random: SeededRandom;

  constructor(
    readonly capacityPerTask: number,
    seed: number,
  ) {
    this.random = new SeededRandom(seed);
  }

  add(example: Example): void {
    let reservoir = this.reservoirs.get(example.task);
    if (!reservoir) this.reservoirs.set(example.task, (reservoir = { seen: 0, items: [] }));
    reservoir.seen += 1;
    if (reservoir.items.length < this.capacityPerTask) {
      reservoir.items.push(example);
      return;
    }
    const slot = this.random.int(reservoir.seen);
    if (slot < this.capacityPerTask) reservoir.items[slot] = example;
  }

  /** `count` examples, tasks drawn uniformly, examples uniformly within the task. */
  sample(count: number): Example[] {
    const tasks = [...this.reservoirs.values()].filter((r) => r.items.length > 0);
    if (tasks.length === 0) return [];
    return Array.from({ length: count }, () => {
      const reservoir = tasks[this.random.int(tasks.length)]!;
      return reservoir.items[this.random.int(reservoir.items.length)]!;
    });
  }

  forget(task: string): void {
    this.reservoirs.delete(task);
  }

  get size(): number {
    let total = 0;
    for (const r of this.reservoirs.values()) total += r.items.length;
    return total;
  }
}
