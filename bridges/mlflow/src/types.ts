/**
 * MLflow entities as the client returns them: camelCase, every array and record present (MLflow
 * omits empty fields on the wire), tags as records, `version` always a string, timestamps in
 * epoch milliseconds.
 */

/** A model version's deprecated stage (MLflow < 2.9 promotion flow). */
export type ModelVersionStage = 'None' | 'Staging' | 'Production' | 'Archived';

/** A model version's registration status; the OSS SQL store creates versions `READY`. */
export type ModelVersionStatus = 'PENDING_REGISTRATION' | 'FAILED_REGISTRATION' | 'READY';

/** A registered model of the Model Registry. */
export interface RegisteredModel {
  name: string;
  creationTimestamp: number;
  /** Bumped by new versions, stage transitions, description edits, deletes, renames; NOT by tags or aliases. */
  lastUpdatedTimestamp: number;
  description: string;
  /** The newest version per stage. */
  latestVersions: ModelVersion[];
  tags: Record<string, string>;
  /** Alias name to version number. */
  aliases: Record<string, string>;
}

/** One version of a registered model. */
export interface ModelVersion {
  name: string;
  /** The version number, as a string (`"3"`). */
  version: string;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  /** `None`, `Staging`, `Production` or `Archived`. */
  currentStage: string;
  description: string;
  /**
   * Where the model files are: an artifact URI (`mlflow-artifacts:/...`, `s3://...`), a LoggedModel
   * (`models:/m-<id>`, MLflow 3), or another registered version (`models:/<name>/<version>`, a copy).
   */
  source: string;
  /** The run that produced the model; empty when unknown. */
  runId: string;
  /** Set only for runs on another tracking server. */
  runLink: string;
  status: string;
  statusMessage: string;
  tags: Record<string, string>;
  /** Aliases pointing here. Only get/update/transition answers fill it; search answers leave it empty. */
  aliases: string[];
  /** The LoggedModel id, when the server returns it (not the OSS server as of 3.17). */
  modelId: string;
}

/** A metric's latest value in a run. */
export interface Metric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

/** A dataset as MLflow records it (`mlflow.data`). */
export interface Dataset {
  name: string;
  /** MLflow's content digest (a short hash for pandas datasets; whatever `digest=` said otherwise). */
  digest: string;
  /** `local`, `http`, `s3`, `hugging_face`, `delta_table`, `code`, ... */
  sourceType: string;
  /** A JSON string whose keys depend on the source type (`{"uri": ...}`, `{"url": ...}`, `{"path": ...}`). */
  source: string;
  schema: string;
  profile: string;
}

/** A dataset a run used, with its role in the input tags (`mlflow.data.context`: training, evaluation). */
export interface DatasetInput {
  tags: Record<string, string>;
  dataset: Dataset;
}

/** The metadata of a run. */
export interface RunInfo {
  runId: string;
  runName: string;
  experimentId: string;
  /** `RUNNING`, `SCHEDULED`, `FINISHED`, `FAILED`, `KILLED`. */
  status: string;
  startTime: number | undefined;
  endTime: number | undefined;
  artifactUri: string;
  /** `active` or `deleted`. */
  lifecycleStage: string;
}

/** A tracking run with its parameters, latest metrics, tags and dataset inputs. */
export interface Run {
  info: RunInfo;
  metrics: Metric[];
  params: Record<string, string>;
  tags: Record<string, string>;
  datasetInputs: DatasetInput[];
}

/** A metric logged against a LoggedModel, with the dataset it was computed on, when given. */
export interface LoggedModelMetric extends Metric {
  datasetName: string;
  datasetDigest: string;
  runId: string;
}

/** An MLflow 3 LoggedModel (`models:/m-<id>`): the model a run logged, with its own params and metrics. */
export interface LoggedModel {
  modelId: string;
  experimentId: string;
  name: string;
  /** Epoch ms. */
  creationTimestamp: number;
  artifactUri: string;
  /** `LOGGED_MODEL_READY`, `LOGGED_MODEL_PENDING`, `LOGGED_MODEL_UPLOAD_FAILED`. */
  status: string;
  creatorId: string;
  modelType: string;
  /** The run that logged it ('' when logged outside a run). */
  sourceRunId: string;
  tags: Record<string, string>;
  params: Record<string, string>;
  metrics: LoggedModelMetric[];
}

/** An experiment. */
export interface Experiment {
  experimentId: string;
  name: string;
  artifactLocation: string;
  lifecycleStage: string;
  tags: Record<string, string>;
}

/** A registry event a webhook can subscribe to, e.g. `model_version_alias.created`. */
export type MlflowWebhookEventName =
  | 'registered_model.created'
  | 'model_version.created'
  | 'model_version_tag.set'
  | 'model_version_tag.deleted'
  | 'model_version_alias.created'
  | 'model_version_alias.deleted'
  | (string & {});

/** A webhook registered on the server (MLflow 3.3+). The secret is never returned. */
export interface Webhook {
  webhookId: string;
  name: string;
  description: string;
  url: string;
  events: MlflowWebhookEventName[];
  /** `ACTIVE` or `DISABLED`. */
  status: string;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
}

/** The answer of a webhook test delivery. */
export interface WebhookTestResult {
  success: boolean;
  responseStatus: number | undefined;
  responseBody: string;
  errorMessage: string;
}

/** One page of a search. */
export interface Page<T> {
  items: T[];
  /** Present when another page exists. */
  nextPageToken?: string;
}
