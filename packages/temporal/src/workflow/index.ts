/**
 * `@mltrace/temporal/workflow`: the sandbox-safe side of the mltrace plugin. Imports only
 * `@temporalio/workflow`, `@temporalio/common` and pure code, so it can be bundled into workflow
 * code. The plugin registers this module as a workflow interceptor module; it:
 *
 * - propagates the lineage header ({@link LINEAGE_HEADER}: pipeline run, root and parent
 *   workflow) to activities, local activities, child workflows and continue-as-new;
 * - registers a `lineage` query ({@link lineageQuery}) returning the workflow's activity runs and
 *   their pointers, so `temporal workflow query --type lineage` and the Queries tab of the Web UI
 *   show lineage;
 * - with {@link createLineageInterceptors}`({ searchAttributes: true })` (the module
 *   `@mltrace/temporal/workflow/search-attributes`), upserts the `MltraceOutputs`,
 *   `MltraceModelVersions` and `MltracePipelineRun` search attributes, guarded by `patched()`.
 *
 * @example
 * ```ts
 * import { lineageQuery } from '@mltrace/temporal/workflow';
 * const lineage = await client.workflow.getHandle(workflowId).query(lineageQuery);
 * ```
 * @module
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  type ActivateInput,
  type ActivityInput,
  type ContinueAsNewInput,
  defaultPayloadConverter,
  defineQuery,
  getCurrentDetails,
  type Headers,
  isCancellation,
  type LocalActivityInput,
  type Next,
  patched,
  type StartChildWorkflowExecutionInput,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptors,
  type WorkflowInterceptorsFactory,
  type WorkflowInternalsInterceptor,
  type WorkflowOutboundCallsInterceptor,
  workflowInfo,
} from '@temporalio/workflow';
import {
  activitySummary,
  DEFAULT_MLTRACE_UI_URL,
  type DetailModel,
  type DetailRow,
  declaredOutput,
  MAX_DETAIL_ROWS,
  modelKind,
  renderDetails,
  type ShownPointer,
  withVersions,
} from './details.js';
import {
  asLineageHeader,
  asUiUrl,
  type ExecutionRef,
  LINEAGE_HEADER,
  type LineageHeader,
  UI_HEADER,
} from './header.js';
import { findPointers, looksLikePointer, scanPointers } from './pointers.js';
import { DEFAULT_REDACT_KEYS, secretKeyTest } from './redact.js';

export {
  asLineageHeader,
  asUiUrl,
  type ExecutionRef,
  LINEAGE_HEADER,
  type LineageHeader,
  UI_HEADER,
} from './header.js';

/** The outcome of one activity call as the workflow saw it (after all its retries). */
export type WorkflowRunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** One activity call in the {@link WorkflowLineage} of a workflow. */
export interface WorkflowLineageRun {
  activityId: string;
  activityType: string;
  /** A local activity. */
  local: boolean;
  status: WorkflowRunStatus;
  /** Workflow time (ISO 8601) when the call was scheduled. */
  scheduledAt: string;
  /** Workflow time (ISO 8601) when the outcome was known. */
  endedAt?: string;
  /** Run keys in the lineage store start with this, followed by the attempt number. */
  runKeyPrefix: string;
  /** Pointers found in the arguments. */
  inputs: string[];
  /** Pointers found in the result. */
  outputs: string[];
  /** Activity ids of earlier calls of this workflow that produced one of the inputs. */
  dependsOn: string[];
  error?: { message: string; type?: string };
}

/** A child workflow started by the workflow. */
export interface WorkflowLineageChild {
  workflowId: string;
  workflowType: string;
  runId?: string;
  status: WorkflowRunStatus;
}

/** What the `lineage` query returns. */
export interface WorkflowLineage {
  workflow: { namespace: string; workflowId: string; runId: string; workflowType: string; taskQueue: string };
  pipelineRun: ExecutionRef;
  root?: ExecutionRef;
  parent?: ExecutionRef;
  /** The run this one continued as new from. */
  continuedFromRunId?: string;
  /** Activity calls, oldest first (the newest {@link MAX_QUERY_RUNS} at most). */
  runs: WorkflowLineageRun[];
  /** How many older calls were left out. */
  omittedRuns: number;
  children: WorkflowLineageChild[];
  /** Every pointer read or written by the calls above, once. */
  pointers: { inputs: string[]; outputs: string[] };
}

/** The query that returns a workflow's {@link WorkflowLineage}. */
export const lineageQuery = defineQuery<WorkflowLineage>('lineage');

/** How many activity calls the lineage query keeps (the newest). */
export const MAX_QUERY_RUNS = 500;

/** Search attribute: output URIs of the workflow's activities (KeywordList). */
export const MLTRACE_OUTPUTS = defineSearchAttributeKey('MltraceOutputs', SearchAttributeType.KEYWORD_LIST);
/** Search attribute: model versions produced by the workflow (KeywordList). */
export const MLTRACE_MODEL_VERSIONS = defineSearchAttributeKey(
  'MltraceModelVersions',
  SearchAttributeType.KEYWORD_LIST,
);
/** Search attribute: the pipeline run (root workflow id) the workflow belongs to (Keyword). */
export const MLTRACE_PIPELINE_RUN = defineSearchAttributeKey(
  'MltracePipelineRun',
  SearchAttributeType.KEYWORD,
);

/** Search attribute: input pointers of the workflow's activities, as `uri` and `uri@version` (KeywordList). */
export const MLTRACE_INPUTS = defineSearchAttributeKey('MltraceInputs', SearchAttributeType.KEYWORD_LIST);

/** The `patched()` id guarding the search-attribute upserts. */
export const SEARCH_ATTRIBUTES_PATCH = 'mltrace-search-attributes-v1';
/** The `patched()` id guarding the `MltraceInputs` upserts (added after v1). */
export const INPUT_SEARCH_ATTRIBUTES_PATCH = 'mltrace-search-attributes-v2-inputs';
/**
 * The `patched()` id of fewer search-attribute upserts (added after v2): one per finished call,
 * each repeating the whole lists, cost the worker more than all the rest the plugin does
 * (bench/results/temporal-breakdown.md). Since v3 the attributes that changed are upserted once
 * the workflow has no call in flight, or {@link SEARCH_ATTRIBUTES_INTERVAL_MS} of workflow time
 * after the last upsert, and when the workflow ends: at most once per activation.
 */
export const BATCHED_SEARCH_ATTRIBUTES_PATCH = 'mltrace-search-attributes-v3-batched';
/** Since v3, changes wait at most this long (workflow time) while calls are in flight. */
export const SEARCH_ATTRIBUTES_INTERVAL_MS = 10_000;
/**
 * The `patched()` id of upserts decided only by what the history orders (added after v3). A
 * worker may hand a workflow the local-activity results of one workflow task in several
 * activations while it runs, and in one on replay; v3 decided its upserts once per activation, so
 * a workflow with local activities in parallel could upsert more often than its replay, which
 * then failed with a nondeterminism error (found by bench/temporal/replay.ts). Since v4 only the
 * outcome of a (non-local) activity upserts, right away when due: when no other such call is in
 * flight, or {@link SEARCH_ATTRIBUTES_INTERVAL_MS} after the last upsert; what local activities
 * found is upserted with the workflow's last upsert, when it ends.
 */
export const ORDERED_SEARCH_ATTRIBUTES_PATCH = 'mltrace-search-attributes-v4-ordered';
/** The `patched()` id guarding the activity summaries (the current details produce no command). */
export const UI_PATCH = 'mltrace-ui-v1';

/** Which search attributes each patch writes (the plugin turns a patch on only when the namespace has them). */
export const PATCH_SEARCH_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  [SEARCH_ATTRIBUTES_PATCH]: [MLTRACE_OUTPUTS.name, MLTRACE_MODEL_VERSIONS.name, MLTRACE_PIPELINE_RUN.name],
  [INPUT_SEARCH_ATTRIBUTES_PATCH]: [MLTRACE_INPUTS.name],
  [BATCHED_SEARCH_ATTRIBUTES_PATCH]: [
    MLTRACE_OUTPUTS.name,
    MLTRACE_MODEL_VERSIONS.name,
    MLTRACE_PIPELINE_RUN.name,
  ],
  [ORDERED_SEARCH_ATTRIBUTES_PATCH]: [
    MLTRACE_OUTPUTS.name,
    MLTRACE_MODEL_VERSIONS.name,
    MLTRACE_PIPELINE_RUN.name,
  ],
};

/**
 * The first calls of each activity type in a run get a summary; later ones do not. A summary is
 * a payload on the call's command and history event, which the SDK converts and visits: on
 * trivial activities it was the largest part of what the plugin cost a worker per call
 * (bench/results/temporal-breakdown.md). A fan-out of hundreds of calls of one type shows the
 * first ones' inputs in the event history; the lineage query and the mltrace UI have every call.
 */
export const MAX_SUMMARIES_PER_TYPE = 10;

/** The built-in query the Web UI and `temporal workflow metadata` read the current details with. */
const METADATA_QUERY = '__temporal_workflow_metadata';

/** At most this many values per KeywordList search attribute, each at most this many characters. */
const MAX_KEYWORDS = 50;
const MAX_KEYWORD_CHARS = 256;
/** `MltraceInputs` keeps fewer: each upsert repeats the whole list (history bytes, see bench/temporal-ui). */
const MAX_INPUT_KEYWORDS = 20;

/** Options of {@link createLineageInterceptors}. */
export interface LineageInterceptorOptions {
  /**
   * Upsert the `MltraceOutputs`, `MltraceModelVersions` and `MltracePipelineRun` search
   * attributes (they must be registered on the namespace). Guarded by `patched()`.
   * @default false
   */
  searchAttributes?: boolean;
}

const isSecretKey = secretKeyTest(DEFAULT_REDACT_KEYS);
const POINTER_LIMITS = { maxPointers: 32, maxDepth: 6, maxNodes: 2000, isSecretKey };

/** A pointer as a search-attribute keyword (`uri` or `uri@version`), cut to the limit. */
function keyword(pointer: ShownPointer): string {
  return (pointer.version ? `${pointer.uri}@${pointer.version}` : pointer.uri).slice(0, MAX_KEYWORD_CHARS);
}

/** Whether a pointer names a model version (for `MltraceModelVersions`). */
function isModelPointer(uri: string): boolean {
  if (/^(models|runs|mlflow-artifacts):\//i.test(uri)) return true;
  const lower = uri.toLowerCase();
  return /\.(pkl|pickle|joblib|h5|hdf5|ckpt|pt|pth|onnx|mlmodel|safetensors)$/.test(lower);
}

function sameRun(a: ExecutionRef, b: ExecutionRef): boolean {
  return a.workflowId === b.workflowId && a.runId === b.runId;
}

function errorOf(err: unknown): { message: string; type?: string } {
  const cause = (err as { cause?: unknown }).cause ?? err;
  const message = cause instanceof Error ? cause.message : String(cause);
  const type = (cause as { type?: unknown }).type;
  return typeof type === 'string' ? { message, type } : { message };
}

/** A {@link WorkflowLineageRun} as kept: workflow times as numbers, formatted when queried. */
type TrackedRun = Omit<WorkflowLineageRun, 'scheduledAt' | 'endedAt'> & {
  scheduledAtMs: number;
  endedAtMs?: number;
};

/** An activity call: what its outcome updates. */
interface Call {
  run: TrackedRun;
  row: DetailRow;
  /** The call's promise, once scheduled. */
  promise?: Promise<unknown>;
}

/** The search attributes an activation changed, upserted once at its end (the v3 patch). */
type PendingKey = 'outputs' | 'models' | 'inputs';

/** The per-run state of the interceptors (one instance per workflow run). */
class LineageState {
  readonly runs: TrackedRun[] = [];
  readonly children: WorkflowLineageChild[] = [];
  omittedRuns = 0;
  header: LineageHeader | undefined;
  private headerPayload: Headers[string] | undefined;
  private runHeaderPayload: Headers[string] | undefined;
  /** The run is its own pipeline run and root, without a parent: activities need no header. */
  private ownContext = false;
  private childHeaderPayload: Headers[string] | undefined;
  private readonly producers = new Map<string, string>();
  private readonly outputs = new Set<string>();
  private readonly modelVersions = new Set<string>();
  private readonly inputKeywords = new Set<string>();
  /** The mltrace UI base URL the details link to. */
  private ui = DEFAULT_MLTRACE_UI_URL;
  /** The incoming {@link UI_HEADER}, handed on to children and continue-as-new runs. */
  uiPayload: Headers[string] | undefined;
  /** Activity summaries are on (this run took the {@link UI_PATCH}). */
  summaries = false;
  /** Summaries given so far, by activity type. */
  private readonly summarised = new Map<string, number>();
  /** This run took the v1 patch (outputs, model versions, pipeline run). */
  private outputSearchAttributes = false;
  private inputSearchAttributes = false;
  /**
   * How this run upserts: `each` finished call (v1, v2), `batched` once per activation (v3), or
   * `ordered` (v4). With the last two, the caller calls {@link upsertPending}`(true)` when the
   * workflow's own promise settles.
   */
  upserts: 'none' | 'each' | 'batched' | 'ordered' = 'none';
  /** v4: (non-local) activity calls in flight. */
  private remoteRunning = 0;
  /** v4: finished local calls whose pointers wait for the last upsert (at most {@link MAX_QUERY_RUNS}). */
  private readonly deferred: Call[] = [];
  private readonly pending = new Set<PendingKey>();
  private upsertQueued = false;
  private lastUpsertMs = Number.NEGATIVE_INFINITY;
  /** `temporal:NAMESPACE/WORKFLOW/RUN/`: the run keys' common start. */
  private runKeyBase = '';
  private readonly counts: Record<DetailRow['status'], number> = {
    running: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
  };
  /** The newest rows of the details, oldest first. */
  private readonly rows: DetailRow[] = [];
  private omittedRows = 0;
  private readonly models = new Map<string, DetailModel>();

  constructor(private readonly searchAttributes: boolean) {}

  /** Sets the context from the incoming header (or from workflowInfo when there is none). */
  start(headers: Headers): void {
    const info = workflowInfo();
    let incoming: LineageHeader | undefined;
    const payload = headers[LINEAGE_HEADER];
    if (payload) {
      try {
        incoming = asLineageHeader(defaultPayloadConverter.fromPayload(payload));
      } catch {
        incoming = undefined;
      }
    }
    const self = { workflowId: info.workflowId, runId: info.runId };
    this.runKeyBase = `temporal:${info.namespace}/${info.workflowId}/${info.runId}/`;
    const root = incoming?.root ?? (info.root ? { ...info.root } : self);
    const parent = info.parent
      ? { workflowId: info.parent.workflowId, runId: info.parent.runId }
      : incoming?.parent;
    this.header = { v: 1, pipelineRun: incoming?.pipelineRun ?? root, root, ...(parent ? { parent } : {}) };
    this.ownContext = !parent && sameRun(root, self) && sameRun(this.header.pipelineRun, self);
    this.outputSearchAttributes = this.searchAttributes && patched(SEARCH_ATTRIBUTES_PATCH);
    if (this.outputSearchAttributes) {
      const pipelineRun = this.header.pipelineRun.workflowId.slice(0, MAX_KEYWORD_CHARS);
      if (info.typedSearchAttributes.get(MLTRACE_PIPELINE_RUN) !== pipelineRun) {
        upsertSearchAttributes([{ key: MLTRACE_PIPELINE_RUN, value: pipelineRun }]);
      }
    }
    // New behaviour after the first recorded histories: each behind its own patch, decided once here.
    const uiPayload = headers[UI_HEADER];
    if (uiPayload) {
      this.uiPayload = uiPayload;
      try {
        this.ui = asUiUrl(defaultPayloadConverter.fromPayload(uiPayload)) ?? DEFAULT_MLTRACE_UI_URL;
      } catch {
        this.ui = DEFAULT_MLTRACE_UI_URL;
      }
    }
    this.inputSearchAttributes = this.searchAttributes && patched(INPUT_SEARCH_ATTRIBUTES_PATCH);
    this.summaries = patched(UI_PATCH);
    // The newest patch is asked first: a run that takes it never asks (nor marks) the older one.
    if (this.outputSearchAttributes) {
      this.upserts = patched(ORDERED_SEARCH_ATTRIBUTES_PATCH)
        ? 'ordered'
        : patched(BATCHED_SEARCH_ATTRIBUTES_PATCH)
          ? 'batched'
          : 'each';
    } else if (this.inputSearchAttributes) {
      this.upserts = 'each';
    }
  }

  /** Whether the caller flushes pending upserts when the workflow's promise settles (v3, v4). */
  get batchesUpserts(): boolean {
    return this.upserts === 'batched' || this.upserts === 'ordered';
  }

  /**
   * Sets the workflow's current details for an activation that answers the metadata query (the
   * only reader of the details: the Web UI and `temporal workflow metadata`), so they are rendered
   * when read, not on every change; returns the details the workflow had set itself, which the
   * caller puts back once the query is answered: the workflow's own `getCurrentDetails()` never
   * sees ours, so its code behaves the same whether a query came or not (replay-safe).
   */
  showDetails(): string {
    const own = getCurrentDetails();
    const header = this.header;
    const info = workflowInfo();
    const ours = renderDetails({
      ui: this.ui,
      counts: this.counts,
      rows: this.rows,
      omitted: this.omittedRows,
      models: [...this.models.values()],
      ...(header && header.pipelineRun.workflowId !== info.workflowId
        ? { pipelineRun: header.pipelineRun.workflowId }
        : {}),
    });
    // Details the workflow set itself stay, above ours.
    setCurrentDetails(own ? `${own}\n\n---\n\n${ours}` : ours);
    return own;
  }

  /**
   * The header for activities of this workflow (encoded once), or undefined when it would only
   * repeat what an activity's own info says: a workflow that is its own pipeline run and root,
   * without a parent (most workflows). Each header is a payload on every scheduled activity, its
   * history event and its task: about a third of what the workflow side cost per activity
   * (bench/results/temporal-breakdown.md). Activity interceptors read a missing header as that.
   */
  activityHeader(): Headers[string] | undefined {
    if (this.headerPayload === undefined && !this.ownContext) {
      this.headerPayload = defaultPayloadConverter.toPayload(this.header);
    }
    return this.headerPayload;
  }

  /** An activity's headers, with the lineage header when there is one. */
  withActivityHeader(headers: Headers): Headers {
    const lineage = this.activityHeader();
    return lineage ? { ...headers, [LINEAGE_HEADER]: lineage } : headers;
  }

  /** The header for the next run of a continue-as-new: it joins this run's pipeline run. */
  runHeader(): Headers[string] {
    this.runHeaderPayload ??= this.headerPayload ?? defaultPayloadConverter.toPayload(this.header);
    return this.runHeaderPayload;
  }

  /** The header for child workflows: this workflow is their parent. */
  childHeader(): Headers[string] {
    if (!this.childHeaderPayload) {
      const info = workflowInfo();
      const header = this.header!;
      this.childHeaderPayload = defaultPayloadConverter.toPayload({
        ...header,
        parent: { workflowId: info.workflowId, runId: info.runId },
      } satisfies LineageHeader);
    }
    return this.childHeaderPayload;
  }

  /** The headers a child workflow or the next run of a continue-as-new gets. */
  onward(headers: Headers, lineage: Headers[string]): Headers {
    return {
      ...headers,
      [LINEAGE_HEADER]: lineage,
      ...(this.uiPayload && !headers[UI_HEADER] ? { [UI_HEADER]: this.uiPayload } : {}),
    };
  }

  /** Records a scheduled call; returns it, and the summary to give it (if any). */
  begin(
    activityId: string,
    activityType: string,
    local: boolean,
    args: unknown[],
  ): { call: Call; summary: string | undefined } {
    const { uris: inputs, versions } = scanPointers(args, POINTER_LIMITS);
    const dependsOn: string[] = [];
    for (const uri of inputs) {
      const producer = this.producers.get(uri);
      if (producer !== undefined && !dependsOn.includes(producer)) dependsOn.push(producer);
    }
    const runKeyPrefix = `${this.runKeyBase}${activityId}/`;
    const run: TrackedRun = {
      activityId,
      activityType,
      local,
      status: 'running',
      scheduledAtMs: Date.now(),
      runKeyPrefix,
      inputs,
      outputs: [],
      dependsOn,
    };
    this.runs.push(run);
    if (this.runs.length > MAX_QUERY_RUNS) {
      this.runs.shift();
      this.omittedRuns++;
    }
    const shownInputs = withVersions(inputs, versions);
    const row: DetailRow = {
      activityType,
      status: 'running',
      runKeyPrefix,
      inputs: shownInputs,
      outputs: [],
    };
    this.counts.running++;
    if (!local) this.remoteRunning++;
    this.rows.push(row);
    if (this.rows.length > MAX_DETAIL_ROWS) {
      this.rows.shift();
      this.omittedRows++;
    }
    let summary: string | undefined;
    const summarised = this.summarised.get(activityType) ?? 0;
    if (this.summaries && inputs.length > 0 && summarised < MAX_SUMMARIES_PER_TYPE) {
      const output = declaredOutput(args, inputs);
      summary =
        activitySummary(shownInputs, output ? shownInputs.find((p) => p.uri === output) : undefined) ||
        undefined;
      if (summary) this.summarised.set(activityType, summarised + 1);
    }
    return { call: { run, row }, summary };
  }

  /**
   * Adds the inputs of a finished call to `MltraceInputs` (behind its patch); returns the upsert
   * entry when some are new, for the caller to send in one command with the outputs'.
   */
  private noteInputs(row: DetailRow): Array<{ key: typeof MLTRACE_INPUTS; value: string[] }> {
    if (!this.inputSearchAttributes || this.inputKeywords.size >= MAX_INPUT_KEYWORDS) return [];
    let changed = false;
    for (const pointer of row.inputs) {
      for (const value of pointer.version
        ? [keyword({ uri: pointer.uri }), keyword(pointer)]
        : [keyword(pointer)]) {
        if (!this.inputKeywords.has(value) && this.inputKeywords.size < MAX_INPUT_KEYWORDS) {
          this.inputKeywords.add(value);
          changed = true;
        }
      }
    }
    return changed ? [{ key: MLTRACE_INPUTS, value: [...this.inputKeywords] }] : [];
  }

  /** Ends a row of the details. */
  private endRow(row: DetailRow, status: DetailRow['status']): void {
    this.counts.running--;
    this.counts[status]++;
    row.status = status;
  }

  /** Notes the call's outcome when its promise settles. */
  observe(promise: Promise<unknown>, call: Call): void {
    call.promise = promise;
    observe(
      promise,
      (result) => this.succeeded(call, result),
      (err: unknown) => this.failed(call, err),
    );
  }

  succeeded(call: Call, result: unknown): void {
    const { run, row } = call;
    run.status = 'succeeded';
    run.endedAtMs = Date.now();
    const { uris, versions } = scanPointers(result, POINTER_LIMITS);
    run.outputs = uris;
    this.endRow(row, 'succeeded');
    row.outputs = withVersions(uris, versions);
    for (const uri of uris) this.producers.set(uri, run.activityId);
    // A call that read no pointer and returned a model version looked it up (the current
    // champion), it did not make it: not a model this workflow registered or promoted.
    for (const pointer of run.inputs.length === 0 ? [] : row.outputs) {
      const kind = modelKind(pointer.uri);
      if (kind && this.models.size < 50) this.models.set(keyword(pointer), { pointer, kind });
    }
    this.noteSearchAttributes(call, true);
  }

  failed(call: Call, err: unknown): void {
    const { run, row } = call;
    run.status = isCancellation(err) ? 'cancelled' : 'failed';
    run.endedAtMs = Date.now();
    run.error = errorOf(err);
    this.endRow(row, run.status);
    row.error = run.error.message;
    this.noteSearchAttributes(call, false);
  }

  /**
   * Adds a finished call's pointers to the search attributes' lists and upserts them as this
   * run's patch says. Each branch keeps the commands of its patch exactly as they were recorded.
   */
  private noteSearchAttributes(call: Call, succeeded: boolean): void {
    switch (this.upserts) {
      case 'none':
        return;
      case 'each': {
        const { changed, inputs } = this.collect(call);
        if (changed && this.outputSearchAttributes) {
          upsertSearchAttributes([
            { key: MLTRACE_OUTPUTS, value: [...this.outputs] },
            ...(this.modelVersions.size > 0
              ? [{ key: MLTRACE_MODEL_VERSIONS, value: [...this.modelVersions] }]
              : []),
            ...inputs,
          ]);
        } else if (inputs.length > 0) {
          upsertSearchAttributes(inputs);
        }
        return;
      }
      case 'batched': {
        const { inputs } = this.collect(call);
        if (succeeded || inputs.length > 0) this.scheduleUpsert(call);
        return;
      }
      case 'ordered': {
        if (call.run.local) {
          // Local results reach the workflow grouped differently live and on replay: they wait.
          if (this.deferred.length < MAX_QUERY_RUNS) this.deferred.push(call);
          return;
        }
        this.remoteRunning--;
        this.collect(call);
        const due =
          this.remoteRunning === 0 || Date.now() - this.lastUpsertMs >= SEARCH_ATTRIBUTES_INTERVAL_MS;
        if (due) this.upsertPending(true);
        return;
      }
    }
  }

  /**
   * Adds a finished call's pointers to the search attributes' lists (within their limits) and
   * marks the lists that changed as pending; returns what changed, and the `MltraceInputs` entry
   * when the inputs did (for `each`).
   */
  private collect(call: Call): {
    changed: boolean;
    inputs: Array<{ key: typeof MLTRACE_INPUTS; value: string[] }>;
  } {
    const { run, row } = call;
    const inputs = this.noteInputs(row);
    let changed = false;
    let modelsChanged = false;
    // Since the v2 patch, what a call looked up is not among the versions the workflow produced.
    const produced = !(run.inputs.length === 0 && this.inputSearchAttributes);
    for (const uri of run.outputs) {
      const keyword = uri.slice(0, MAX_KEYWORD_CHARS);
      if (!this.outputs.has(keyword) && this.outputs.size < MAX_KEYWORDS) {
        this.outputs.add(keyword);
        changed = true;
      }
      if (
        produced &&
        isModelPointer(uri) &&
        !this.modelVersions.has(keyword) &&
        this.modelVersions.size < MAX_KEYWORDS
      ) {
        this.modelVersions.add(keyword);
        changed = true;
        modelsChanged = true;
      }
    }
    if (changed) this.pending.add('outputs');
    if (modelsChanged) this.pending.add('models');
    if (inputs.length > 0) this.pending.add('inputs');
    return { changed, inputs };
  }

  /**
   * Upserts what changed, once, after the activation's other reactions queued so far: the calls
   * an activation resolves are all noted by then (their reactions were queued first). Queued as
   * one more reaction of the settled call's own promise: no promise is created for it.
   */
  private scheduleUpsert(call: Call): void {
    if (this.pending.size === 0 || this.upsertQueued || !call.promise) return;
    this.upsertQueued = true;
    const upsert = () => {
      this.upsertQueued = false;
      this.upsertPending(false);
    };
    observe(call.promise, upsert, upsert);
  }

  /** Upserts the attributes changed since the last upsert, when due (or `now`). */
  upsertPending(now: boolean): void {
    const pending = this.pending;
    if (pending.size === 0) return;
    const time = Date.now();
    if (!now && this.counts.running > 0 && time - this.lastUpsertMs < SEARCH_ATTRIBUTES_INTERVAL_MS) return;
    this.lastUpsertMs = time;
    upsertSearchAttributes([
      ...(pending.has('outputs') ? [{ key: MLTRACE_OUTPUTS, value: [...this.outputs] }] : []),
      ...(pending.has('models') ? [{ key: MLTRACE_MODEL_VERSIONS, value: [...this.modelVersions] }] : []),
      ...(pending.has('inputs') ? [{ key: MLTRACE_INPUTS, value: [...this.inputKeywords] }] : []),
    ]);
    pending.clear();
  }

  /**
   * The workflow's last upsert, when its own promise settles (v3, v4): everything pending, with
   * what local calls found (v4), since every local call the workflow awaited has its outcome by
   * then, live and on replay alike.
   */
  upsertAtEnd(): void {
    for (const call of this.deferred) this.collect(call);
    this.deferred.length = 0;
    this.upsertPending(true);
  }

  lineage(): WorkflowLineage {
    const info = workflowInfo();
    const header = this.header;
    const inputs = new Set<string>();
    const outputs = new Set<string>();
    for (const run of this.runs) {
      for (const uri of run.inputs) inputs.add(uri);
      for (const uri of run.outputs) outputs.add(uri);
    }
    return {
      workflow: {
        namespace: info.namespace,
        workflowId: info.workflowId,
        runId: info.runId,
        workflowType: info.workflowType,
        taskQueue: info.taskQueue,
      },
      pipelineRun: header?.pipelineRun ?? { workflowId: info.workflowId, runId: info.runId },
      ...(header?.root ? { root: header.root } : {}),
      ...(header?.parent ? { parent: header.parent } : {}),
      ...(info.continuedFromExecutionRunId ? { continuedFromRunId: info.continuedFromExecutionRunId } : {}),
      runs: this.runs.map(({ scheduledAtMs, endedAtMs, ...run }) => ({
        ...run,
        scheduledAt: new Date(scheduledAtMs).toISOString(),
        ...(endedAtMs !== undefined ? { endedAt: new Date(endedAtMs).toISOString() } : {}),
      })),
      omittedRuns: this.omittedRuns,
      children: this.children.map((child) => ({ ...child })),
      pointers: { inputs: [...inputs], outputs: [...outputs] },
    };
  }
}

/** The capability `then` gets for {@link observe}: not a promise, it ignores what the reactions return. */
class Reactions {
  constructor(executor: (resolve: () => void, reject: () => void) => void) {
    executor(ignore, ignore);
  }
}
const ignore = (): void => {};
const NO_PROMISE = { [Symbol.species]: Reactions };
// Read once: a global read in the workflow sandbox (a `vm` context) is slow (pointers.ts).
const { defineProperty } = Object;

/**
 * Calls back when a workflow promise settles, like `promise.then(onFulfilled, onRejected)`, but
 * without creating a promise: the SDK records a stack trace of every promise created in a
 * workflow (for its `__stack_trace` query), which cost more than all the rest the interceptors
 * do per activity. `then` builds its result with the promise's species; for the duration of the
 * call, the species is {@link Reactions}, a plain class. The reactions are the same microtasks,
 * queued in the same order, as with a plain `then` (replay-safe); the user's code never sees the
 * change (it is undone before `then` returns).
 */
function observe<T>(
  promise: Promise<T>,
  onFulfilled: (value: T) => void,
  onRejected: (reason: unknown) => void,
): void {
  try {
    defineProperty(promise, 'constructor', { value: NO_PROMISE, configurable: true });
  } catch {
    // Not an extensible native promise (another interceptor's): a plain `then` still works.
    void promise.then(onFulfilled, onRejected);
    return;
  }
  try {
    void promise.then(onFulfilled, onRejected);
  } finally {
    delete (promise as { constructor?: unknown }).constructor;
  }
}

class LineageInboundInterceptor implements WorkflowInboundCallsInterceptor {
  constructor(private readonly state: LineageState) {}

  execute(
    input: WorkflowExecuteInput,
    next: Next<WorkflowInboundCallsInterceptor, 'execute'>,
  ): Promise<unknown> {
    this.state.start(input.headers);
    setHandler(lineageQuery, () => this.state.lineage(), {
      description: 'mltrace lineage: the activity runs of this workflow, their pointers and pipeline context',
    });
    const result = next(input);
    if (this.state.batchesUpserts) {
      // What is still pending goes out before the workflow completes, fails or continues as new:
      // this reaction is registered before the SDK's own on the same promise.
      const upsert = () => this.state.upsertAtEnd();
      observe(result, upsert, upsert);
    }
    return result;
  }
}

class LineageInternalsInterceptor implements WorkflowInternalsInterceptor {
  constructor(private readonly state: LineageState) {}

  /** Renders the details for an activation that answers the metadata query, and only then. */
  activate(input: ActivateInput, next: Next<WorkflowInternalsInterceptor, 'activate'>): void {
    const metadata = input.activation.jobs?.some((job) => job.queryWorkflow?.queryType === METADATA_QUERY);
    if (!metadata) {
      next(input);
      return;
    }
    const own = this.state.showDetails();
    try {
      next(input);
    } finally {
      setCurrentDetails(own);
    }
  }
}

class LineageOutboundInterceptor implements WorkflowOutboundCallsInterceptor {
  constructor(private readonly state: LineageState) {}

  // Each method records the call and returns the SDK's own promise: the state is updated by side
  // reactions registered before the workflow's, so the interceptor adds no microtask ticks to the
  // workflow's own continuations (command order stays what it is without the plugin). No helper
  // frames around `next`: the SDK records a stack trace for each promise it creates there.

  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>) {
    const activityId = input.options.activityId ?? `${input.seq}`;
    const { call, summary } = this.state.begin(activityId, input.activityType, false, input.args);
    const promise = next({
      ...input,
      // A summary the workflow gave the call wins.
      ...(summary && !input.options.summary ? { options: { ...input.options, summary } } : {}),
      headers: this.state.withActivityHeader(input.headers),
    });
    this.state.observe(promise, call);
    return promise;
  }

  scheduleLocalActivity(
    input: LocalActivityInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>,
  ) {
    const { call, summary } = this.state.begin(`${input.seq}`, input.activityType, true, input.args);
    const promise = next({
      ...input,
      ...(summary && !input.options.summary ? { options: { ...input.options, summary } } : {}),
      headers: this.state.withActivityHeader(input.headers),
    });
    this.state.observe(promise, call);
    return promise;
  }

  startChildWorkflowExecution(
    input: StartChildWorkflowExecutionInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'startChildWorkflowExecution'>,
  ): Promise<[Promise<string>, Promise<unknown>]> {
    const child: WorkflowLineageChild = {
      workflowId: input.options.workflowId,
      workflowType: input.workflowType,
      status: 'running',
    };
    this.state.children.push(child);
    const promise = next({ ...input, headers: this.state.onward(input.headers, this.state.childHeader()) });
    observe(
      promise,
      ([started, completed]) => {
        observe(
          started,
          (runId) => {
            child.runId = runId;
          },
          ignore,
        );
        observe(
          completed,
          () => {
            child.status = 'succeeded';
          },
          (err: unknown) => {
            child.status = isCancellation(err) ? 'cancelled' : 'failed';
          },
        );
      },
      ignore,
    );
    return promise;
  }

  continueAsNew(input: ContinueAsNewInput, next: Next<WorkflowOutboundCallsInterceptor, 'continueAsNew'>) {
    return next({ ...input, headers: this.state.onward(input.headers, this.state.runHeader()) });
  }
}

/**
 * Builds the interceptors factory. Each workflow run gets fresh interceptors sharing one state.
 * Everything they do is deterministic: the header and the query add no commands; the optional
 * search-attribute upserts are guarded by `patched(SEARCH_ATTRIBUTES_PATCH)`.
 */
export function createLineageInterceptors(
  options: LineageInterceptorOptions = {},
): WorkflowInterceptorsFactory {
  const searchAttributes = options.searchAttributes ?? false;
  return (): WorkflowInterceptors => {
    const state = new LineageState(searchAttributes);
    return {
      inbound: [new LineageInboundInterceptor(state)],
      outbound: [new LineageOutboundInterceptor(state)],
      internals: [new LineageInternalsInterceptor(state)],
    };
  };
}

/** The interceptors factory of this module (no search attributes), as `workflowModules` expects. */
export const interceptors: WorkflowInterceptorsFactory = createLineageInterceptors();

export {
  activitySummary,
  DEFAULT_MLTRACE_UI_URL,
  mltraceLinks,
  renderDetails,
  workflowSummary,
} from './details.js';
export { findPointers, looksLikePointer };
