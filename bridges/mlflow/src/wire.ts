/**
 * MLflow's REST JSON (protobuf JSON: snake_case, int64 as numbers, unset fields omitted) and its
 * conversion to the client's entities. Every wire field is optional: MLflow omits empty ones.
 */
import type {
  Dataset,
  DatasetInput,
  Experiment,
  LoggedModel,
  Metric,
  ModelVersion,
  RegisteredModel,
  Run,
  Webhook,
  WebhookTestResult,
} from './types.js';

export interface WireTag {
  key?: string;
  value?: string;
}

export interface WireModelVersion {
  name?: string;
  version?: string | number;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  run_link?: string;
  status?: string;
  status_message?: string;
  tags?: WireTag[];
  aliases?: string[];
  model_id?: string;
}

export interface WireRegisteredModel {
  name?: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  description?: string;
  latest_versions?: WireModelVersion[];
  tags?: WireTag[];
  aliases?: Array<{ alias?: string; version?: string | number }>;
}

export interface WireDataset {
  name?: string;
  digest?: string;
  source_type?: string;
  source?: string;
  schema?: string;
  profile?: string;
}

export interface WireDatasetInput {
  tags?: WireTag[];
  dataset?: WireDataset;
}

export interface WireRun {
  info?: {
    run_id?: string;
    run_uuid?: string;
    run_name?: string;
    experiment_id?: string;
    status?: string;
    start_time?: number;
    end_time?: number;
    artifact_uri?: string;
    lifecycle_stage?: string;
  };
  data?: {
    metrics?: Array<{ key?: string; value?: number | string; timestamp?: number; step?: number }>;
    params?: WireTag[];
    tags?: WireTag[];
  };
  inputs?: { dataset_inputs?: WireDatasetInput[] };
}

export interface WireLoggedModel {
  info?: {
    model_id?: string;
    experiment_id?: string;
    name?: string;
    creation_timestamp_ms?: number | string;
    artifact_uri?: string;
    status?: string;
    creator_id?: number | string;
    model_type?: string;
    source_run_id?: string;
    tags?: WireTag[];
  };
  data?: {
    params?: WireTag[];
    metrics?: Array<{
      key?: string;
      value?: number | string;
      timestamp?: number | string;
      step?: number | string;
      dataset_name?: string;
      dataset_digest?: string;
      run_id?: string;
    }>;
  };
}

export interface WireExperiment {
  experiment_id?: string;
  name?: string;
  artifact_location?: string;
  lifecycle_stage?: string;
  tags?: WireTag[];
}

export interface WireWebhook {
  webhook_id?: string;
  name?: string;
  description?: string;
  url?: string;
  events?: Array<{ entity?: string; action?: string }>;
  status?: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
}

export function tagsOf(tags: WireTag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags ?? []) if (tag.key !== undefined) out[tag.key] = tag.value ?? '';
  return out;
}

/** A record of tags as MLflow's `[{key, value}]`. */
export function wireTags(tags: Record<string, string> | undefined): WireTag[] | undefined {
  if (!tags) return undefined;
  const list = Object.entries(tags).map(([key, value]) => ({ key, value }));
  return list.length ? list : undefined;
}

export function toModelVersion(wire: WireModelVersion): ModelVersion {
  return {
    name: wire.name ?? '',
    version: wire.version === undefined ? '' : String(wire.version),
    creationTimestamp: wire.creation_timestamp ?? 0,
    lastUpdatedTimestamp: wire.last_updated_timestamp ?? wire.creation_timestamp ?? 0,
    currentStage: wire.current_stage ?? 'None',
    description: wire.description ?? '',
    source: wire.source ?? '',
    runId: wire.run_id ?? '',
    runLink: wire.run_link ?? '',
    status: wire.status ?? 'READY',
    statusMessage: wire.status_message ?? '',
    tags: tagsOf(wire.tags),
    aliases: wire.aliases ?? [],
    modelId: wire.model_id ?? '',
  };
}

export function toRegisteredModel(wire: WireRegisteredModel): RegisteredModel {
  const aliases: Record<string, string> = {};
  for (const a of wire.aliases ?? []) if (a.alias !== undefined) aliases[a.alias] = String(a.version ?? '');
  return {
    name: wire.name ?? '',
    creationTimestamp: wire.creation_timestamp ?? 0,
    lastUpdatedTimestamp: wire.last_updated_timestamp ?? wire.creation_timestamp ?? 0,
    description: wire.description ?? '',
    latestVersions: (wire.latest_versions ?? []).map(toModelVersion),
    tags: tagsOf(wire.tags),
    aliases,
  };
}

function toDataset(wire: WireDataset | undefined): Dataset {
  return {
    name: wire?.name ?? '',
    digest: wire?.digest ?? '',
    sourceType: wire?.source_type ?? '',
    source: wire?.source ?? '',
    schema: wire?.schema ?? '',
    profile: wire?.profile ?? '',
  };
}

export function toDatasetInput(wire: WireDatasetInput): DatasetInput {
  return { tags: tagsOf(wire.tags), dataset: toDataset(wire.dataset) };
}

export function wireDatasetInput(input: {
  dataset: Partial<Dataset> & { name: string; digest: string; sourceType: string; source: string };
  tags?: Record<string, string>;
}): WireDatasetInput {
  const d = input.dataset;
  return {
    tags: wireTags(input.tags),
    dataset: {
      name: d.name,
      digest: d.digest,
      source_type: d.sourceType,
      source: d.source,
      schema: d.schema || undefined,
      profile: d.profile || undefined,
    },
  };
}

export function toRun(wire: WireRun): Run {
  const info = wire.info ?? {};
  const metrics: Metric[] = (wire.data?.metrics ?? []).map((m) => ({
    key: m.key ?? '',
    // NaN and infinities travel as strings.
    value: typeof m.value === 'number' ? m.value : Number(m.value),
    timestamp: m.timestamp ?? 0,
    step: m.step ?? 0,
  }));
  return {
    info: {
      runId: info.run_id ?? info.run_uuid ?? '',
      runName: info.run_name ?? '',
      experimentId: info.experiment_id ?? '',
      status: info.status ?? '',
      startTime: info.start_time,
      endTime: info.end_time,
      artifactUri: info.artifact_uri ?? '',
      lifecycleStage: info.lifecycle_stage ?? 'active',
    },
    metrics,
    params: tagsOf(wire.data?.params),
    tags: tagsOf(wire.data?.tags),
    datasetInputs: (wire.inputs?.dataset_inputs ?? []).map(toDatasetInput),
  };
}

export function toLoggedModel(wire: WireLoggedModel): LoggedModel {
  const info = wire.info ?? {};
  return {
    modelId: info.model_id ?? '',
    experimentId: info.experiment_id ?? '',
    name: info.name ?? '',
    creationTimestamp: Number(info.creation_timestamp_ms ?? 0),
    artifactUri: info.artifact_uri ?? '',
    status: info.status ?? '',
    creatorId: info.creator_id === undefined ? '' : String(info.creator_id),
    modelType: info.model_type ?? '',
    sourceRunId: info.source_run_id ?? '',
    tags: tagsOf(info.tags),
    params: tagsOf(wire.data?.params),
    metrics: (wire.data?.metrics ?? []).map((m) => ({
      key: m.key ?? '',
      value: typeof m.value === 'number' ? m.value : Number(m.value),
      timestamp: Number(m.timestamp ?? 0),
      step: Number(m.step ?? 0),
      datasetName: m.dataset_name ?? '',
      datasetDigest: m.dataset_digest ?? '',
      runId: m.run_id ?? '',
    })),
  };
}

export function toExperiment(wire: WireExperiment): Experiment {
  return {
    experimentId: wire.experiment_id ?? '',
    name: wire.name ?? '',
    artifactLocation: wire.artifact_location ?? '',
    lifecycleStage: wire.lifecycle_stage ?? 'active',
    tags: tagsOf(wire.tags),
  };
}

/** `model_version_alias.created` to `{entity: 'MODEL_VERSION_ALIAS', action: 'CREATED'}`. */
export function wireWebhookEvent(event: string): { entity: string; action: string } {
  const dot = event.lastIndexOf('.');
  if (dot <= 0) return { entity: event.toUpperCase(), action: '' };
  return { entity: event.slice(0, dot).toUpperCase(), action: event.slice(dot + 1).toUpperCase() };
}

export function toWebhook(wire: WireWebhook): Webhook {
  return {
    webhookId: wire.webhook_id ?? '',
    name: wire.name ?? '',
    description: wire.description ?? '',
    url: wire.url ?? '',
    events: (wire.events ?? []).map(
      (e) => `${(e.entity ?? '').toLowerCase()}.${(e.action ?? '').toLowerCase()}`,
    ),
    status: wire.status ?? 'ACTIVE',
    creationTimestamp: wire.creation_timestamp ?? 0,
    lastUpdatedTimestamp: wire.last_updated_timestamp ?? wire.creation_timestamp ?? 0,
  };
}

export function toWebhookTestResult(wire: {
  success?: boolean;
  response_status?: number;
  response_body?: string;
  error_message?: string;
}): WebhookTestResult {
  return {
    success: wire.success ?? false,
    responseStatus: wire.response_status,
    responseBody: wire.response_body ?? '',
    errorMessage: wire.error_message ?? '',
  };
}
