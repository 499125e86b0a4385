export { Adwin, ADWIN_DEFAULTS, type AdwinConfig, type AdwinParams, type AdwinState } from './adwin.js';
export { createDetector, restoreDetector, type DetectorConfig, type DetectorState, type ShippedDetector } from './create-detector.js';
export { DetectorInputError, DetectorStateError } from './detector-errors.js';
export type { DetectorKind, DriftDetector, DriftSignal, SerialisedDetector } from './drift-detector.js';
export { ksTwoSample, type KsTestResult } from './kolmogorov-smirnov.js';
export { Kswin, KSWIN_DEFAULTS, type KswinConfig, type KswinParams, type KswinState } from './kswin.js';
export {
  PageHinkley,
  PAGE_HINKLEY_DEFAULTS,
  type PageHinkleyConfig,
  type PageHinkleyMode,
  type PageHinkleyParams,
  type PageHinkleyState,
} from './page-hinkley.js';
export { SeededRandom } from '../math/seeded-random.js';
