/** The detectors tangent ships; each is a port of River's detector of the same name. */
export type DetectorKind = 'adwin' | 'page-hinkley' | 'kswin';

/** What one observation told the detector. `warning` is reserved for detectors with a warning zone (none of River's three has one). */
export interface DriftSignal {
  readonly drift: boolean;
  readonly warning?: boolean;
}

/**
 * A univariate change detector fed one value at a time (typically a model's
 * prequential error). Semantics follow River's `DriftDetector`: after an
 * update that reports drift, the next update first resets the detector, so a
 * detection starts a fresh reference window.
 */
/** What every detector's snapshot starts with (each detector's own state type extends it). */
export interface SerialisedDetector {
  readonly kind: DetectorKind;
  /** Versioned so a checkpoint format change is detectable. */
  readonly version: number;
}

export interface DriftDetector<State extends SerialisedDetector = SerialisedDetector> {
  readonly name: DetectorKind;
  /** Whether the most recent update reported drift. */
  readonly driftDetected: boolean;
  /** Feeds one finite value; throws `DetectorInputError` for NaN or ±Infinity. */
  update(value: number): DriftSignal;
  /** Forgets everything seen, as if freshly constructed with the same parameters (and seed). */
  reset(): void;
  /** A plain, JSON-safe snapshot from which `restoreDetector` rebuilds an identical detector. */
  toJSON(): State;
}

// Shared so the hot path allocates nothing per observation.
export const NO_DRIFT: DriftSignal = Object.freeze({ drift: false });
export const DRIFT: DriftSignal = Object.freeze({ drift: true });
