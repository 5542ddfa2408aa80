import { createHash } from 'node:crypto';
import {
  type ComponentRunInput,
  type Logger,
  mlflowRunKey,
  normalizeUri,
  type PointerInput,
  silentLogger,
} from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';
import { MlflowClient } from './client.js';
import { isMlflowError } from './errors.js';
import {
  aliasUri,
  datasetPointer,
  loggedModelIdOf,
  parseModelVersionUri,
  stageUri,
  stripCredentials,
  versionUri,
} from './pointers.js';
import type { LoggedModel, ModelVersion, RegisteredModel, Run } from './types.js';

/** Options of {@link syncMlflow}. */
export interface SyncMlflowOptions {
  /** Where lineage and the sync cursor are written. */
  store: LineageStore;
  /** @default new MlflowClient({ env }) (MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN, ...) */
  client?: MlflowClient;
  /** Read by the default client. @default process.env */
  env?: Record<string, string | undefined>;
  /**
   * Sync this registered model only (and the models its versions were copied from, when those
   * were never synced). Always re-reads the model's versions, so version-tag changes are seen.
   */
  model?: string;
  /**
   * Sync only the registered models this MLflow search filter selects, e.g. `name LIKE 'fraud-%'`
   * or `tags.team = 'risk'` (ignored with `model`). Models outside it keep their cursor.
   */
  filter?: string;
  /** Called as the sync advances (for a progress bar). */
  onProgress?: (event: MlflowSyncProgress) => void;
  /** @default silentLogger */
  logger?: Logger;
  /** Cancels the sync between requests; the cursor keeps what was written so far. */
  signal?: AbortSignal;
  /** Directory relative dataset paths are resolved against (where training ran, e.g. the DVC repo root). @default process.cwd() */
  cwd?: string;
  /**
   * About how many new versions are fetched and written together, with the cursor (a model is
   * never split). An interrupted sync keeps the groups it wrote. @default 500
   */
  batchSize?: number;
  /** The clock (epoch ms). @default Date.now */
  now?: () => number;
}

/** Progress of a sync. */
export type MlflowSyncProgress =
  /** The registered models were listed; `changed` of them need work. */
  | { phase: 'listed'; models: number; changed: number }
  /** One changed model was processed (`done` of `total`). */
  | { phase: 'model'; model: string; done: number; total: number; versions: number; promotions: number }
  /** A group of models was written to the store, with the cursor. */
  | { phase: 'written'; runs: number }
  /** The sync finished. */
  | { phase: 'done'; summary: MlflowSyncSummary };

/** What a sync did. */
export interface MlflowSyncSummary {
  /** The tracking server, without credentials. */
  server: string;
  /** Registered models looked at. */
  models: number;
  /** Models whose versions, aliases or tags had changed. */
  modelsChanged: number;
  /** New model versions written (`register` runs created). */
  versions: number;
  /** MLflow runs that trained a new version, written as training runs. */
  trainingRuns: number;
  /** Alias moves and removals and stage transitions written (`promote` runs created). */
  promotions: number;
  /** Existing runs updated (version or registered-model tags changed, or a re-sync after an interrupted one). */
  updated: number;
  /** HTTP requests made to MLflow (retries included). */
  requests: number;
  durationMs: number;
}

/** The stored cursor: what was last seen of each registered model. */
interface Cursor {
  format: 1;
  models: Record<string, ModelState>;
}

interface ModelState {
  /** The model's `last_updated_timestamp` (bumped by new versions and stage transitions). */
  updated: number;
  /** When (our clock) the listing that saw this state started: the earliest a later change can have happened. */
  seen: number;
  tags: Record<string, string>;
  aliases: Record<string, { version: string; at: number }>;
  versions: Record<string, VersionState>;
}

interface VersionState {
  created: number;
  stage: string;
  /** A hash of the version's tags (tag changes bump no timestamp). */
  tags: string;
}

interface Planned {
  name: string;
  model: RegisteredModel;
  /** Undefined when the versions did not need reading (only aliases changed). */
  versions: ModelVersion[] | undefined;
  prev: ModelState | undefined;
}

interface Built {
  /** Something differs from the cursor (runs to write, or tags, timestamps, versions). */
  changed: boolean;
  runs: ComponentRunInput[];
  kinds: Array<'train' | 'register' | 'promote' | 'update'>;
  state: ModelState;
}

const CURSOR_FORMAT = 1;
/** The MLflow run tag naming the store run key of the activity that trained (see the README). */
const LINK_TAG = 'mltrace.run_key';
const RUN_SEARCH_THRESHOLD = 5;
const RUN_SEARCH_CHUNK = 100;

/** The `sync_state` key of a tracking server: one cursor per server URL. */
export function mlflowSyncStateKey(server: string): string {
  return `mlflow:${server}`;
}

const locks = new WeakMap<LineageStore, Map<string, Promise<unknown>>>();

/** Runs syncs of one store and server one after another (the cursor is read, then written). */
function serialize<T>(store: LineageStore, key: string, fn: () => Promise<T>): Promise<T> {
  let byKey = locks.get(store);
  if (!byKey) {
    byKey = new Map();
    locks.set(store, byKey);
  }
  const previous = byKey.get(key) ?? Promise.resolve();
  const next = previous.then(fn, fn);
  const settled = next.then(
    () => undefined,
    () => undefined,
  );
  byKey.set(key, settled);
  void settled.then(() => {
    if (byKey.get(key) === settled) byKey.delete(key);
  });
  return next;
}

function hashTags(tags: Record<string, string>): string {
  const sorted = Object.keys(tags)
    .sort()
    .map((k) => [k, tags[k]]);
  return createHash('sha1').update(JSON.stringify(sorted)).digest('base64url').slice(0, 12);
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

function sameAliases(prev: ModelState['aliases'], now: Record<string, string>): boolean {
  const ka = Object.keys(prev);
  return ka.length === Object.keys(now).length && ka.every((k) => now[k] === prev[k]?.version);
}

function asCursor(value: unknown): Cursor {
  if (value && typeof value === 'object' && (value as Cursor).format === CURSOR_FORMAT)
    return value as Cursor;
  return { format: CURSOR_FORMAT, models: {} };
}

function validPointer(pointer: PointerInput, cwd: string, logger: Logger, where: string): boolean {
  try {
    normalizeUri(pointer.uri, { cwd });
    return true;
  } catch (error) {
    logger.warn('mlflow sync: skipping a pointer that is not a valid URI', {
      where,
      uri: pointer.uri.slice(0, 200),
      error: (error as Error).message,
    });
    return false;
  }
}

/**
 * Mirrors the MLflow Model Registry into the lineage store, incrementally:
 * - each new model version becomes a `register` run: inputs the model's source (its artifact, its
 *   LoggedModel, or for a copy the source version `models:/SRC/V`) and the source run's dataset
 *   inputs (normalised URI, MLflow digest as version); output `models:/NAME/VERSION`;
 * - each alias set, move or removal, and each stage transition, becomes a `promote` run: inputs
 *   `models:/NAME/VERSION` and the previous holder (`models:/NAME@ALIAS` at its version, so the
 *   promotions chain); output `models:/NAME@ALIAS` (or `models:/NAME/STAGE`) at the version.
 *
 * The cursor (`sync_state` `mlflow:<server>`) keeps each model's timestamp, aliases, tags and
 * versions: a model whose timestamp, aliases and tags are unchanged costs no request beyond the
 * listing. Run keys are deterministic given the cursor, so an interrupted sync re-run writes no
 * duplicate. Syncs of one store and server run one at a time.
 *
 * @throws {MlflowError} when MLflow fails (401: check MLFLOW_TRACKING_TOKEN; 404: the model name);
 *   what was written before stays, with its cursor.
 */
export async function syncMlflow(options: SyncMlflowOptions): Promise<MlflowSyncSummary> {
  const client = options.client ?? new MlflowClient(options.env === undefined ? {} : { env: options.env });
  const key = mlflowSyncStateKey(client.trackingUri);
  return serialize(options.store, key, () => runSync(options, client, key));
}

async function runSync(
  options: SyncMlflowOptions,
  client: MlflowClient,
  key: string,
): Promise<MlflowSyncSummary> {
  const { store, signal } = options;
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const cwd = options.cwd ?? process.cwd();
  const batchSize = options.batchSize ?? 500;
  const server = client.trackingUri;
  const started = performance.now();
  const requestsBefore = client.requestCount;
  const call = { signal };
  const emit = (event: MlflowSyncProgress) => options.onProgress?.(event);

  const cursor = asCursor(await store.getSyncState(key));
  const observedAt = now();

  // 1. The registered models: all (one request per 1,000), or the one asked for.
  let models: RegisteredModel[];
  if (options.model !== undefined) {
    models = [await client.getRegisteredModel(options.model, call)];
  } else {
    models = await client.listRegisteredModels(options.filter ? { filter: options.filter } : {}, call);
  }
  const listed = new Map(models.map((m) => [m.name, m]));

  // 2. Which changed. Timestamps miss alias and tag changes, so those are diffed too.
  const planned = new Map<string, Planned>();
  const needsVersions = (m: RegisteredModel, prev: ModelState | undefined, scoped: boolean) =>
    scoped || !prev || prev.updated !== m.lastUpdatedTimestamp || !sameRecord(prev.tags, m.tags);
  for (const m of models) {
    const prev = cursor.models[m.name];
    const scoped = options.model !== undefined;
    if (needsVersions(m, prev, scoped)) {
      planned.set(m.name, { name: m.name, model: m, versions: [], prev });
    } else if (prev && !sameAliases(prev.aliases, m.aliases)) {
      planned.set(m.name, { name: m.name, model: m, versions: undefined, prev });
    }
  }
  for (const p of planned.values()) {
    if (p.versions !== undefined) p.versions = await client.listVersionsOfModel(p.name, call);
  }

  // A copy's source version must be in the store before the copy, or the edge is lost (edges are
  // frozen): sync source models first, and in a one-model or filtered sync, fetch sources never synced.
  if (options.model !== undefined || options.filter) {
    const queue = [...planned.values()];
    while (queue.length > 0) {
      const p = queue.shift()!;
      for (const v of p.versions ?? []) {
        const src = parseModelVersionUri(v.source);
        if (!src || planned.has(src.name) || cursor.models[src.name]?.versions[src.version]) continue;
        let m: RegisteredModel;
        try {
          m = await client.getRegisteredModel(src.name, call);
        } catch (error) {
          if (isMlflowError(error, 404)) continue;
          throw error;
        }
        listed.set(m.name, m);
        const next: Planned = {
          name: m.name,
          model: m,
          versions: await client.listVersionsOfModel(m.name, call),
          prev: cursor.models[m.name],
        };
        planned.set(m.name, next);
        queue.push(next);
      }
    }
  }
  const order = copyOrder([...planned.values()]);
  emit({ phase: 'listed', models: listed.size, changed: order.length });

  // 3. Per group of models (about `batchSize` new versions): the source runs of their new
  // versions, then their runs and cursor state in one write. An interruption keeps the groups done.
  const summary: MlflowSyncSummary = {
    server,
    models: listed.size,
    modelsChanged: 0,
    versions: 0,
    trainingRuns: 0,
    promotions: 0,
    updated: 0,
    requests: 0,
    durationMs: 0,
  };
  const runs = new Map<string, Run | undefined>();
  const experiments = new Map<string, string>();
  const written = new Set<string>();
  const linked = new Map<string, string>();
  const loggedModels = new Map<string, LoggedModel | undefined>();
  const newRunIds = (p: Planned) =>
    (p.versions ?? []).filter((v) => v.runId && !p.prev?.versions[v.version]).map((v) => v.runId);
  const groups: Planned[][] = [];
  let group: Planned[] = [];
  let groupSize = 0;
  for (const p of order) {
    const size = Math.max(1, newRunIds(p).length);
    if (group.length > 0 && groupSize + size > batchSize) {
      groups.push(group);
      group = [];
      groupSize = 0;
    }
    group.push(p);
    groupSize += size;
  }
  if (group.length > 0) groups.push(group);

  let done = 0;
  for (const members of groups) {
    signal?.throwIfAborted();
    // MLflow 3: a version whose source is a LoggedModel carries that model's own params, metrics
    // and source run; the run that logged it is the training run even when the version names none.
    for (const p of members) {
      for (const [i, v] of (p.versions ?? []).entries()) {
        const id = loggedModelIdOf(v.source);
        if (!id || p.prev?.versions[v.version]) continue;
        if (!loggedModels.has(id)) loggedModels.set(id, await fetchLoggedModel(client, id, call, logger));
        const logged = loggedModels.get(id);
        if (!v.runId && logged?.sourceRunId) p.versions![i] = { ...v, runId: logged.sourceRunId };
      }
    }
    const missing = [...new Set(members.flatMap(newRunIds))].filter((id) => !runs.has(id));
    if (missing.length > 0 && experiments.size === 0) {
      // Training runs are named by their experiment: one listing per sync, only when runs are new.
      for (const e of await client.listExperiments(call)) experiments.set(e.experimentId, e.name);
    }
    for (const [id, run] of await fetchRuns(client, missing, call, logger, [...experiments.keys()])) {
      runs.set(id, run);
      // Training that ran as a Temporal activity and tagged its run key: link to it, not a copy.
      const linkKey = run?.tags[LINK_TAG];
      if (linkKey && !linked.has(id)) {
        const found = await store.run(linkKey).then(
          () => true,
          () => false,
        );
        if (found) linked.set(id, linkKey);
        else logger.warn('mlflow sync: the run key an MLflow run names is not in the store', { runId: id });
      }
    }
    const built = members.map((p) => ({
      name: p.name,
      built: buildModel(p, {
        server,
        observedAt,
        now: now(),
        runs,
        experiments,
        written,
        linked,
        loggedModels,
        cwd,
        logger,
      }),
    }));
    const all = built.flatMap((b) => b.built.runs);
    const kinds = built.flatMap((b) => b.built.kinds);
    if (all.length > 0) {
      const result = await store.logRuns(all);
      result.runs.forEach((r, i) => {
        const kind = kinds[i];
        // A training run seen again (a later version from the same run) is neither new nor changed.
        if (kind === 'train' && !r.created) return;
        if (!r.created || kind === 'update') summary.updated++;
        else if (kind === 'register') summary.versions++;
        else if (kind === 'train') summary.trainingRuns++;
        else summary.promotions++;
      });
    }
    for (const b of built) cursor.models[b.name] = b.built.state;
    await store.setSyncState(key, cursor);
    if (all.length > 0) emit({ phase: 'written', runs: all.length });
    for (const b of built) {
      if (b.built.changed) summary.modelsChanged++;
      done++;
      emit({
        phase: 'model',
        model: b.name,
        done,
        total: order.length,
        versions: b.built.kinds.filter((k) => k === 'register').length,
        promotions: b.built.kinds.filter((k) => k === 'promote').length,
      });
    }
  }

  // 5. Unchanged models: only their "seen" time moves. Models gone from a full listing are dropped.
  for (const m of models) {
    const state = cursor.models[m.name];
    if (state && !planned.has(m.name)) state.seen = observedAt;
  }
  if (options.model === undefined && !options.filter) {
    for (const name of Object.keys(cursor.models)) {
      if (!listed.has(name)) {
        logger.info('mlflow sync: registered model no longer listed (deleted or renamed)', { model: name });
        delete cursor.models[name];
      }
    }
  }
  await store.setSyncState(key, cursor);

  summary.requests = client.requestCount - requestsBefore;
  summary.durationMs = Math.round(performance.now() - started);
  logger.info('mlflow sync done', { ...summary });
  emit({ phase: 'done', summary });
  return summary;
}

/** Models in name order, except that a model comes after the models its versions were copied from. */
function copyOrder(planned: Planned[]): Planned[] {
  const byName = new Map(planned.map((p) => [p.name, p]));
  const out: Planned[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (p: Planned) => {
    if (state.get(p.name)) return;
    state.set(p.name, 'visiting');
    for (const v of p.versions ?? []) {
      const src = parseModelVersionUri(v.source);
      const dep = src && src.name !== p.name ? byName.get(src.name) : undefined;
      if (dep && state.get(dep.name) !== 'visiting') visit(dep);
    }
    state.set(p.name, 'done');
    out.push(p);
  };
  for (const p of [...planned].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) visit(p);
  return out;
}

/** Source runs by id: a batched search across experiments when there are several, else one get each. */
async function fetchRuns(
  client: MlflowClient,
  ids: string[],
  call: { signal?: AbortSignal | undefined },
  logger: Logger,
  experimentIds: string[],
): Promise<Map<string, Run | undefined>> {
  const out = new Map<string, Run | undefined>();
  if (ids.length >= RUN_SEARCH_THRESHOLD) {
    for (let i = 0; i < ids.length && experimentIds.length > 0; i += RUN_SEARCH_CHUNK) {
      const chunk = ids.slice(i, i + RUN_SEARCH_CHUNK);
      let token: string | undefined;
      do {
        const page = await client.searchRuns(
          {
            experimentIds,
            filter: `attributes.run_id IN (${chunk.map((id) => `'${id.replace(/'/g, '')}'`).join(', ')})`,
            maxResults: 1000,
            ...(token ? { pageToken: token } : {}),
          },
          call,
        );
        for (const run of page.items) out.set(run.info.runId, run);
        token = page.nextPageToken;
      } while (token);
    }
  }
  for (const id of ids) {
    if (out.has(id)) continue;
    try {
      out.set(id, await client.getRun(id, call));
    } catch (error) {
      // A run on another server (run_link) or deleted for good: the version is still registered.
      if (!isMlflowError(error, 404)) throw error;
      logger.warn('mlflow sync: source run not found; registering the version without its datasets', {
        runId: id,
      });
      out.set(id, undefined);
    }
  }
  return out;
}

/** A LoggedModel, or undefined when it is gone (404) or the server predates LoggedModels (404 too). */
async function fetchLoggedModel(
  client: MlflowClient,
  id: string,
  call: { signal?: AbortSignal | undefined },
  logger: Logger,
): Promise<LoggedModel | undefined> {
  try {
    return await client.getLoggedModel(id, call);
  } catch (error) {
    // Anything but a 404 (401, 5xx, a timeout) stops the sync: what was written stays, with its
    // cursor, and the next sync reads this version again, so nothing is lost.
    if (!isMlflowError(error, 404)) throw error;
    logger.warn(
      'mlflow sync: LoggedModel not found; registering the version without its params and metrics',
      {
        modelId: id,
        error: (error as Error).message,
      },
    );
    return undefined;
  }
}

/** A LoggedModel as register-run metadata: its own params, metrics (with their datasets) and source run. */
function loggedModelMetadata(m: LoggedModel): Record<string, unknown> {
  return {
    modelId: m.modelId,
    name: m.name,
    modelType: m.modelType,
    status: m.status,
    sourceRunId: m.sourceRunId,
    experimentId: m.experimentId,
    artifactUri: stripCredentials(m.artifactUri),
    createdAt: m.creationTimestamp ? new Date(m.creationTimestamp).toISOString() : null,
    params: Object.fromEntries(Object.entries(m.params).slice(0, 200)),
    metrics: m.metrics.slice(0, 200).map((x) => ({
      key: x.key,
      value: x.value,
      step: x.step,
      ...(x.datasetName ? { dataset: x.datasetName, datasetDigest: x.datasetDigest } : {}),
    })),
    tags: Object.fromEntries(
      Object.entries(m.tags)
        .filter(([k]) => k !== 'mlflow.modelVersions')
        .slice(0, 100),
    ),
  };
}

interface BuildContext {
  server: string;
  observedAt: number;
  now: number;
  runs: Map<string, Run | undefined>;
  /** Experiment names by id. */
  experiments: Map<string, string>;
  /** MLflow run ids whose training run this sync already built (two versions from one run). */
  written: Set<string>;
  /** MLflow run ids whose training is already in the store under another run key (a Temporal activity). */
  linked: Map<string, string>;
  /** LoggedModels by id (undefined: gone, or a server without LoggedModels). */
  loggedModels: Map<string, LoggedModel | undefined>;
  cwd: string;
  logger: Logger;
}

function runMetadata(run: Run | undefined): Record<string, unknown> {
  if (!run) return {};
  return {
    runName: run.info.runName,
    experimentId: run.info.experimentId,
    runStatus: run.info.status,
    runStartTime: run.info.startTime === undefined ? null : new Date(run.info.startTime).toISOString(),
    runEndTime: run.info.endTime === undefined ? null : new Date(run.info.endTime).toISOString(),
    user: run.tags['mlflow.user'] ?? '',
    params: Object.fromEntries(Object.entries(run.params).slice(0, 200)),
    metrics: Object.fromEntries(run.metrics.slice(0, 200).map((m) => [m.key, m.value])),
  };
}

/** The runs of one model's changes, and its new cursor state. */
function buildModel(p: Planned, ctx: BuildContext): Built {
  const { model, prev } = p;
  const name = model.name;
  const runs: ComponentRunInput[] = [];
  const kinds: Built['kinds'] = [];
  const prevVersions = prev?.versions ?? {};
  const versions: Record<string, VersionState> = p.versions === undefined ? { ...prevVersions } : {};
  const key = (version: string, event: string, timestamp: number) =>
    mlflowRunKey({ server: ctx.server, model: name, version, event, timestamp });
  const common = { source: 'mlflow' as const, status: 'succeeded' as const };

  // Registered-model tags bump no timestamp either: a change updates every version's register run.
  const modelTagsChanged = prev !== undefined && !sameRecord(prev.tags, model.tags);
  const tagsSyncedAt = new Date(ctx.now).toISOString();
  let pending = false;
  for (const v of p.versions ?? []) {
    // Not registered yet: left out of the cursor, so a later sync picks it up.
    if (v.status === 'PENDING_REGISTRATION') {
      pending = true;
      continue;
    }
    const state: VersionState = {
      created: v.creationTimestamp,
      stage: v.currentStage,
      tags: hashTags(v.tags),
    };
    versions[v.version] = state;
    const before = prevVersions[v.version];
    const registerKey = key(v.version, 'register', v.creationTimestamp);
    const failed = v.status === 'FAILED_REGISTRATION';
    if (!before) {
      const train = trainingRun(v, ctx);
      if (train) {
        runs.push(train);
        kinds.push('train');
      }
      runs.push(registerRun(model, v, registerKey, ctx));
      kinds.push('register');
    } else if (before.tags !== state.tags || modelTagsChanged) {
      runs.push({
        ...common,
        status: failed ? 'failed' : 'succeeded',
        component: 'register',
        runKey: registerKey,
        startedAt: new Date(v.creationTimestamp),
        endedAt: new Date(v.creationTimestamp),
        metadata: { versionTags: v.tags, modelTags: model.tags, tagsSyncedAt },
      });
      kinds.push('update');
    }
    const previousStage = before?.stage ?? 'None';
    if (v.currentStage !== previousStage) {
      const holders = Object.entries(prevVersions)
        .filter(([ver, s]) => ver !== v.version && s.stage === v.currentStage)
        .map(([ver]) => ver);
      const at = Math.max(v.lastUpdatedTimestamp, v.creationTimestamp);
      runs.push({
        ...common,
        component: 'promote',
        runKey: key(v.version, `stage.${v.currentStage}`, at),
        startedAt: new Date(at),
        endedAt: new Date(at),
        inputs: [
          { uri: versionUri(name, v.version), type: 'model' },
          ...holders.map((h) => ({
            uri: stageUri(name, v.currentStage),
            version: h,
            type: 'model' as const,
          })),
        ],
        outputs: [{ uri: stageUri(name, v.currentStage), version: v.version, type: 'model' }],
        metadata: {
          trackingUri: ctx.server,
          model: name,
          version: v.version,
          kind: 'stage',
          action: 'transition',
          stage: v.currentStage,
          previousStage,
          previousVersions: holders,
          detectedAt: new Date(ctx.now).toISOString(),
        },
      });
      kinds.push('promote');
    }
  }

  // Aliases: set, moved, or removed since the last sync.
  const aliases: ModelState['aliases'] = {};
  const createdOf = (version: string) =>
    versions[version]?.created ?? prevVersions[version]?.created ?? model.creationTimestamp;
  for (const [alias, version] of Object.entries(model.aliases)) {
    const before = prev?.aliases[alias];
    if (before && before.version === version) {
      aliases[alias] = before;
      continue;
    }
    // Aliases carry no timestamp: the move happened after the last look and after the version existed.
    const at = Math.max(prev?.seen ?? 0, createdOf(version), before?.at ?? 0);
    aliases[alias] = { version, at };
    runs.push({
      ...common,
      component: 'promote',
      runKey: key(version, `alias.${alias}`, at),
      startedAt: new Date(at),
      endedAt: new Date(Math.max(at, ctx.now)),
      inputs: [
        { uri: versionUri(name, version), type: 'model' },
        ...(before ? [{ uri: aliasUri(name, alias), version: before.version, type: 'model' as const }] : []),
      ],
      outputs: [{ uri: aliasUri(name, alias), version, type: 'model' }],
      metadata: {
        trackingUri: ctx.server,
        model: name,
        version,
        kind: 'alias',
        action: before ? 'moved' : 'set',
        alias,
        previousVersion: before?.version ?? null,
        detectedAt: new Date(ctx.now).toISOString(),
      },
    });
    kinds.push('promote');
  }
  for (const [alias, before] of Object.entries(prev?.aliases ?? {})) {
    if (alias in model.aliases) continue;
    const at = Math.max(prev?.seen ?? 0, before.at);
    runs.push({
      ...common,
      component: 'promote',
      runKey: key(before.version, `alias.${alias}.deleted`, at),
      startedAt: new Date(at),
      endedAt: new Date(Math.max(at, ctx.now)),
      inputs: [{ uri: aliasUri(name, alias), version: before.version, type: 'model' }],
      outputs: [{ uri: aliasUri(name, alias), version: '', type: 'model' }],
      metadata: {
        trackingUri: ctx.server,
        model: name,
        version: before.version,
        kind: 'alias',
        action: 'removed',
        alias,
        previousVersion: before.version,
        detectedAt: new Date(ctx.now).toISOString(),
      },
    });
    kinds.push('promote');
  }

  const state: ModelState = {
    // A pending version may turn READY without bumping the model: look again next time.
    updated: pending ? -1 : model.lastUpdatedTimestamp,
    seen: ctx.observedAt,
    tags: model.tags,
    aliases,
    versions,
  };
  const changed =
    runs.length > 0 ||
    !prev ||
    prev.updated !== state.updated ||
    !sameRecord(prev.tags, state.tags) ||
    Object.keys(prev.versions).length !== Object.keys(versions).length;
  return { changed, runs, kinds, state };
}

/** `mlflow:<server>/runs/<run id>`: the run key of an MLflow tracking run. */
export function mlflowTrainingRunKey(server: string, runId: string): string {
  return `mlflow:${server}/runs/${runId}`;
}

/**
 * The MLflow run that trained a new version, as a ComponentRun: component the experiment's name,
 * inputs its dataset inputs, output the version's source (artifact or LoggedModel), which is what
 * the `register` run reads, so register depends on it by inference. Params, metrics and tags go
 * in metadata (the store redacts secret-looking keys). Undefined for a copy or an unknown run.
 */
function trainingRun(v: ModelVersion, ctx: BuildContext): ComponentRunInput | undefined {
  const run = v.runId ? ctx.runs.get(v.runId) : undefined;
  if (!run || !v.source || parseModelVersionUri(v.source)) return undefined;
  if (ctx.linked.has(run.info.runId)) return undefined;
  if (ctx.written.has(run.info.runId)) return undefined;
  ctx.written.add(run.info.runId);
  const datasets = run.datasetInputs.map((d) => datasetPointer(d, ctx.cwd));
  const where = `run ${run.info.runId}`;
  const inputs: PointerInput[] = datasets.map((d) => ({ uri: d.uri, version: d.version, type: 'data' }));
  const experiment = ctx.experiments.get(run.info.experimentId);
  const gitCommit = run.tags['mlflow.source.git.commit'];
  const status =
    run.info.status === 'FAILED' ? 'failed' : run.info.status === 'KILLED' ? 'cancelled' : 'succeeded';
  const started = run.info.startTime ?? v.creationTimestamp;
  return {
    component: experiment || run.info.runName || 'mlflow-run',
    runKey: mlflowTrainingRunKey(ctx.server, run.info.runId),
    source: 'mlflow',
    status,
    startedAt: new Date(started),
    endedAt: new Date(run.info.endTime ?? started),
    ...(gitCommit ? { gitCommit } : {}),
    inputs: inputs.filter((pointer) => validPointer(pointer, ctx.cwd, ctx.logger, where)),
    outputs: [{ uri: stripCredentials(v.source), type: 'model' as const }].filter((pointer) =>
      validPointer(pointer, ctx.cwd, ctx.logger, where),
    ),
    metadata: {
      kind: 'training',
      trackingUri: ctx.server,
      runId: run.info.runId,
      runName: run.info.runName,
      experimentId: run.info.experimentId,
      experiment: experiment ?? null,
      runStatus: run.info.status,
      user: run.tags['mlflow.user'] ?? '',
      params: Object.fromEntries(Object.entries(run.params).slice(0, 200)),
      metrics: Object.fromEntries(run.metrics.slice(0, 200).map((m) => [m.key, m.value])),
      tags: Object.fromEntries(
        Object.entries(run.tags)
          .filter(([k]) => !k.startsWith('mlflow.log-model.history'))
          .slice(0, 200),
      ),
      datasets: datasetsMetadata(datasets),
    },
  };
}

/** A run's datasets as its metadata lists them (the digest is the pointer's version). */
function datasetsMetadata(datasets: ReturnType<typeof datasetPointer>[]) {
  return datasets.map((d) => ({
    name: d.name,
    digest: d.version,
    sourceType: d.sourceType,
    context: d.context,
    uri: d.uri,
    dvc: d.dvc,
  }));
}

function registerRun(
  model: RegisteredModel,
  v: ModelVersion,
  runKey: string,
  ctx: BuildContext,
): ComponentRunInput {
  const name = model.name;
  const logged = ctx.loggedModels.get(loggedModelIdOf(v.source) ?? '');
  const run = v.runId ? ctx.runs.get(v.runId) : undefined;
  const copyOf = parseModelVersionUri(v.source);
  const inputs: PointerInput[] = [];
  if (copyOf) inputs.push({ uri: versionUri(copyOf.name, copyOf.version), type: 'model' });
  else if (v.source) inputs.push({ uri: stripCredentials(v.source), type: 'model' });
  const datasets = (run?.datasetInputs ?? []).map((d) => datasetPointer(d, ctx.cwd));
  const linkedKey = run ? ctx.linked.get(run.info.runId) : undefined;
  // A version from a known run reads its data through the training run; without one, directly.
  if (!run || copyOf || !v.source || linkedKey) {
    for (const d of datasets) inputs.push({ uri: d.uri, version: d.version, type: 'data' });
  }
  const where = `${name}/${v.version}`;
  const failed = v.status === 'FAILED_REGISTRATION';
  const gitCommit = run?.tags['mlflow.source.git.commit'];
  return {
    component: 'register',
    runKey,
    source: 'mlflow',
    status: failed ? 'failed' : 'succeeded',
    startedAt: new Date(v.creationTimestamp),
    endedAt: new Date(v.creationTimestamp),
    ...(gitCommit ? { gitCommit } : {}),
    ...(failed
      ? { error: { message: v.statusMessage || 'registration failed', type: 'FAILED_REGISTRATION' } }
      : {}),
    inputs: inputs.filter((pointer) => validPointer(pointer, ctx.cwd, ctx.logger, where)),
    ...(linkedKey && !copyOf ? { dependsOn: [linkedKey] } : {}),
    outputs: [{ uri: versionUri(name, v.version), type: 'model' }],
    metadata: {
      trackingUri: ctx.server,
      model: name,
      version: v.version,
      source: stripCredentials(v.source),
      ...(copyOf ? { copyOf: versionUri(copyOf.name, copyOf.version) } : {}),
      runId: v.runId,
      ...(v.runLink ? { runLink: v.runLink } : {}),
      description: v.description,
      versionTags: v.tags,
      modelTags: model.tags,
      tagsSyncedAt: new Date(ctx.now).toISOString(),
      ...(logged ? { loggedModel: loggedModelMetadata(logged) } : {}),
      ...runMetadata(run),
      datasets: datasetsMetadata(datasets),
    },
  };
}

/** One line for the CLI: `mlflow http://host:5000: 50 models (3 changed), 12 new versions, 2 promotions; 57 requests in 1.2 s`. */
export function formatSummary(summary: MlflowSyncSummary): string {
  const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  const parts = [
    `${plural(summary.models, 'model')} (${summary.modelsChanged} changed)`,
    plural(summary.versions, 'new version'),
    plural(summary.trainingRuns, 'training run'),
    plural(summary.promotions, 'promotion'),
  ];
  if (summary.updated > 0) parts.push(`${summary.updated} updated`);
  return `mlflow ${summary.server}: ${parts.join(', ')}; ${plural(summary.requests, 'request')} in ${(summary.durationMs / 1000).toFixed(1)} s`;
}

/** Options of {@link watchMlflow}. */
export interface WatchMlflowOptions extends Omit<SyncMlflowOptions, 'signal' | 'onProgress'> {
  /** Pause between syncs. @default 60_000 */
  intervalMs?: number;
  /** Stops the loop (the promise then resolves). */
  signal?: AbortSignal;
  /** Each sync's summary. */
  onSync?: (summary: MlflowSyncSummary) => void;
  /** A failed sync; the loop goes on. @default logs a warning */
  onError?: (error: unknown) => void;
  onProgress?: (event: MlflowSyncProgress) => void;
}

/**
 * Syncs now, then every `intervalMs`, until the signal aborts (then resolves). A failed sync is
 * reported and retried at the next tick; its cursor stays where the last success left it.
 */
export async function watchMlflow(options: WatchMlflowOptions): Promise<void> {
  const { intervalMs = 60_000, signal, onSync, onError, ...rest } = options;
  const logger = options.logger ?? silentLogger;
  const client = options.client ?? new MlflowClient(options.env === undefined ? {} : { env: options.env });
  while (!signal?.aborted) {
    try {
      const summary = await syncMlflow({ ...rest, client, ...(signal ? { signal } : {}) });
      onSync?.(summary);
    } catch (error) {
      if (signal?.aborted) break;
      if (onError) onError(error);
      else
        logger.warn('mlflow sync failed; retrying at the next interval', { error: (error as Error).message });
    }
    await new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, intervalMs);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
