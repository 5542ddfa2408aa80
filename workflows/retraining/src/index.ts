/**
 * `@mltrace/retraining`: the retraining workflow template of mltrace for Temporal, its Node side.
 * The workflow itself is sandbox-safe and lives in `@mltrace/retraining/workflow`; this entry
 * point holds its activities, the promotion policy and drift measures (pure), client helpers
 * (start, approve, schedule) and the explanation of an alias (`explainAlias`).
 *
 * A run pins a DVC data version, finds the champion (the model version holding the alias) and
 * the data it was trained on, runs the user's prepare steps, measures drift as effect sizes,
 * trains, registers the candidate in MLflow, evaluates candidate and champion on the same data,
 * decides under the policy (deterministically, in workflow code), waits for a person when asked
 * to, records the decision as lineage and moves the alias.
 *
 * @example
 * ```ts
 * import { createRetrainingActivities, retrainingWorkflowsPath, startRetraining } from '@mltrace/retraining';
 * import { createMltracePlugin } from '@mltrace/temporal';
 *
 * const activities = { ...createRetrainingActivities({ store, mlflow, workDir, train, evaluate }), ...myPrepareSteps };
 * const worker = await Worker.create({ connection, taskQueue: 'ml', workflowsPath: retrainingWorkflowsPath(), activities, plugins: [createMltracePlugin({ store })] });
 * const handle = await startRetraining({ client, taskQueue: 'ml', input: {
 *   model: 'taxi-tip', data: { repo: '/data/taxi', path: 'data/trips.csv', rev: '2020-02' },
 *   policy: { primaryMetric: { name: 'f1', minImprovement: 0.005 }, guardMetrics: [{ name: 'auc', maxRegression: 0.01 }] },
 *   prepare: [{ activity: 'cleaning' }, { activity: 'featuregen' }, { activity: 'split' }],
 * } });
 * const { decision } = await handle.result();
 * ```
 * @module
 */
export {
  createRetrainingActivities,
  describeDataset,
  type RetrainingActivitiesOptions,
  type StepHelpers,
} from './activities.js';
export { type ArtifactOptions, downloadArtifacts, ensureExperiment, logArtifact } from './artifacts.js';
export {
  approvePromotion,
  retrainingHandle,
  retrainingQueries,
  retrainingWorkflowsPath,
  type ScheduleRetrainingOptions,
  type StartRetrainingOptions,
  scheduleRetraining,
  startRetraining,
} from './client.js';
export { fileDigest, type MaterializeOptions, materializeDvcVersion, readCsvFeatures } from './data.js';
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
export {
  type AliasExplanation,
  type ChainRun,
  type ExplainAliasOptions,
  explainAlias,
  formatExplanation,
  formatPromotions,
  parseAliasUri,
  type TrainingDataVersion,
} from './explain.js';
export {
  type Approval,
  ApprovalError,
  applyApproval,
  applyApprovalTimeout,
  type DecisionEvidence,
  type DriftLimits,
  decidePromotion,
  formatMetric,
  type GuardMetricRule,
  type MetricDirection,
  type Metrics,
  type PolicyCheck,
  PolicyError,
  PROMOTING_OUTCOMES,
  type PrimaryMetricRule,
  type PromotionOutcome,
  type PromotionPolicy,
  parseDuration,
  promotes,
  type ResolvedPolicy,
  type RetrainingDecision,
  resolvePolicy,
  validateApproval,
} from './policy.js';
export { parseRunId, trainingEnvironment } from './training-command.js';
export {
  type ChampionInfo,
  type DatasetRef,
  type DataVersion,
  type DriftInput,
  decisionPointer,
  driftPointer,
  type EvaluateInput,
  type EvaluationResult,
  evaluationPointer,
  type ModelRef,
  modelAliasUri,
  modelVersionUri,
  type PrepareResult,
  type PromoteInput,
  type PromoteResult,
  type RecordDecisionInput,
  type RecordedDecision,
  type RegisterInput,
  type RetrainingActivities,
  type RetrainingInput,
  type RetrainingLineage,
  type RetrainingPhase,
  type RetrainingResult,
  type RetrainingStatus,
  type StepContext,
  type StepOptions,
  type StepRecord,
  type TrainInput,
  type TrainingConfig,
  type TrainResult,
} from './types.js';
export {
  approvePromotionUpdate,
  decisionQuery,
  lineageQuery,
  RETRAINING_WORKFLOW_TYPE,
  statusQuery,
} from './workflow/definitions.js';
export { DECISION_MEMO_PATCH, NON_RETRYABLE_ERROR_TYPES } from './workflow/workflow.js';
