/**
 * `@mltrace/retraining`: the retraining workflow template's Node side.
 * @module
 */
export {
  DEFAULT_DRIFT_THRESHOLDS,
  DRIFT_MEASURES,
  type DriftMeasure,
  type DriftOptions,
  type DriftReport,
  type DriftThresholds,
  driftReport,
  type FeatureColumns,
  type FeatureDrift,
  featureDrift,
  ksStatistic,
  mean,
  populationStabilityIndex,
  quantile,
  standardDeviation,
} from './drift.js';
