import type { SeededRandom } from '../math/seeded-random.js';
import type { RejectReason } from '../pipeline/records.js';

/**
 * Bad records of every kind the decoder rejects, each with the reason it
 * must be rejected for: the load generator mixes them in, the tests check
 * that every one lands in the dead-letter topic with that reason.
 */
export interface MalformedRecord {
  readonly value: Buffer;
  readonly expectedReason: RejectReason;
}

type Maker = (random: SeededRandom, inputDim: number, maxRecordBytes: number) => MalformedRecord;

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const goodX = (random: SeededRandom, n: number): number[] => Array.from({ length: n }, () => random.nextFloat());

export const malformedMakers: Readonly<Record<string, Maker>> = {
  invalidJson: () => ({ value: Buffer.from('{"task": "sensor-0", "x": [0.1, '), expectedReason: 'invalid_json' }),
  binaryGarbage: (random) => ({
    value: Buffer.from(Array.from({ length: 32 }, (_, i) => (i === 0 ? 0xff : random.integerBelow(256)))),
    expectedReason: 'invalid_utf8',
  }),
  empty: () => ({ value: Buffer.alloc(0), expectedReason: 'empty' }),
  notAnObject: (random) => ({ value: json(goodX(random, 3)), expectedReason: 'not_an_object' }),
  wrongDimension: (random, inputDim) => ({
    value: json({ task: 'sensor-0', x: goodX(random, inputDim + 1 + random.integerBelow(3)), y: 1 }),
    expectedReason: 'wrong_dimension',
  }),
  nonFiniteFeature: (random, inputDim) => {
    const x: unknown[] = goodX(random, inputDim);
    x[random.integerBelow(inputDim)] = ['NaN', 'Infinity', null][random.integerBelow(3)];
    return { value: json({ task: 'sensor-0', x, y: 1 }), expectedReason: 'non_finite' };
  },
  nonFiniteTarget: (random, inputDim) => ({
    value: json({ task: 'sensor-0', x: goodX(random, inputDim), y: '-Infinity' }),
    expectedReason: 'non_finite',
  }),
  missingFeatures: () => ({ value: json({ task: 'sensor-0', y: 2 }), expectedReason: 'missing_field' }),
  missingTask: (random, inputDim) => ({ value: json({ x: goodX(random, inputDim), y: 2 }), expectedReason: 'missing_field' }),
  wrongType: (random, inputDim) => ({
    value: json({ task: 'sensor-0', x: goodX(random, inputDim).map(String), y: 3 }),
    expectedReason: 'unknown_field_type',
  }),
  tooLarge: (random, inputDim, maxRecordBytes) => ({
    value: json({ task: 'sensor-0', x: goodX(random, inputDim), y: 1, padding: 'x'.repeat(maxRecordBytes) }),
    expectedReason: 'too_large',
  }),
};

const kinds = Object.keys(malformedMakers);

/** A bad record of a kind drawn uniformly from every kind above. */
export function randomMalformedRecord(random: SeededRandom, inputDim: number, maxRecordBytes: number): MalformedRecord {
  return malformedMakers[kinds[random.integerBelow(kinds.length)]!]!(random, inputDim, maxRecordBytes);
}
