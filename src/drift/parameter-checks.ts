import { ConfigError } from '../errors.js';

/** The admissible range of one numeric detector parameter. */
export interface NumericRange {
  readonly integer?: boolean;
  /** Inclusive lower bound. */
  readonly min?: number;
  /** Exclusive lower bound. */
  readonly above?: number;
  /** Inclusive upper bound. */
  readonly max?: number;
  /** Exclusive upper bound. */
  readonly below?: number;
}

/**
 * Rejects a parameter outside its range at construction, with a non-retriable
 * `ConfigError`, so a bad pipeline config fails at start-up rather than as a
 * detector that silently never (or always) fires.
 */
export function checkedNumber(field: string, value: number, range: NumericRange): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ConfigError(field, `must be a finite number, got ${String(value)}`);
  }
  if (range.integer === true && !Number.isInteger(value)) {
    throw new ConfigError(field, `must be an integer, got ${value}`);
  }
  if (range.min !== undefined && value < range.min) {
    throw new ConfigError(field, `must be >= ${range.min}, got ${value}`);
  }
  if (range.above !== undefined && value <= range.above) {
    throw new ConfigError(field, `must be > ${range.above}, got ${value}`);
  }
  if (range.max !== undefined && value > range.max) {
    throw new ConfigError(field, `must be <= ${range.max}, got ${value}`);
  }
  if (range.below !== undefined && value >= range.below) {
    throw new ConfigError(field, `must be < ${range.below}, got ${value}`);
  }
  return value;
}
