import { TangentError } from '../errors.js';

/** A value a detector cannot take: River would silently poison its running sums with it. */
export class DetectorInputError extends TangentError {
  constructor(
    readonly detector: string,
    readonly value: number,
  ) {
    super(`drift detector "${detector}" received a non-finite value (${String(value)})`);
  }
}

/** A serialised detector that cannot be restored (wrong kind, version or shape). */
export class DetectorStateError extends TangentError {
  constructor(
    readonly detector: string,
    message: string,
  ) {
    super(`cannot restore drift detector "${detector}": ${message}`);
  }
}
