import { SeededRandom } from '../math/seeded-random.js';

/**
 * The demo stream of DESIGN §9: Friedman #1 with drift, several related tasks.
 * Pure and seeded: the same options always give the same records.
 */
export type DriftKind = 'none' | 'abrupt' | 'gradual' | 'local';

export interface FriedmanOptions {
  readonly seed: number;
  readonly drift: DriftKind;
  /** Record positions p₁ < p₂ (< p₃) where the concept changes. */
  readonly driftPositions: readonly number[];
  /** Transition window w of gradual drift. */
  readonly gradualWidth: number;
  /** Task ids; each gets a fixed random scale and offset of f (related, not identical tasks). */
  readonly tasks: readonly string[];
  /** Relative frequency of each task (defaults to equal). */
  readonly taskWeights?: readonly number[];
  readonly noiseStd: number;
}

export interface FriedmanRecord {
  readonly task: string;
  readonly x: number[];
  readonly y: number;
}

export const defaultFriedmanOptions: FriedmanOptions = {
  seed: 7,
  drift: 'abrupt',
  driftPositions: [50_000, 100_000],
  gradualWidth: 5_000,
  tasks: ['sensor-0', 'sensor-1', 'sensor-2'],
  noiseStd: 1,
};

function f0(x: readonly number[]): number {
  return 10 * Math.sin(Math.PI * x[0]! * x[1]!) + 20 * (x[2]! - 0.5) ** 2 + 10 * x[3]! + 5 * x[4]!;
}
function f1(x: readonly number[]): number {
  return 10 * Math.sin(Math.PI * x[3]! * x[4]!) + 20 * (x[1]! - 0.5) ** 2 + 10 * x[0]! + 5 * x[2]!;
}
function f2(x: readonly number[]): number {
  return 10 * Math.sin(Math.PI * x[1]! * x[4]!) + 20 * (x[3]! - 0.5) ** 2 + 10 * x[2]! + 5 * x[0]!;
}
const globalConcepts = [f0, f1, f2];

/** Local expanding drift (Ikonomovska): region conditions relax at p₂ and p₃. */
function localConcept(x: readonly number[], stage: number): number {
  const inR1 =
    x[1]! < 0.3 && x[2]! < 0.3 && (stage >= 2 || x[3]! > 0.7) && (stage >= 1 || x[4]! < 0.3);
  const inR2 =
    x[1]! > 0.7 && x[2]! > 0.7 && (stage >= 2 || x[3]! < 0.3) && (stage >= 1 || x[4]! > 0.7);
  if (stage >= 0 && inR1) return 10 * x[0]! * x[1]! + 20 * (x[2]! - 0.5) + 10 * x[3]! + 5 * x[4]!;
  if (stage >= 0 && inR2) return 10 * Math.cos(x[0]! * x[1]!) + 20 * (x[2]! - 0.5) + Math.exp(x[3]!) + 5 * x[4]! ** 2;
  return f0(x);
}

/** Index of the concept in force at `position` (number of drift points passed). */
function conceptIndex(options: FriedmanOptions, position: number, random: SeededRandom): number {
  let index = 0;
  for (const p of options.driftPositions) {
    if (position < p) break;
    if (options.drift === 'gradual' && position < p + options.gradualWidth && random.nextFloat() < 0.5) break;
    index += 1;
  }
  return index;
}

export class FriedmanStream {
  private readonly random: SeededRandom;
  private readonly taskTransforms: { scale: number; offset: number }[];
  private readonly cumulativeWeights: number[];
  position = 0;

  constructor(readonly options: FriedmanOptions = defaultFriedmanOptions) {
    this.random = SeededRandom.fromSeed(options.seed);
    const taskRandom = SeededRandom.fromSeed(options.seed ^ 0x5eed);
    this.taskTransforms = options.tasks.map((_, i) =>
      i === 0 ? { scale: 1, offset: 0 } : { scale: 0.7 + 0.6 * taskRandom.nextFloat(), offset: -3 + 6 * taskRandom.nextFloat() },
    );
    const weights = options.taskWeights ?? options.tasks.map(() => 1);
    const total = weights.reduce((a, b) => a + b, 0);
    let running = 0;
    this.cumulativeWeights = weights.map((w) => (running += w / total));
  }

  next(): FriedmanRecord {
    const x = Array.from({ length: 10 }, () => this.random.nextFloat());
    const u = this.random.nextFloat();
    let taskIndex = this.cumulativeWeights.findIndex((c) => u < c);
    if (taskIndex < 0) taskIndex = this.options.tasks.length - 1;
    const concept = conceptIndex(this.options, this.position, this.random);
    const clean =
      this.options.drift === 'none'
        ? f0(x)
        : this.options.drift === 'local'
          ? localConcept(x, concept - 1)
          : globalConcepts[Math.min(concept, globalConcepts.length - 1)]!(x);
    const { scale, offset } = this.taskTransforms[taskIndex]!;
    this.position += 1;
    return { task: this.options.tasks[taskIndex]!, x, y: scale * clean + offset + this.options.noiseStd * this.random.normal() };
  }
}
