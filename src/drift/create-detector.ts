import { ConfigError } from '../errors.js';
import { Adwin } from './adwin.js';
import { DetectorStateError } from './detector-errors.js';
import type { DetectorConfig, DriftDetector } from './drift-detector.js';
import { Kswin } from './kswin.js';
import { PageHinkley } from './page-hinkley.js';

/** Builds a detector from its config; omitted parameters take River's defaults. Throws `ConfigError` on a bad value. */
export function createDetector(config: DetectorConfig): DriftDetector {
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
export function restoreDetector(state: unknown): DriftDetector {
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
