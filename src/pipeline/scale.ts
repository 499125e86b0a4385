import { map, type OperatorFunction } from 'rxjs';
import type { RunningMoments } from '../model/running-moments.js';
import type { Decoded } from './records.js';

/**
 * Stage: online standardisation of features. The moments are model state
 * (checkpointed with it), so they are passed in rather than owned here. Each
 * record first updates the moments, then is standardised with them, so the
 * very first record is well defined.
 */
export function scale(moments: RunningMoments): OperatorFunction<Decoded, Decoded> {
  return map((decoded) => {
    if (decoded.ok) {
      moments.update(decoded.example.x);
      moments.standardize(decoded.example.x, decoded.example.x);
    }
    return decoded;
  });
}
