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
  type ActivityInput,
  type ConcludeActivationInput,
  type ConcludeActivationOutput,
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
  pointerVersions,
  renderDetailRow,
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
import { findPointers, looksLikePointer } from './pointers.js';
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
/** The `patched()` id guarding the activity summaries (the current details produce no command). */
export const UI_PATCH = 'mltrace-ui-v1';

/** Which search attributes each patch writes (the plugin turns a patch on only when the namespace has them). */
export const PATCH_SEARCH_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  [SEARCH_ATTRIBUTES_PATCH]: [MLTRACE_OUTPUTS.name, MLTRACE_MODEL_VERSIONS.name, MLTRACE_PIPELINE_RUN.name],
  [INPUT_SEARCH_ATTRIBUTES_PATCH]: [MLTRACE_INPUTS.name],
};

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

function errorOf(err: unknown): { message: string; type?: string } {
  const cause = (err as { cause?: unknown }).cause ?? err;
  const message = cause instanceof Error ? cause.message : String(cause);
  const type = (cause as { type?: unknown }).type;
  return typeof type === 'string' ? { message, type } : { message };
}

/** The per-run state of the interceptors (one instance per workflow run). */
class LineageState {
  readonly runs: WorkflowLineageRun[] = [];
  readonly children: WorkflowLineageChild[] = [];
  omittedRuns = 0;
  header: LineageHeader | undefined;
  private headerPayload: Headers[string] | undefined;
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
  private inputSearchAttributes = false;
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
  /** The details this state set last (anything else there was set by the workflow itself). */
  private lastDetails = '';
  private ownDetails = '';
  /** Something shown in the details changed since they were last set (at the end of an activation). */
  private detailsChanged = false;
  /** Each row's rendered line, until the row changes (a row changes twice, the details many times). */
  private readonly rowLines = new WeakMap<DetailRow, string>();

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
    const root = incoming?.root ?? (info.root ? { ...info.root } : self);
    const parent = info.parent
      ? { workflowId: info.parent.workflowId, runId: info.parent.runId }
      : incoming?.parent;
    this.header = { v: 1, pipelineRun: incoming?.pipelineRun ?? root, root, ...(parent ? { parent } : {}) };
    if (this.searchAttributes && patched(SEARCH_ATTRIBUTES_PATCH)) {
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
    this.detailsChanged = true;
  }

  /**
   * At the end of each activation, sets the workflow's current details when they changed: once
   * per activation, not once per activity event (the details produce no command, and are only
   * read by the metadata query, which runs in an activation of its own).
   */
  concludeActivation(): void {
    if (!this.detailsChanged) return;
    this.detailsChanged = false;
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
      rowLine: (row) => {
        let line = this.rowLines.get(row);
        if (line === undefined) {
          line = renderDetailRow(this.ui, row);
          this.rowLines.set(row, line);
        }
        return line;
      },
    });
    // Details the workflow set itself (since our last update) stay, above ours.
    const current = getCurrentDetails();
    if (current !== this.lastDetails) this.ownDetails = current;
    const details = this.ownDetails ? `${this.ownDetails}\n\n---\n\n${ours}` : ours;
    this.lastDetails = details;
    setCurrentDetails(details);
  }

  /** The header for activities of this workflow (encoded once). */
  activityHeader(): Headers[string] {
    this.headerPayload ??= defaultPayloadConverter.toPayload(this.header);
    return this.headerPayload;
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

  begin(
    activityId: string,
    activityType: string,
    local: boolean,
    args: unknown[],
  ): { run: WorkflowLineageRun; row: DetailRow; summary: string | undefined } {
    const info = workflowInfo();
    const inputs = findPointers(args, POINTER_LIMITS);
    const dependsOn = [...new Set(inputs.flatMap((uri) => this.producers.get(uri) ?? []))];
    const run: WorkflowLineageRun = {
      activityId,
      activityType,
      local,
      status: 'running',
      scheduledAt: new Date().toISOString(),
      runKeyPrefix: `temporal:${info.namespace}/${info.workflowId}/${info.runId}/${activityId}/`,
      inputs,
      outputs: [],
      dependsOn,
    };
    this.runs.push(run);
    if (this.runs.length > MAX_QUERY_RUNS) {
      this.runs.shift();
      this.omittedRuns++;
    }
    const shownInputs = withVersions(inputs, pointerVersions(args));
    const output = declaredOutput(args, inputs);
    const row: DetailRow = {
      activityType,
      status: 'running',
      runKeyPrefix: run.runKeyPrefix,
      inputs: shownInputs,
      outputs: [],
    };
    this.counts.running++;
    this.rows.push(row);
    if (this.rows.length > MAX_DETAIL_ROWS) {
      this.rows.shift();
      this.omittedRows++;
    }
    this.detailsChanged = true;
    const summary = this.summaries
      ? activitySummary(shownInputs, output ? shownInputs.find((p) => p.uri === output) : undefined) ||
        undefined
      : undefined;
    return { run, row, summary };
  }

  /**
   * Adds the inputs of a finished call to `MltraceInputs` (behind its patch); returns the upsert
   * entry when some are new, for the caller to send in one command with the outputs'.
   */
  private noteInputs(row: DetailRow): Array<{ key: typeof MLTRACE_INPUTS; value: string[] }> {
    if (!this.inputSearchAttributes) return [];
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

  /** Ends a row of the details (its outputs or error are set next, before the details are rendered). */
  private endRow(row: DetailRow, status: DetailRow['status']): void {
    this.counts.running--;
    this.counts[status]++;
    row.status = status;
    this.rowLines.delete(row);
    this.detailsChanged = true;
  }

  succeeded(run: WorkflowLineageRun, row: DetailRow, result: unknown): void {
    run.status = 'succeeded';
    run.endedAt = new Date().toISOString();
    run.outputs = findPointers(result, POINTER_LIMITS);
    this.endRow(row, 'succeeded');
    row.outputs = withVersions(run.outputs, pointerVersions(result));
    // A call that read no pointer and returned a model version looked it up (the current
    // champion), it did not make it: not a model this workflow registered or promoted.
    const lookup = run.inputs.length === 0;
    for (const pointer of lookup ? [] : row.outputs) {
      const kind = modelKind(pointer.uri);
      if (kind && this.models.size < 50) this.models.set(keyword(pointer), { pointer, kind });
    }
    const inputs = this.noteInputs(row);
    let changed = false;
    for (const uri of run.outputs) {
      this.producers.set(uri, run.activityId);
      const keyword = uri.slice(0, MAX_KEYWORD_CHARS);
      if (!this.outputs.has(keyword) && this.outputs.size < MAX_KEYWORDS) {
        this.outputs.add(keyword);
        changed = true;
      }
      // Since the v2 patch, what a call looked up is not among the versions the workflow produced.
      const produced = !(lookup && this.inputSearchAttributes);
      if (
        produced &&
        isModelPointer(uri) &&
        !this.modelVersions.has(keyword) &&
        this.modelVersions.size < MAX_KEYWORDS
      ) {
        this.modelVersions.add(keyword);
        changed = true;
      }
    }
    if (changed && this.searchAttributes && patched(SEARCH_ATTRIBUTES_PATCH)) {
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
  }

  failed(run: WorkflowLineageRun, row: DetailRow, err: unknown): void {
    run.status = isCancellation(err) ? 'cancelled' : 'failed';
    run.endedAt = new Date().toISOString();
    run.error = errorOf(err);
    this.endRow(row, run.status);
    row.error = run.error.message;
    const inputs = this.noteInputs(row);
    if (inputs.length > 0) upsertSearchAttributes(inputs);
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
      runs: this.runs.map((run) => ({ ...run })),
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
    Object.defineProperty(promise, 'constructor', { value: NO_PROMISE, configurable: true });
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
    return next(input);
  }
}

class LineageInternalsInterceptor implements WorkflowInternalsInterceptor {
  constructor(private readonly state: LineageState) {}

  concludeActivation(
    input: ConcludeActivationInput,
    next: Next<WorkflowInternalsInterceptor, 'concludeActivation'>,
  ): ConcludeActivationOutput {
    this.state.concludeActivation();
    return next(input);
  }
}

class LineageOutboundInterceptor implements WorkflowOutboundCallsInterceptor {
  constructor(private readonly state: LineageState) {}

  /**
   * Records the call and returns the SDK's own promise: the state is updated by side reactions
   * registered before the workflow's, so the interceptor adds no extra microtask ticks to the
   * workflow's own continuations (command order stays what it is without the plugin).
   */
  private track(
    activityId: string,
    activityType: string,
    local: boolean,
    args: unknown[],
    call: (summary: string | undefined) => Promise<unknown>,
  ): Promise<unknown> {
    const { run, row, summary } = this.state.begin(activityId, activityType, local, args);
    const promise = call(summary);
    observe(
      promise,
      (result) => this.state.succeeded(run, row, result),
      (err: unknown) => this.state.failed(run, row, err),
    );
    return promise;
  }

  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>) {
    const activityId = input.options.activityId ?? `${input.seq}`;
    return this.track(activityId, input.activityType, false, input.args, (summary) =>
      next({
        ...input,
        // A summary the workflow gave the call wins.
        ...(summary && !input.options.summary ? { options: { ...input.options, summary } } : {}),
        headers: { ...input.headers, [LINEAGE_HEADER]: this.state.activityHeader() },
      }),
    );
  }

  scheduleLocalActivity(
    input: LocalActivityInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>,
  ) {
    return this.track(`${input.seq}`, input.activityType, true, input.args, (summary) =>
      next({
        ...input,
        ...(summary && !input.options.summary ? { options: { ...input.options, summary } } : {}),
        headers: { ...input.headers, [LINEAGE_HEADER]: this.state.activityHeader() },
      }),
    );
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
    return next({ ...input, headers: this.state.onward(input.headers, this.state.activityHeader()) });
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
