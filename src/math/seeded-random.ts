const TWO_POW_32 = 0x1_0000_0000;

/**
 * mulberry32: a 32-bit-state PRNG. Chosen because its whole state is one
 * uint32, so a detector's checkpoint can carry it as a plain number and a
 * restored detector continues the exact same sequence. Statistical quality is
 * ample for drawing sub-window indices; it is not for cryptography.
 */
export class SeededRandom {
  private constructor(private stateWord: number) {}

  /** Any integer seed; it is reduced to 32 bits. */
  static fromSeed(seed: number): SeededRandom {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    return new SeededRandom(Number(BigInt.asUintN(32, BigInt(seed))));
  }

  /** Continues from a value previously read from `state`. */
  static fromState(state: number): SeededRandom {
    if (!Number.isInteger(state) || state < 0 || state >= TWO_POW_32) {
      throw new RangeError(`PRNG state must be a uint32, got ${state}`);
    }
    return new SeededRandom(state);
  }

  /** The full generator state: a uint32. */
  get state(): number {
    return this.stateWord;
  }

  nextUint32(): number {
    this.stateWord = (this.stateWord + 0x6d2b79f5) >>> 0;
    let t = this.stateWord;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /**
   * Standard normal by Box–Muller. The second value of the pair is dropped,
   * so the generator's whole state stays the one uint32.
   */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.nextFloat());
  }

  /** Uniform integer in [0, bound), without modulo bias (rejection sampling). */
  integerBelow(bound: number): number {
    if (!Number.isInteger(bound) || bound < 1 || bound > TWO_POW_32) {
      throw new RangeError(`bound must be an integer in [1, 2^32], got ${bound}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % bound);
    let draw = this.nextUint32();
    while (draw >= limit) draw = this.nextUint32();
    return draw % bound;
  }

  /**
   * `count` distinct indices from [0, populationSize), uniformly — the role
   * Python's `random.sample(range(populationSize), count)` plays in River.
   * Partial Fisher–Yates, so exactly `count` draws (barring rejections).
   */
  sampleIndices(populationSize: number, count: number): number[] {
    if (!Number.isInteger(count) || count < 0 || count > populationSize) {
      throw new RangeError(`cannot sample ${count} distinct indices from ${populationSize}`);
    }
    const pool = new Array<number>(populationSize);
    for (let i = 0; i < populationSize; i += 1) pool[i] = i;
    for (let i = 0; i < count; i += 1) {
      const j = i + this.integerBelow(populationSize - i);
      const picked = pool[j];
      pool[j] = pool[i];
      pool[i] = picked;
    }
    return pool.slice(0, count);
  }
}
