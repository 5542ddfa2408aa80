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
  type ContinueAsNewInput,
  defaultPayloadConverter,
  defineQuery,
  type Headers,
  isCancellation,
  type LocalActivityInput,
  type Next,
  patched,
  type StartChildWorkflowExecutionInput,
  setHandler,
  upsertSearchAttributes,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptors,
  type WorkflowInterceptorsFactory,
  type WorkflowOutboundCallsInterceptor,
  workflowInfo,
} from '@temporalio/workflow';
import { asLineageHeader, type ExecutionRef, LINEAGE_HEADER, type LineageHeader } from './header.js';
import { findPointers, looksLikePointer } from './pointers.js';
import { DEFAULT_REDACT_KEYS, secretKeyTest } from './redact.js';

export { asLineageHeader, type ExecutionRef, LINEAGE_HEADER, type LineageHeader } from './header.js';

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

/** The `patched()` id guarding the search-attribute upserts. */
export const SEARCH_ATTRIBUTES_PATCH = 'mltrace-search-attributes-v1';

/** At most this many values per KeywordList search attribute, each at most this many characters. */
const MAX_KEYWORDS = 50;
const MAX_KEYWORD_CHARS = 256;

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

  begin(activityId: string, activityType: string, local: boolean, args: unknown[]): WorkflowLineageRun {
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
    return run;
  }

  succeeded(run: WorkflowLineageRun, result: unknown): void {
    run.status = 'succeeded';
    run.endedAt = new Date().toISOString();
    run.outputs = findPointers(result, POINTER_LIMITS);
    let changed = false;
    for (const uri of run.outputs) {
      this.producers.set(uri, run.activityId);
      const keyword = uri.slice(0, MAX_KEYWORD_CHARS);
      if (!this.outputs.has(keyword) && this.outputs.size < MAX_KEYWORDS) {
        this.outputs.add(keyword);
        changed = true;
      }
      if (isModelPointer(uri) && !this.modelVersions.has(keyword) && this.modelVersions.size < MAX_KEYWORDS) {
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
      ]);
    }
  }

  failed(run: WorkflowLineageRun, err: unknown): void {
    run.status = isCancellation(err) ? 'cancelled' : 'failed';
    run.endedAt = new Date().toISOString();
    run.error = errorOf(err);
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
    call: () => Promise<unknown>,
  ): Promise<unknown> {
    const run = this.state.begin(activityId, activityType, local, args);
    const promise = call();
    promise.then(
      (result) => this.state.succeeded(run, result),
      (err: unknown) => this.state.failed(run, err),
    );
    return promise;
  }

  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>) {
    const activityId = input.options.activityId ?? `${input.seq}`;
    return this.track(activityId, input.activityType, false, input.args, () =>
      next({ ...input, headers: { ...input.headers, [LINEAGE_HEADER]: this.state.activityHeader() } }),
    );
  }

  scheduleLocalActivity(
    input: LocalActivityInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>,
  ) {
    return this.track(`${input.seq}`, input.activityType, true, input.args, () =>
      next({ ...input, headers: { ...input.headers, [LINEAGE_HEADER]: this.state.activityHeader() } }),
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
    const promise = next({
      ...input,
      headers: { ...input.headers, [LINEAGE_HEADER]: this.state.childHeader() },
    });
    const ignore = () => {};
    promise.then(([started, completed]) => {
      started.then((runId) => {
        child.runId = runId;
      }, ignore);
      completed.then(
        () => {
          child.status = 'succeeded';
        },
        (err: unknown) => {
          child.status = isCancellation(err) ? 'cancelled' : 'failed';
        },
      );
    }, ignore);
    return promise;
  }

  continueAsNew(input: ContinueAsNewInput, next: Next<WorkflowOutboundCallsInterceptor, 'continueAsNew'>) {
    return next({ ...input, headers: { ...input.headers, [LINEAGE_HEADER]: this.state.activityHeader() } });
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
    };
  };
}

/** The interceptors factory of this module (no search attributes), as `workflowModules` expects. */
export const interceptors: WorkflowInterceptorsFactory = createLineageInterceptors();

export { findPointers, looksLikePointer };
