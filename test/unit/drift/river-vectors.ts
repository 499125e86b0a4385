import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { DetectorConfig } from '../../../src/drift/create-detector.js';

/** Shape of test/fixtures/drift/river-vectors.json, written by generate_river_vectors.py. */
export interface RiverVectors {
  readonly generatedBy: string;
  readonly versions: { readonly river: string; readonly numpy: string; readonly scipy: string; readonly python: string };
  /** River's constructor defaults, snake_case names as River spells them. */
  readonly riverDefaults: Readonly<Record<'adwin' | 'page-hinkley' | 'kswin', Readonly<Record<string, unknown>>>>;
  readonly streams: readonly FixtureStream[];
  readonly runs: readonly RiverRun[];
  readonly traces: readonly StateTrace[];
  readonly kswinSeedSweep: readonly SeedSweep[];
  readonly ksTests: readonly KsCase[];
}

export interface FixtureStream {
  readonly name: string;
  readonly description: string;
  /** Indices where the generating distribution starts to change. */
  readonly changePoints: readonly number[];
  readonly values: readonly number[];
}

export interface RiverRun {
  readonly stream: string;
  readonly config: DetectorConfig;
  /** The River constructor call that produced `detections`, for messages. */
  readonly riverCall: string;
  /** 0-based indices after whose update River's `drift_detected` was true. */
  readonly detections: readonly number[];
}

/** River's internal state sampled every few updates; `columns[0]` is always the 0-based index. */
export interface StateTrace {
  readonly stream: string;
  readonly config: DetectorConfig;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly number[])[];
}

/** One detector config run under many seeds on one stream; `detections[i]` belongs to `seeds[i]`. */
export interface SeedSweep {
  readonly stream: string;
  readonly config: DetectorConfig;
  readonly seeds: readonly number[];
  readonly detections: readonly (readonly number[])[];
}

export interface KsCase {
  readonly a: readonly number[];
  readonly b: readonly number[];
  readonly statistic: number;
  readonly pValue: number;
}

const fixturePath = fileURLToPath(new URL('../../fixtures/drift/river-vectors.json', import.meta.url));

export const riverVectors: RiverVectors = JSON.parse(readFileSync(fixturePath, 'utf8')) as RiverVectors;

export function streamNamed(name: string): FixtureStream {
  const stream = riverVectors.streams.find((s) => s.name === name);
  if (stream === undefined) throw new Error(`no fixture stream named ${name}`);
  return stream;
}
