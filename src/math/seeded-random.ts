/**
 * A small, fast, seedable PRNG (mulberry32) whose whole state is one uint32,
 * so generators and detectors that use it serialise exactly.
 */
export class SeededRandom {
  private state: number;
  private spareNormal: number | undefined;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal (Box–Muller; the second draw is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const spare = this.spareNormal;
      this.spareNormal = undefined;
      return spare;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  toJSON(): { state: number; spareNormal: number | null } {
    return { state: this.state, spareNormal: this.spareNormal ?? null };
  }

  static fromJSON(saved: { state: number; spareNormal: number | null }): SeededRandom {
    const random = new SeededRandom(saved.state);
    random.spareNormal = saved.spareNormal ?? undefined;
    return random;
  }
}
