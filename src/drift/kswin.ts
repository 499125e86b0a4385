import { ConfigError } from '../errors.js';
import { DetectorInputError } from './detector-errors.js';
import { DRIFT, NO_DRIFT, type DriftDetector, type DriftSignal } from './drift-detector.js';
import { ksTwoSample } from './kolmogorov-smirnov.js';
import { checkedNumber } from './parameter-checks.js';
import { SeededRandom } from '../math/seeded-random.js';
import { StateReader } from './state-checks.js';

/** KSWIN's parameters; all but `seed` default to River's (`river.drift.KSWIN`). */
export interface KswinParams {
  /** Significance level of the KS test; River advises below 0.01. */
  readonly alpha: number;
  /** Length of the sliding window Ψ. */
  readonly windowSize: number;
  /** Length r of the most-recent sub-window R, and of the sample W drawn from the older part. */
  readonly statSize: number;
  /**
   * Seed of the sub-sampling PRNG. River defaults to an unseeded generator;
   * tangent fixes one so a replay from a checkpoint detects at the same records.
   */
  readonly seed: number;
}

export const KSWIN_DEFAULTS: KswinParams = Object.freeze({
  alpha: 0.005,
  windowSize: 100,
  statSize: 30,
  seed: 1,
});

export type KswinConfig = { readonly kind: 'kswin' } & Partial<KswinParams>;

export interface KswinState {
  readonly kind: 'kswin';
  readonly version: 1;
  readonly params: KswinParams;
  readonly driftDetected: boolean;
  /** Values seen since the last reset (River's `n`). */
  readonly count: number;
  readonly pValue: number;
  /** Oldest first. */
  readonly window: number[];
  /** mulberry32 state word, so a restored detector draws the same sub-samples. */
  readonly rngState: number;
}

/**
 * KSWIN (Raab, Heusinger & Schleif 2020), following River 0.26.1's
 * `river/drift/kswin.py`: once the window is full, every update compares the
 * newest `statSize` values with `statSize` values drawn without replacement
 * from the older part, and reports drift when the KS p-value ≤ alpha and the
 * statistic > 0.1. Same algorithm, but River draws with Python's Mersenne
 * Twister and this draws with mulberry32, so indices are not River's.
 */
export class Kswin implements DriftDetector<KswinState> {
  readonly name = 'kswin' as const;
  readonly params: KswinParams;

  private drifted = false;
  private count = 0;
  private pValue = 0;
  private window: number[] = [];
  private random: SeededRandom;

  constructor(config: Partial<KswinParams> = {}) {
    const d = KSWIN_DEFAULTS;
    const windowSize = checkedNumber('kswin.windowSize', config.windowSize ?? d.windowSize, { integer: true, min: 2 });
    const statSize = checkedNumber('kswin.statSize', config.statSize ?? d.statSize, { integer: true, min: 1 });
    // W is drawn without replacement from the windowSize − statSize older values.
    if (windowSize - statSize < statSize) {
      throw new ConfigError('kswin.statSize', `must be at most windowSize / 2 (${windowSize / 2}), got ${statSize}`);
    }
    this.params = Object.freeze({
      alpha: checkedNumber('kswin.alpha', config.alpha ?? d.alpha, { above: 0, below: 1 }),
      windowSize,
      statSize,
      seed: checkedNumber('kswin.seed', config.seed ?? d.seed, {
        integer: true,
        min: Number.MIN_SAFE_INTEGER,
        max: Number.MAX_SAFE_INTEGER,
      }),
    });
    this.random = SeededRandom.fromSeed(this.params.seed);
  }

  get driftDetected(): boolean {
    return this.drifted;
  }

  /** p-value of the most recent KS test (0 before the window first fills, as in River). */
  get lastPValue(): number {
    return this.pValue;
  }

  update(value: number): DriftSignal {
    if (!Number.isFinite(value)) throw new DetectorInputError(this.name, value);
    // As River: a detection is followed by a full restart, window emptied and PRNG reseeded.
    if (this.drifted) this.reset();
    this.count += 1;

    const { windowSize, statSize, alpha } = this.params;
    this.window.push(value);
    if (this.window.length > windowSize) this.window.shift();
    if (this.window.length < windowSize) {
      this.drifted = false;
      return NO_DRIFT;
    }

    const olderSample = this.random.sampleIndices(windowSize - statSize, statSize).map((i) => this.window[i]);
    const mostRecent = this.window.slice(windowSize - statSize);
    const test = ksTwoSample(olderSample, mostRecent);
    this.pValue = test.pValue;
    // River also shrinks the window to `mostRecent` here; the restart at the next update discards it, so it is omitted.
    this.drifted = test.pValue <= alpha && test.statistic > 0.1;
    return this.drifted ? DRIFT : NO_DRIFT;
  }

  reset(): void {
    this.drifted = false;
    this.count = 0;
    this.pValue = 0;
    this.window = [];
    this.random = SeededRandom.fromSeed(this.params.seed);
  }

  toJSON(): KswinState {
    return {
      kind: 'kswin',
      version: 1,
      params: { ...this.params },
      driftDetected: this.drifted,
      count: this.count,
      pValue: this.pValue,
      window: [...this.window],
      rngState: this.random.state,
    };
  }

  static fromJSON(state: unknown): Kswin {
    const reader = new StateReader('kswin', state, 1);
    const detector = new Kswin(reader.object('params') as Partial<KswinParams>);
    const window = reader.finiteArray('window');
    if (window.length > detector.params.windowSize) {
      throw reader.fail('window', `at most ${detector.params.windowSize} values`);
    }
    const rngState = reader.nonNegativeInteger('rngState');
    if (rngState > 0xffff_ffff) throw reader.fail('rngState', 'a uint32');
    detector.drifted = reader.boolean('driftDetected');
    detector.count = reader.nonNegativeInteger('count');
    detector.pValue = reader.finite('pValue');
    detector.window = window;
    detector.random = SeededRandom.fromState(rngState);
    return detector;
  }
}
