import { ConfigError } from '../errors.js';
import { DetectorInputError } from './detector-errors.js';
import { DRIFT, NO_DRIFT, type DriftDetector, type DriftSignal } from './drift-detector.js';
import { checkedNumber } from './parameter-checks.js';
import { StateReader } from './state-checks.js';

/** Which direction of mean change Page-Hinkley reports. */
export type PageHinkleyMode = 'up' | 'down' | 'both';

/** Page-Hinkley's parameters; the defaults are River's (`river.drift.PageHinkley`). */
export interface PageHinkleyParams {
  /** No detection before this many values since the last reset. */
  readonly minInstances: number;
  /** Magnitude of change tolerated per value (the CUSUM allowance). */
  readonly delta: number;
  /** Detection threshold λ on the cumulative deviation. */
  readonly threshold: number;
  /** Forgetting factor applied to the cumulative sums each step. */
  readonly alpha: number;
  readonly mode: PageHinkleyMode;
}

export const PAGE_HINKLEY_DEFAULTS: PageHinkleyParams = Object.freeze({
  minInstances: 30,
  delta: 0.005,
  threshold: 50,
  alpha: 1 - 0.0001,
  mode: 'both',
});

export type PageHinkleyConfig = { readonly kind: 'page-hinkley' } & Partial<PageHinkleyParams>;

export interface PageHinkleyState {
  readonly kind: 'page-hinkley';
  readonly version: 1;
  readonly params: PageHinkleyParams;
  readonly driftDetected: boolean;
  /** Count and value of River's running `stats.Mean`. */
  readonly count: number;
  readonly mean: number;
  readonly sumIncrease: number;
  readonly sumDecrease: number;
  /** `null` before the first value, when River holds +Infinity (which JSON cannot). */
  readonly minIncrease: number | null;
  readonly maxDecrease: number;
}

const MODES: readonly PageHinkleyMode[] = ['up', 'down', 'both'];

/**
 * Two-sided Page-Hinkley test with a fading mean, ported from River 0.26.1's
 * `river/drift/page_hinkley.py` (and the `stats.Mean` it uses) with River's
 * operand order, so detections land at River's exact indices.
 */
export class PageHinkley implements DriftDetector<PageHinkleyState> {
  readonly name = 'page-hinkley' as const;
  readonly params: PageHinkleyParams;

  private drifted = false;
  private count = 0;
  private mean = 0;
  private sumIncrease = 0;
  private sumDecrease = 0;
  private minIncrease = Number.POSITIVE_INFINITY;
  private maxDecrease = -1;

  constructor(config: Partial<PageHinkleyParams> = {}) {
    const mode = config.mode ?? PAGE_HINKLEY_DEFAULTS.mode;
    if (!MODES.includes(mode)) {
      throw new ConfigError('page-hinkley.mode', `must be one of ${MODES.join(', ')}, got ${String(mode)}`);
    }
    this.params = Object.freeze({
      minInstances: checkedNumber('page-hinkley.minInstances', config.minInstances ?? PAGE_HINKLEY_DEFAULTS.minInstances, {
        integer: true,
        min: 1,
      }),
      delta: checkedNumber('page-hinkley.delta', config.delta ?? PAGE_HINKLEY_DEFAULTS.delta, { min: 0 }),
      threshold: checkedNumber('page-hinkley.threshold', config.threshold ?? PAGE_HINKLEY_DEFAULTS.threshold, { above: 0 }),
      alpha: checkedNumber('page-hinkley.alpha', config.alpha ?? PAGE_HINKLEY_DEFAULTS.alpha, { above: 0, max: 1 }),
      mode,
    });
  }

  get driftDetected(): boolean {
    return this.drifted;
  }

  update(value: number): DriftSignal {
    if (!Number.isFinite(value)) throw new DetectorInputError(this.name, value);
    if (this.drifted) this.reset();

    // River's stats.Mean.update with weight 1, kept in its exact form.
    this.count += 1;
    this.mean += (1 / this.count) * (value - this.mean);
    const deviation = value - this.mean;

    const { alpha, delta } = this.params;
    this.sumIncrease = alpha * this.sumIncrease + deviation - delta;
    this.sumDecrease = alpha * this.sumDecrease + deviation + delta;
    if (this.sumIncrease < this.minIncrease) this.minIncrease = this.sumIncrease;
    if (this.sumDecrease > this.maxDecrease) this.maxDecrease = this.sumDecrease;

    // Below min_instances River leaves the flag as it was, which is always false after the reset above.
    if (this.count >= this.params.minInstances) {
      this.drifted = this.exceedsThreshold(this.sumIncrease - this.minIncrease, this.maxDecrease - this.sumDecrease);
    }
    return this.drifted ? DRIFT : NO_DRIFT;
  }

  reset(): void {
    this.drifted = false;
    this.count = 0;
    this.mean = 0;
    this.sumIncrease = 0;
    this.sumDecrease = 0;
    this.minIncrease = Number.POSITIVE_INFINITY;
    // River starts the running maximum at -1, not -Infinity; harmless because the first sum is ≥ delta ≥ 0.
    this.maxDecrease = -1;
  }

  toJSON(): PageHinkleyState {
    return {
      kind: 'page-hinkley',
      version: 1,
      params: { ...this.params },
      driftDetected: this.drifted,
      count: this.count,
      mean: this.mean,
      sumIncrease: this.sumIncrease,
      sumDecrease: this.sumDecrease,
      minIncrease: Number.isFinite(this.minIncrease) ? this.minIncrease : null,
      maxDecrease: this.maxDecrease,
    };
  }

  static fromJSON(state: unknown): PageHinkley {
    const reader = new StateReader('page-hinkley', state, 1);
    const detector = new PageHinkley(reader.object('params') as Partial<PageHinkleyParams>);
    detector.drifted = reader.boolean('driftDetected');
    detector.count = reader.nonNegativeInteger('count');
    detector.mean = reader.finite('mean');
    detector.sumIncrease = reader.finite('sumIncrease');
    detector.sumDecrease = reader.finite('sumDecrease');
    detector.minIncrease = reader.finiteOrNull('minIncrease') ?? Number.POSITIVE_INFINITY;
    detector.maxDecrease = reader.finite('maxDecrease');
    return detector;
  }

  private exceedsThreshold(increase: number, decrease: number): boolean {
    const { threshold, mode } = this.params;
    switch (mode) {
      case 'up':
        return increase > threshold;
      case 'down':
        return decrease > threshold;
      case 'both':
        return increase > threshold || decrease > threshold;
    }
  }
}
