import { DetectorStateError } from './detector-errors.js';

/**
 * Readers for a serialised detector. A checkpoint is read back from disk, so
 * its shape is checked field by field instead of trusted by a cast.
 */
export class StateReader {
  private readonly record: Record<string, unknown>;

  constructor(
    private readonly detector: string,
    state: unknown,
    expectedVersion: number,
  ) {
    if (typeof state !== 'object' || state === null || Array.isArray(state)) {
      throw new DetectorStateError(detector, 'state is not an object');
    }
    this.record = state as Record<string, unknown>;
    if (this.record['kind'] !== detector) {
      throw new DetectorStateError(detector, `state is of kind ${JSON.stringify(this.record['kind'])}`);
    }
    if (this.record['version'] !== expectedVersion) {
      throw new DetectorStateError(
        detector,
        `state version ${JSON.stringify(this.record['version'])} is not the supported ${expectedVersion}`,
      );
    }
  }

  object(key: string): Record<string, unknown> {
    const value = this.record[key];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw this.fail(key, 'an object');
    }
    return value as Record<string, unknown>;
  }

  finite(key: string): number {
    return this.finiteValue(key, this.record[key]);
  }

  nonNegativeInteger(key: string): number {
    const value = this.finite(key);
    if (!Number.isInteger(value) || value < 0) throw this.fail(key, 'a non-negative integer');
    return value;
  }

  boolean(key: string): boolean {
    const value = this.record[key];
    if (typeof value !== 'boolean') throw this.fail(key, 'a boolean');
    return value;
  }

  /** A finite number, or `null` standing for a value JSON cannot hold (±Infinity). */
  finiteOrNull(key: string): number | null {
    const value = this.record[key];
    return value === null ? null : this.finiteValue(key, value);
  }

  finiteArray(key: string, value: unknown = this.record[key]): number[] {
    if (!Array.isArray(value)) throw this.fail(key, 'an array of numbers');
    return value.map((item: unknown) => this.finiteValue(key, item));
  }

  array(key: string): unknown[] {
    const value = this.record[key];
    if (!Array.isArray(value)) throw this.fail(key, 'an array');
    return value;
  }

  fail(key: string, expected: string): DetectorStateError {
    return new DetectorStateError(this.detector, `field "${key}" must be ${expected}`);
  }

  private finiteValue(key: string, value: unknown): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw this.fail(key, 'a finite number');
    return value;
  }
}
