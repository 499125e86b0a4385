import { describe, expect, it } from 'vitest';
import { hypot } from '../../../src/math/hypot.js';
import { SeededRandom } from '../../../src/math/seeded-random.js';

describe('hypot', () => {
  it("gives Math.hypot's number bit for bit, on special values", () => {
    const specials = [0, -0, 1, -1, 3, 4, 0.5, Infinity, -Infinity, NaN, Number.MIN_VALUE, -Number.MIN_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE, 1e-308, 1e308, 2 ** -1022];
    for (const a of specials) for (const b of specials) expect(Object.is(hypot(a, b), Math.hypot(a, b)), `hypot(${a}, ${b})`).toBe(true);
  });

  it("gives Math.hypot's number bit for bit, over every exponent and on the eigen-solver's (p, 1)", () => {
    const generator = SeededRandom.fromSeed(17);
    const random = (): number => generator.nextFloat();
    const words = new Uint32Array(2);
    const asDouble = new Float64Array(words.buffer);
    const anyDouble = (): number => {
      words[0] = Math.floor(random() * 2 ** 32);
      words[1] = Math.floor(random() * 2 ** 32);
      return asDouble[0]!;
    };
    const scaled = (): number => (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
    let mismatches = 0;
    for (let i = 0; i < 300_000; i++) {
      const a = i % 3 === 0 ? anyDouble() : scaled();
      const b = i % 4 === 0 ? 1 : i % 4 === 1 ? anyDouble() : scaled();
      if (!Object.is(hypot(a, b), Math.hypot(a, b))) mismatches += 1;
    }
    expect(mismatches).toBe(0);
  });
});
