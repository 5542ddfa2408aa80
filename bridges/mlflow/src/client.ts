import { ConfigError, InvalidInputError, type Logger, silentLogger } from '@mltrace/core';
import { MlflowError } from './errors.js';
import type {
  Dataset,
  Experiment,
  LoggedModel,
  MlflowWebhookEventName,
  ModelVersion,
  ModelVersionStage,
  Page,
  RegisteredModel,
  Run,
  Webhook,
  WebhookTestResult,
} from './types.js';
import {
  toExperiment,
  toLoggedModel,
  toModelVersion,
  toRegisteredModel,
  toRun,
  toWebhook,
  toWebhookTestResult,
  type WireExperiment,
  type WireLoggedModel,
  type WireModelVersion,
  type WireRegisteredModel,
  type WireRun,
  type WireWebhook,
  wireDatasetInput,
  wireTags,
  wireWebhookEvent,
} from './wire.js';

/** Options of {@link MlflowClient}. */
export interface MlflowClientOptions {
  /**
   * The tracking server's base URL (`http://host:5000`). Credentials in it (`http://user:pass@host`)
   * are used for basic auth and removed from the URL.
   * @default env.MLFLOW_TRACKING_URI
   */
  trackingUri?: string;
  /** Bearer token. @default env.MLFLOW_TRACKING_TOKEN */
  token?: string;
  /** Basic-auth user; with a password it wins over the token, as in MLflow's Python client. @default env.MLFLOW_TRACKING_USERNAME */
  username?: string;
  /** @default env.MLFLOW_TRACKING_PASSWORD */
  password?: string;
  /** Where the `MLFLOW_*` variables are read. @default process.env */
  env?: Record<string, string | undefined>;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Per-attempt timeout, response body included, in milliseconds. @default 30_000 */
  timeoutMs?: number;
  /**
   * Retries after the first attempt, on 429, 5xx, timeouts and dropped connections, for
   * idempotent calls only (reads, alias and tag writes, deletes). A create is retried only when the
   * connection was refused, i.e. nothing reached the server.
   * @default 3
   */
  retries?: number;
  /** First backoff delay; doubles per retry, with jitter, and honours `Retry-After`. @default 250 */
  retryDelayMs?: number;
  /** Longest wait between attempts. @default 10_000 */
  maxRetryDelayMs?: number;
  /** @default silentLogger */
  logger?: Logger;
}

/** Per-call options. */
export interface CallOptions {
  /** Cancels the call (and its retries); the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Search parameters shared by the registry searches. */
export interface SearchParams {
  /** MLflow's SQL-like filter, e.g. `name = 'fraud'` (see {@link mlflowString}). */
  filter?: string;
  maxResults?: number;
  /** e.g. `['name ASC']`, `['version_number ASC']`. */
  orderBy?: string[];
  pageToken?: string;
}

/** Fields of a new model version (fixtures; the sync never creates). */
export interface CreateModelVersionParams {
  name: string;
  source: string;
  runId?: string;
  tags?: Record<string, string>;
  runLink?: string;
  description?: string;
  /** MLflow 3 LoggedModel id. */
  modelId?: string;
}

/** Fields of a new run (fixtures). */
export interface CreateRunParams {
  experimentId: string;
  runName?: string;
  /** Epoch ms. @default now */
  startTime?: number;
  tags?: Record<string, string>;
}

/** A dataset input to log (fixtures). */
export interface LogDatasetInput {
  dataset: Pick<Dataset, 'name' | 'digest' | 'sourceType' | 'source'> & Partial<Dataset>;
  /** e.g. `{ 'mlflow.data.context': 'training' }`. */
  tags?: Record<string, string>;
}

/** Fields of a new webhook (MLflow 3.3+). */
export interface CreateWebhookParams {
  name: string;
  url: string;
  events: MlflowWebhookEventName[];
  description?: string;
  /** HMAC key for `X-MLflow-Signature`; never returned by the server. */
  secret?: string;
  /** @default 'ACTIVE' */
  status?: 'ACTIVE' | 'DISABLED';
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
type Params = Record<string, unknown>;

interface Auth {
  header: string | undefined;
  /** How credentials were given, for the 401 message. */
  kind: 'bearer' | 'basic' | 'none';
  secrets: string[];
}

const NOTHING_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** A string literal for an MLflow search filter: `'name'`, or `"it's"` when it holds a quote. */
export function mlflowString(value: string): string {
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  throw new InvalidInputError(`${value} has both quote kinds and cannot appear in an MLflow search filter`);
}

/** The base URL without credentials, query or trailing slash: the server's identity in run keys. */
export function safeTrackingUri(uri: string): string {
  try {
    const url = new URL(uri);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.toString().replace(/\/+$/, '');
  } catch {
    return uri.replace(/\/\/[^@/]*@/, '//').replace(/\/+$/, '');
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function errorCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let i = 0; i < 5 && current && typeof current === 'object'; i++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function causeMessage(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let i = 0; i < 5 && current instanceof Error; i++) {
    if (current.message && !parts.includes(current.message)) parts.push(current.message);
    current = current.cause;
  }
  return parts.join(': ') || String(error);
}

function retryAfterMs(response: Response): number | undefined {
  const value = response.headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Removes undefined values and empty arrays: MLflow omits empty fields, and so do we. */
function compact(params: Params): Params {
  const out: Params = {};
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    out[key] = value;
  }
  return out;
}

/**
 * A typed client of MLflow's REST API (`/api/2.0/mlflow/...`): the Model Registry (registered
 * models, versions, aliases, stages, tags), runs with their dataset inputs, experiments and
 * webhooks. Read calls are retried with backoff; every call has a timeout; every failure is an
 * {@link MlflowError} whose message says what to do. Tokens and passwords never appear in
 * errors or logs. {@link MlflowClient.requestCount} counts HTTP attempts.
 *
 * @example
 * ```ts
 * const client = new MlflowClient(); // MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN from process.env
 * const model = await client.getRegisteredModel('taxi-tip');
 * const champion = await client.getModelVersionByAlias('taxi-tip', 'champion');
 * ```
 */
export class MlflowClient {
  /** The server's base URL, without credentials. */
  readonly trackingUri: string;
  private readonly auth: Auth;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly logger: Logger;
  private requests = 0;

  constructor(options: MlflowClientOptions = {}) {
    const env = options.env ?? process.env;
    const raw = (options.trackingUri ?? env.MLFLOW_TRACKING_URI ?? '').trim();
    if (!raw) {
      throw new ConfigError('no MLflow tracking server is configured', {
        hint: 'set MLFLOW_TRACKING_URI to the tracking server, e.g. http://127.0.0.1:5000',
      });
    }
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      url = new URL('invalid:');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError(`MLFLOW_TRACKING_URI=${safeTrackingUri(raw)} is not an http(s) URL`, {
        hint: 'the bridge talks to a tracking server over REST: start `mlflow server` and set MLFLOW_TRACKING_URI=http://host:port (file stores and databricks URIs are not supported)',
      });
    }
    const username = options.username ?? env.MLFLOW_TRACKING_USERNAME ?? decodeURIComponent(url.username);
    const password = options.password ?? env.MLFLOW_TRACKING_PASSWORD ?? decodeURIComponent(url.password);
    const token = options.token ?? env.MLFLOW_TRACKING_TOKEN ?? '';
    this.trackingUri = safeTrackingUri(raw);
    if (username && password) {
      const encoded = Buffer.from(`${username}:${password}`).toString('base64');
      this.auth = { header: `Basic ${encoded}`, kind: 'basic', secrets: [password, encoded] };
    } else if (token) {
      this.auth = { header: `Bearer ${token}`, kind: 'bearer', secrets: [token] };
    } else {
      this.auth = { header: undefined, kind: 'none', secrets: [] };
    }
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 250;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 10_000;
    this.logger = options.logger ?? silentLogger;
  }

  /** HTTP attempts made so far (retries included). */
  get requestCount(): number {
    return this.requests;
  }

  // ---- registered models ------------------------------------------------------------------

  /** One page of registered models (prompts excluded by MLflow unless the filter names them). */
  async searchRegisteredModels(
    params: SearchParams = {},
    options?: CallOptions,
  ): Promise<Page<RegisteredModel>> {
    const body = await this.call<{ registered_models?: WireRegisteredModel[]; next_page_token?: string }>(
      'GET',
      'registered-models/search',
      {
        filter: params.filter,
        max_results: params.maxResults,
        order_by: params.orderBy,
        page_token: params.pageToken,
      },
      { idempotent: true, ...options },
    );
    return page((body.registered_models ?? []).map(toRegisteredModel), body.next_page_token);
  }

  /** Every registered model matching, all pages (1,000 per request). */
  async listRegisteredModels(
    params: Omit<SearchParams, 'pageToken'> = {},
    options?: CallOptions,
  ): Promise<RegisteredModel[]> {
    return collect((pageToken) =>
      this.searchRegisteredModels({ maxResults: 1000, orderBy: ['name ASC'], ...params, pageToken }, options),
    );
  }

  /** A registered model by name; a 404 names the model. */
  async getRegisteredModel(name: string, options?: CallOptions): Promise<RegisteredModel> {
    const body = await this.call<{ registered_model?: WireRegisteredModel }>(
      'GET',
      'registered-models/get',
      { name },
      { idempotent: true, ...options },
    );
    return toRegisteredModel(body.registered_model ?? {});
  }

  /** Creates a registered model (400 `RESOURCE_ALREADY_EXISTS` if the name is taken). */
  async createRegisteredModel(
    params: { name: string; description?: string; tags?: Record<string, string> },
    options?: CallOptions,
  ): Promise<RegisteredModel> {
    const body = await this.call<{ registered_model?: WireRegisteredModel }>(
      'POST',
      'registered-models/create',
      { name: params.name, description: params.description, tags: wireTags(params.tags) },
      { idempotent: false, ...options },
    );
    return toRegisteredModel(body.registered_model ?? {});
  }

  /** Deletes a registered model and all its versions. */
  async deleteRegisteredModel(name: string, options?: CallOptions): Promise<void> {
    await this.call('DELETE', 'registered-models/delete', { name }, { idempotent: true, ...options });
  }

  /** Sets a tag on a registered model (does not bump its timestamp). */
  async setRegisteredModelTag(
    name: string,
    key: string,
    value: string,
    options?: CallOptions,
  ): Promise<void> {
    await this.call(
      'POST',
      'registered-models/set-tag',
      { name, key, value },
      { idempotent: true, ...options },
    );
  }

  async deleteRegisteredModelTag(name: string, key: string, options?: CallOptions): Promise<void> {
    await this.call(
      'DELETE',
      'registered-models/delete-tag',
      { name, key },
      { idempotent: true, ...options },
    );
  }

  // ---- aliases ----------------------------------------------------------------------------

  /** Points an alias at a version, moving it if it pointed elsewhere. */
  async setRegisteredModelAlias(
    name: string,
    alias: string,
    version: string,
    options?: CallOptions,
  ): Promise<void> {
    await this.call(
      'POST',
      'registered-models/alias',
      { name, alias, version: String(version) },
      { idempotent: true, ...options },
    );
  }

  /** Removes an alias (no error when it did not exist). */
  async deleteRegisteredModelAlias(name: string, alias: string, options?: CallOptions): Promise<void> {
    await this.call('DELETE', 'registered-models/alias', { name, alias }, { idempotent: true, ...options });
  }

  /** The version an alias points to (unknown alias: 400 `INVALID_PARAMETER_VALUE`). */
  async getModelVersionByAlias(name: string, alias: string, options?: CallOptions): Promise<ModelVersion> {
    const body = await this.call<{ model_version?: WireModelVersion }>(
      'GET',
      'registered-models/alias',
      { name, alias },
      { idempotent: true, ...options },
    );
    return toModelVersion(body.model_version ?? {});
  }

  // ---- model versions ---------------------------------------------------------------------

  /** One page of model versions. Search answers carry no aliases: read them from the registered model. */
  async searchModelVersions(params: SearchParams = {}, options?: CallOptions): Promise<Page<ModelVersion>> {
    const body = await this.call<{ model_versions?: WireModelVersion[]; next_page_token?: string }>(
      'GET',
      'model-versions/search',
      {
        filter: params.filter,
        max_results: params.maxResults,
        order_by: params.orderBy,
        page_token: params.pageToken,
      },
      { idempotent: true, ...options },
    );
    return page((body.model_versions ?? []).map(toModelVersion), body.next_page_token);
  }

  /**
   * Every version matching, all pages (10,000 per request), by default ordered by name and
   * version number (a stable order: LIMIT/OFFSET pages of a mutable order can skip rows).
   */
  async listModelVersions(
    params: Omit<SearchParams, 'pageToken'> = {},
    options?: CallOptions,
  ): Promise<ModelVersion[]> {
    return collect((pageToken) =>
      this.searchModelVersions(
        { maxResults: 10_000, orderBy: ['name ASC', 'version_number ASC'], ...params, pageToken },
        options,
      ),
    );
  }

  /** Every version of one registered model, oldest first. */
  async listVersionsOfModel(name: string, options?: CallOptions): Promise<ModelVersion[]> {
    return this.listModelVersions(
      { filter: `name = ${mlflowString(name)}`, orderBy: ['version_number ASC'] },
      options,
    );
  }

  /** One version, with its aliases. */
  async getModelVersion(name: string, version: string, options?: CallOptions): Promise<ModelVersion> {
    const body = await this.call<{ model_version?: WireModelVersion }>(
      'GET',
      'model-versions/get',
      { name, version: String(version) },
      { idempotent: true, ...options },
    );
    return toModelVersion(body.model_version ?? {});
  }

  /**
   * Creates a model version. Never retried after the request may have reached the server (a blind
   * retry can register a duplicate version); a refused connection is retried.
   */
  async createModelVersion(params: CreateModelVersionParams, options?: CallOptions): Promise<ModelVersion> {
    const body = await this.call<{ model_version?: WireModelVersion }>(
      'POST',
      'model-versions/create',
      {
        name: params.name,
        source: params.source,
        run_id: params.runId,
        tags: wireTags(params.tags),
        run_link: params.runLink,
        description: params.description,
        model_id: params.modelId,
      },
      { idempotent: false, ...options },
    );
    return toModelVersion(body.model_version ?? {});
  }

  /** Moves a version to a stage (the pre-alias promotion flow, deprecated since MLflow 2.9). */
  async transitionModelVersionStage(
    params: { name: string; version: string; stage: ModelVersionStage; archiveExistingVersions?: boolean },
    options?: CallOptions,
  ): Promise<ModelVersion> {
    const body = await this.call<{ model_version?: WireModelVersion }>(
      'POST',
      'model-versions/transition-stage',
      {
        name: params.name,
        version: String(params.version),
        stage: params.stage,
        archive_existing_versions: params.archiveExistingVersions ?? false,
      },
      { idempotent: false, ...options },
    );
    return toModelVersion(body.model_version ?? {});
  }

  async setModelVersionTag(
    name: string,
    version: string,
    key: string,
    value: string,
    options?: CallOptions,
  ): Promise<void> {
    await this.call(
      'POST',
      'model-versions/set-tag',
      { name, version: String(version), key, value },
      { idempotent: true, ...options },
    );
  }

  async deleteModelVersionTag(
    name: string,
    version: string,
    key: string,
    options?: CallOptions,
  ): Promise<void> {
    await this.call(
      'DELETE',
      'model-versions/delete-tag',
      { name, version: String(version), key },
      { idempotent: true, ...options },
    );
  }

  /** Deletes a version (its aliases go with it; its number is never reused). */
  async deleteModelVersion(name: string, version: string, options?: CallOptions): Promise<void> {
    await this.call(
      'DELETE',
      'model-versions/delete',
      { name, version: String(version) },
      { idempotent: true, ...options },
    );
  }

  // ---- runs and experiments ---------------------------------------------------------------

  /** A run with its params, latest metrics, tags and dataset inputs. */
  async getRun(runId: string, options?: CallOptions): Promise<Run> {
    const body = await this.call<{ run?: WireRun }>(
      'GET',
      'runs/get',
      { run_id: runId },
      { idempotent: true, ...options },
    );
    return toRun(body.run ?? {});
  }

  /**
   * An MLflow 3 LoggedModel (`models:/m-<id>`): its params, metrics (with their datasets) and
   * source run. `GET /api/2.0/mlflow/logged-models/<id>`; a 2.x server answers 404.
   */
  async getLoggedModel(modelId: string, options?: CallOptions): Promise<LoggedModel> {
    const body = await this.call<{ model?: WireLoggedModel }>(
      'GET',
      `logged-models/${encodeURIComponent(modelId)}`,
      {},
      { idempotent: true, ...options },
    );
    return toLoggedModel(body.model ?? {});
  }

  /** One page of runs (with their dataset inputs) across experiments. */
  async searchRuns(
    params: {
      experimentIds: string[];
      filter?: string;
      /** @default 'ALL' */
      runViewType?: 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';
      maxResults?: number;
      orderBy?: string[];
      pageToken?: string;
    },
    options?: CallOptions,
  ): Promise<Page<Run>> {
    // A search is a read, even though it is a POST.
    const body = await this.call<{ runs?: WireRun[]; next_page_token?: string }>(
      'POST',
      'runs/search',
      {
        experiment_ids: params.experimentIds,
        filter: params.filter,
        run_view_type: params.runViewType ?? 'ALL',
        max_results: params.maxResults,
        order_by: params.orderBy,
        page_token: params.pageToken,
      },
      { idempotent: true, ...options },
    );
    return page((body.runs ?? []).map(toRun), body.next_page_token);
  }

  /** Creates a run (fixtures). */
  async createRun(params: CreateRunParams, options?: CallOptions): Promise<Run> {
    const body = await this.call<{ run?: WireRun }>(
      'POST',
      'runs/create',
      {
        experiment_id: params.experimentId,
        run_name: params.runName,
        start_time: params.startTime ?? Date.now(),
        tags: wireTags(params.tags),
      },
      { idempotent: false, ...options },
    );
    return toRun(body.run ?? {});
  }

  /** Ends a run (fixtures). */
  async updateRun(
    params: { runId: string; status?: 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED'; endTime?: number },
    options?: CallOptions,
  ): Promise<void> {
    await this.call(
      'POST',
      'runs/update',
      { run_id: params.runId, status: params.status, end_time: params.endTime },
      { idempotent: true, ...options },
    );
  }

  /** Logs params, metrics and tags on a run (fixtures). */
  async logBatch(
    params: {
      runId: string;
      params?: Record<string, string>;
      metrics?: Record<string, number>;
      tags?: Record<string, string>;
    },
    options?: CallOptions,
  ): Promise<void> {
    const timestamp = Date.now();
    await this.call(
      'POST',
      'runs/log-batch',
      {
        run_id: params.runId,
        params: wireTags(params.params),
        metrics: Object.entries(params.metrics ?? {}).map(([key, value]) => ({
          key,
          value,
          timestamp,
          step: 0,
        })),
        tags: wireTags(params.tags),
      },
      { idempotent: false, ...options },
    );
  }

  /** Logs dataset inputs on a run (fixtures). */
  async logInputs(runId: string, datasets: LogDatasetInput[], options?: CallOptions): Promise<void> {
    await this.call(
      'POST',
      'runs/log-inputs',
      { run_id: runId, datasets: datasets.map(wireDatasetInput) },
      { idempotent: false, ...options },
    );
  }

  /** Creates an experiment and returns its id (fixtures). */
  async createExperiment(name: string, options?: CallOptions): Promise<string> {
    const body = await this.call<{ experiment_id?: string }>(
      'POST',
      'experiments/create',
      { name },
      { idempotent: false, ...options },
    );
    return body.experiment_id ?? '';
  }

  /** One page of experiments, deleted ones included by default. */
  async searchExperiments(
    params: {
      filter?: string;
      maxResults?: number;
      pageToken?: string;
      viewType?: 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';
    } = {},
    options?: CallOptions,
  ): Promise<Page<Experiment>> {
    const body = await this.call<{ experiments?: WireExperiment[]; next_page_token?: string }>(
      'GET',
      'experiments/search',
      {
        filter: params.filter,
        max_results: params.maxResults ?? 1000,
        page_token: params.pageToken,
        view_type: params.viewType ?? 'ALL',
      },
      { idempotent: true, ...options },
    );
    return page((body.experiments ?? []).map(toExperiment), body.next_page_token);
  }

  /** Every experiment, all pages. */
  async listExperiments(options?: CallOptions): Promise<Experiment[]> {
    return collect((pageToken) => this.searchExperiments({ pageToken }, options));
  }

  // ---- webhooks (MLflow 3.3+) -------------------------------------------------------------

  /** Subscribes a URL to registry events. */
  async createWebhook(params: CreateWebhookParams, options?: CallOptions): Promise<Webhook> {
    const body = await this.call<{ webhook?: WireWebhook }>(
      'POST',
      'webhooks',
      {
        name: params.name,
        url: params.url,
        events: params.events.map(wireWebhookEvent),
        description: params.description,
        secret: params.secret,
        status: params.status,
      },
      { idempotent: false, ...options },
    );
    return toWebhook(body.webhook ?? {});
  }

  /** Every webhook, all pages. */
  async listWebhooks(options?: CallOptions): Promise<Webhook[]> {
    return collect(async (pageToken) => {
      const body = await this.call<{ webhooks?: WireWebhook[]; next_page_token?: string }>(
        'GET',
        'webhooks',
        { max_results: 1000, page_token: pageToken },
        { idempotent: true, ...options },
      );
      return page((body.webhooks ?? []).map(toWebhook), body.next_page_token);
    });
  }

  async deleteWebhook(webhookId: string, options?: CallOptions): Promise<void> {
    await this.call(
      'DELETE',
      `webhooks/${encodeURIComponent(webhookId)}`,
      {},
      { idempotent: true, ...options },
    );
  }

  /** Makes the server send an example payload of `event` (default: the webhook's first event). */
  async testWebhook(
    webhookId: string,
    event?: MlflowWebhookEventName,
    options?: CallOptions,
  ): Promise<WebhookTestResult> {
    const body = await this.call<{
      result?: {
        success?: boolean;
        response_status?: number;
        response_body?: string;
        error_message?: string;
      };
    }>(
      'POST',
      `webhooks/${encodeURIComponent(webhookId)}/test`,
      { event: event === undefined ? undefined : wireWebhookEvent(event) },
      { idempotent: false, ...options },
    );
    return toWebhookTestResult(body.result ?? {});
  }

  // ---- transport --------------------------------------------------------------------------

  /** The server's MLflow version (`GET /version`). */
  async serverVersion(options?: CallOptions): Promise<string> {
    return (
      await this.call<string>('GET', '/version', {}, { idempotent: true, text: true, ...options })
    ).trim();
  }

  private redact(text: string): string {
    let out = text;
    for (const secret of this.auth.secrets) if (secret.length >= 3) out = out.split(secret).join('***');
    return out;
  }

  private async call<T>(
    method: Method,
    path: string,
    params: Params,
    options: { idempotent: boolean; text?: boolean; signal?: AbortSignal },
  ): Promise<T> {
    const endpoint = `${method} ${path.replace(/^\//, '')}`;
    let url = path.startsWith('/')
      ? `${this.trackingUri}${path}`
      : `${this.trackingUri}/api/2.0/mlflow/${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.auth.header) headers.authorization = this.auth.header;
    let body: string | undefined;
    const fields = compact(params);
    if (method === 'GET') {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(fields)) {
        for (const item of Array.isArray(value) ? value : [value]) query.append(key, String(item));
      }
      const qs = query.toString();
      if (qs) url += `?${qs}`;
    } else {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(fields);
    }

    const signal = options.signal;
    let attempt = 0;
    for (;;) {
      attempt++;
      if (signal?.aborted) throw signal.reason;
      this.requests++;
      const started = performance.now();
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const attemptSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let response: Response | undefined;
      let text = '';
      let failure: unknown;
      try {
        response = await this.fetchImpl(url, { method, headers, body, signal: attemptSignal });
        text = await response.text();
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        failure = error;
      }
      const ms = Math.round(performance.now() - started);

      if (failure !== undefined || !response) {
        const timedOut = timeout.aborted;
        const code = errorCodeOf(failure);
        const safeToRetry = options.idempotent || (!timedOut && code !== undefined && NOTHING_SENT.has(code));
        this.logger.debug('mlflow request failed', {
          endpoint,
          attempt,
          ms,
          error: this.redact(causeMessage(failure)),
        });
        if (safeToRetry && attempt <= this.retries) {
          await sleep(this.backoff(attempt), signal);
          continue;
        }
        throw this.transportError(endpoint, failure, timedOut, attempt, options.idempotent);
      }

      this.logger.debug('mlflow request', { endpoint, status: response.status, attempt, ms });
      if (response.ok) {
        if (options.text) return text as T;
        if (text.trim() === '') return {} as T;
        try {
          return JSON.parse(text) as T;
        } catch (cause) {
          throw new MlflowError(
            `MLflow at ${this.trackingUri} answered ${endpoint} with something that is not JSON; check that MLFLOW_TRACKING_URI is the tracking server's base URL`,
            {
              status: response.status,
              errorCode: 'BAD_RESPONSE',
              endpoint,
              trackingUri: this.trackingUri,
              failure: 'http',
              attempts: attempt,
              serverMessage: this.redact(text.slice(0, 200)),
              cause,
              advice:
                "check that MLFLOW_TRACKING_URI is the tracking server's base URL (not a UI or proxy page)",
            },
          );
        }
      }
      const retryable = response.status === 429 || response.status >= 500;
      if (retryable && options.idempotent && attempt <= this.retries) {
        const wait = retryAfterMs(response);
        await sleep(Math.min(this.maxRetryDelayMs, wait ?? this.backoff(attempt)), signal);
        continue;
      }
      throw this.httpError(endpoint, response, text, fields, attempt);
    }
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.maxRetryDelayMs, this.retryDelayMs * 2 ** (attempt - 1));
    return Math.round(base / 2 + (Math.random() * base) / 2);
  }

  private transportError(
    endpoint: string,
    cause: unknown,
    timedOut: boolean,
    attempts: number,
    idempotent: boolean,
  ): MlflowError {
    const tries = attempts > 1 ? ` (${attempts} attempts)` : '';
    const notRetried = idempotent
      ? ''
      : ' (not retried: the server may have applied it; check before repeating)';
    if (timedOut) {
      const hint = `check MLFLOW_TRACKING_URI (${this.trackingUri}) and the server's load; the timeout is ${this.timeoutMs} ms (option timeoutMs)`;
      return new MlflowError(
        `MLflow at ${this.trackingUri} did not answer ${endpoint} within ${this.timeoutMs} ms${tries}${notRetried}; ${hint}`,
        {
          status: 0,
          errorCode: 'TIMEOUT',
          endpoint,
          trackingUri: this.trackingUri,
          failure: 'timeout',
          attempts,
          serverMessage: '',
          cause,
          advice: hint,
        },
      );
    }
    const detail = this.redact(causeMessage(cause));
    const hint = `check MLFLOW_TRACKING_URI (${this.trackingUri}) and that the MLflow server is running and reachable`;
    return new MlflowError(
      `could not reach MLflow at ${this.trackingUri} for ${endpoint}${tries}: ${detail}${notRetried}; ${hint}`,
      {
        status: 0,
        errorCode: 'UNREACHABLE',
        endpoint,
        trackingUri: this.trackingUri,
        failure: 'unreachable',
        attempts,
        serverMessage: '',
        cause,
        advice: hint,
      },
    );
  }

  private httpError(
    endpoint: string,
    response: Response,
    text: string,
    fields: Params,
    attempts: number,
  ): MlflowError {
    const status = response.status;
    let errorCode = `HTTP_${status}`;
    let serverMessage = '';
    try {
      const parsed = JSON.parse(text) as { error_code?: unknown; message?: unknown };
      if (typeof parsed.error_code === 'string') errorCode = parsed.error_code;
      if (typeof parsed.message === 'string') serverMessage = parsed.message;
    } catch {
      // Plain text (the basic-auth app, a proxy) or HTML: keep its start.
      serverMessage = /<html/i.test(text) ? '' : (text.trim().split('\n')[0]?.slice(0, 300) ?? '');
    }
    serverMessage = this.redact(serverMessage);
    const name = typeof fields.name === 'string' ? fields.name : undefined;
    const version = typeof fields.version === 'string' ? fields.version : undefined;
    let hint: string;
    if (status === 401) {
      hint =
        this.auth.kind === 'bearer'
          ? 'check MLFLOW_TRACKING_TOKEN: the server refused the bearer token'
          : this.auth.kind === 'basic'
            ? 'check MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD: the server refused them'
            : 'the server requires credentials: set MLFLOW_TRACKING_TOKEN (bearer) or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (basic)';
    } else if (status === 403) {
      hint = /host/i.test(serverMessage)
        ? "the server's security middleware refused the Host header: start it with --allowed-hosts including this host"
        : `the credentials are valid but lack permission for ${endpoint}; ask an MLflow admin for READ (sync) or EDIT permission on the model or experiment`;
    } else if (
      status === 404 &&
      /DOES_NOT_EXIST|NOT_FOUND/.test(errorCode) &&
      errorCode !== 'ENDPOINT_NOT_FOUND'
    ) {
      if (name !== undefined && version !== undefined) {
        hint = `check the model name "${name}" and version ${version} (names are case-sensitive; deleted versions are gone)`;
      } else if (name !== undefined) {
        hint = `check the model name "${name}" (names are case-sensitive; list them with registered-models/search)`;
      } else if (endpoint.includes('logged-models/')) {
        hint = `check the LoggedModel id in ${endpoint.split('logged-models/')[1]} (a deleted logged model is gone; its versions stay registered)`;
      } else if (typeof fields.run_id === 'string') {
        hint = `check the run id ${fields.run_id} (a run on another tracking server is not visible here)`;
      } else {
        hint = 'check the name or id asked for';
      }
    } else if (status === 404) {
      hint = `the server has no ${endpoint} endpoint: check that MLFLOW_TRACKING_URI (${this.trackingUri}) is the tracking server's base URL, and its MLflow version (webhooks need 3.3+, LoggedModels 3.0+)`;
    } else if (status === 429) {
      hint = 'the server is rate limiting: sync less often, or retry later';
    } else if (status >= 500) {
      hint = "MLflow failed on its side: check the tracking server's log, then retry";
    } else {
      hint = 'MLflow rejected the request parameters';
    }
    const what = serverMessage ? `: ${serverMessage}` : '';
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    return new MlflowError(
      `MLflow at ${this.trackingUri} answered ${endpoint} with ${status} ${errorCode}${tries}${what}; ${hint}`,
      {
        status,
        errorCode,
        endpoint,
        trackingUri: this.trackingUri,
        failure: 'http',
        attempts,
        serverMessage,
        advice: hint,
      },
    );
  }
}

function page<T>(items: T[], nextPageToken: string | undefined): Page<T> {
  return nextPageToken ? { items, nextPageToken } : { items };
}

async function collect<T>(fetchPage: (pageToken: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  const seen = new Set<string>();
  do {
    const result = await fetchPage(token);
    out.push(...result.items);
    token = result.nextPageToken;
    if (token !== undefined) {
      // A server that repeats a token would loop forever.
      if (seen.has(token)) break;
      seen.add(token);
    }
  } while (token);
  return out;
}
