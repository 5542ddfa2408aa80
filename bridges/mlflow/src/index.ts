/**
 * `@mltrace/mlflow`: the MLflow bridge. A typed client of MLflow's REST API (the Model Registry,
 * runs and their dataset inputs, webhooks), an incremental sync of the registry into the lineage
 * store (every model version a `register` run, every alias move or stage transition a `promote`
 * run, linked to the source run's data), a watch loop, and a webhook receiver that triggers a sync.
 *
 * @example
 * ```ts
 * import { MlflowClient, formatSummary, syncMlflow } from '@mltrace/mlflow';
 * import { openStore } from '@mltrace/store';
 *
 * const store = await openStore({ url: process.env.MLTRACE_DATABASE_URL });
 * const client = new MlflowClient(); // MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN, ...
 * const summary = await syncMlflow({ store, client });
 * console.log(formatSummary(summary));
 * const graph = await store.trace({ uri: 'models:/taxi-tip@champion' });
 * ```
 * @module
 */
export {
  type CallOptions,
  type CreateModelVersionParams,
  type CreateRunParams,
  type CreateWebhookParams,
  type LogDatasetInput,
  MlflowClient,
  type MlflowClientOptions,
  mlflowString,
  type SearchParams,
  safeTrackingUri,
} from './client.js';
export { isMlflowError, MlflowError, type MlflowErrorDetails, type MlflowFailure } from './errors.js';
export {
  aliasUri,
  type DatasetPointer,
  datasetLocation,
  datasetPointer,
  isDvcMd5,
  parseModelVersionUri,
  stageUri,
  stripCredentials,
  versionUri,
} from './pointers.js';
export {
  formatSummary,
  type MlflowSyncProgress,
  type MlflowSyncSummary,
  mlflowSyncStateKey,
  mlflowTrainingRunKey,
  type SyncMlflowOptions,
  syncMlflow,
  type WatchMlflowOptions,
  watchMlflow,
} from './sync.js';
export type {
  Dataset,
  DatasetInput,
  Experiment,
  LoggedModel,
  LoggedModelMetric,
  Metric,
  MlflowWebhookEventName,
  ModelVersion,
  ModelVersionStage,
  ModelVersionStatus,
  Page,
  RegisteredModel,
  Run,
  RunInfo,
  Webhook,
  WebhookTestResult,
} from './types.js';
export {
  createMlflowSyncTrigger,
  createMlflowWebhookHandler,
  MLFLOW_WEBHOOK_HEADERS,
  type MlflowSyncTrigger,
  type MlflowSyncTriggerOptions,
  type MlflowWebhookEvent,
  type MlflowWebhookHandler,
  type MlflowWebhookHandlerOptions,
  parseMlflowWebhookEvent,
  type VerifyMlflowSignatureOptions,
  verifyMlflowSignature,
} from './webhooks.js';
