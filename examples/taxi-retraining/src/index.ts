/**
 * `@mltrace/example-taxi-retraining`: retraining a taxi-tip classifier under a promotion policy,
 * traced from the MLflow alias back to the DVC data version. The pieces are reusable: the seeded
 * trip generator, the pipeline steps, the TypeScript model, the Temporal activities and worker,
 * the Python worker's launcher (its scikit-learn training and evaluation are in `python/`), the
 * DVC repository of monthly trips, and the demo (`runDemo`, `npm run demo`).
 *
 * @example
 * ```ts
 * import { runDemo } from '@mltrace/example-taxi-retraining';
 * const { explanation } = await runDemo(); // starts Temporal and MLflow, runs twice, stops them
 * ```
 * @module
 */
export { createTripsRepo, isolatedEnv, type TripsRepo, type TripsRepoOptions } from './data-repo.js';
export { type DemoOptions, type DemoResult, defaultHome, runDemo } from './demo.js';
export {
  formatTimestamp,
  type GenerateOptions,
  generateTrips,
  isShiftedMonth,
  TRIP_COLUMNS,
} from './generate.js';
export {
  type Evaluation,
  evaluate,
  type LogisticModel,
  predictProba,
  rocAuc,
  type TrainParams,
  trainLogisticRegression,
} from './model.js';
export {
  buildFeatures,
  CLEAN_COLUMNS,
  type CleaningStats,
  cleanTrips,
  column,
  columns,
  FEATURE_COLUMNS,
  formatCsv,
  formatNumericCsv,
  LABEL_COLUMN,
  type NumericTable,
  parseCsv,
  parseNumericCsv,
  splitFeatures,
} from './pipeline.js';
export {
  PYTHON_WORKER_SCRIPT,
  type PythonWorker,
  type PythonWorkerOptions,
  startPythonWorker,
} from './python-worker.js';
export { createRandom, hashString, type Random } from './random.js';
export { freePort, type Service, startMlflow, startTemporal } from './services.js';
export {
  cleaning,
  evaluateTaxiModel,
  featuregen,
  PYTHON_ACTIVITIES,
  split,
  TAXI_POLICY,
  type TaxiInputOptions,
  type TaxiParams,
  taxiActivities,
  taxiRetrainingInput,
  trainTaxiModel,
} from './taxi.js';
export { pythonCommand, repositoryRoot, type Tool, toolCommand } from './tools.js';
export { createTaxiWorker, type TaxiWorkerOptions } from './worker.js';
