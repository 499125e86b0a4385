import { InvalidArgumentError } from 'commander';

/**
 * Parsers for flag values: a bad value is a usage error that names the flag
 * (commander reports it as `option '--x <N>' argument 'v' is invalid. …`).
 */
export function positiveInteger(raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new InvalidArgumentError('expected a positive integer.');
  return value;
}

export function nonNegativeInteger(raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new InvalidArgumentError('expected a non-negative integer.');
  return value;
}

export function positiveNumber(raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError('expected a positive number.');
  return value;
}

export function nonNegativeNumber(raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new InvalidArgumentError('expected a non-negative number.');
  return value;
}

export function fraction(raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new InvalidArgumentError('expected a fraction between 0 and 1.');
  return value;
}

export function nonNegativeIntegerList(raw: string): number[] {
  return raw.split(',').map((part) => nonNegativeInteger(part.trim()));
}
