import type { DriftDetector } from '../../../src/drift/drift-detector.js';

/** Feeds every value and returns the indices at which the detector reported drift. */
export function detectionIndices(detector: DriftDetector, values: readonly number[]): number[] {
  const found: number[] = [];
  values.forEach((value, index) => {
    if (detector.update(value).drift) found.push(index);
  });
  return found;
}
