import { ConfigError } from '../errors.js';
import { Adwin, type AdwinConfig, type AdwinState } from './adwin.js';
import { DetectorStateError } from './detector-errors.js';
import type { DriftDetector } from './drift-detector.js';
import { Kswin, type KswinConfig, type KswinState } from './kswin.js';
import { PageHinkley, type PageHinkleyConfig, type PageHinkleyState } from './page-hinkley.js';

/** Discriminated by `kind`; every field but `kind` is optional and defaults to River's value. */
export type DetectorConfig = AdwinConfig | PageHinkleyConfig | KswinConfig;

/** Serialised detector, discriminated by `kind`, versioned so a checkpoint format change is detectable. */
export type DetectorState = AdwinState | PageHinkleyState | KswinState;

/** A detector of one of the kinds tangent ships. */
export type ShippedDetector = DriftDetector<DetectorState>;

/** Builds a detector from its config; omitted parameters take River's defaults. Throws `ConfigError` on a bad value. */
export function createDetector(config: DetectorConfig): ShippedDetector {
  // Each constructor reads only its own parameter names, so the `kind` tag can ride along.
  switch (config.kind) {
    case 'adwin':
      return new Adwin(config);
    case 'page-hinkley':
      return new PageHinkley(config);
    case 'kswin':
      return new Kswin(config);
    default:
      return unknownKind(config);
  }
}

/**
 * Rebuilds a detector from `toJSON()` output, typically read back from a
 * checkpoint: the restored detector's future outputs equal the original's.
 * Takes `unknown` (a `DetectorState` once parsed) because the state comes from
 * disk and is validated here; throws `DetectorStateError`.
 */
export function restoreDetector(state: unknown): ShippedDetector {
  const kind = typeof state === 'object' && state !== null ? (state as { kind?: unknown }).kind : undefined;
  switch (kind) {
    case 'adwin':
      return Adwin.fromJSON(state);
    case 'page-hinkley':
      return PageHinkley.fromJSON(state);
    case 'kswin':
      return Kswin.fromJSON(state);
    default:
      throw new DetectorStateError(String(kind), 'unknown detector kind');
  }
}

function unknownKind(config: never): never {
  throw new ConfigError('kind', `unknown drift detector kind ${JSON.stringify((config as { kind?: unknown }).kind)}`);
}
