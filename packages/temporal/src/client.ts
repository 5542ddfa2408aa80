import type {
  Next,
  WorkflowClientInterceptor,
  WorkflowSignalWithStartInput,
  WorkflowStartInput,
  WorkflowStartOutput,
} from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { currentLineage } from './activity.js';
import { withVersions, workflowSummary } from './workflow/details.js';
import { asLineageHeader, LINEAGE_HEADER, type LineageHeader, UI_HEADER } from './workflow/header.js';
import { scanPointers } from './workflow/pointers.js';
import { DEFAULT_REDACT_KEYS, secretKeyTest } from './workflow/redact.js';

/** Options of {@link MltraceWorkflowClientInterceptor}. */
export interface MltraceClientInterceptorOptions {
  /**
   * The mltrace UI base URL the started workflows link to (their {@link UI_HEADER}).
   * @default none: workflows link to http://localhost:8000
   */
  uiUrl?: string;
  /**
   * Give each started workflow a static summary (`staticSummary`) naming its type and the
   * pointers its arguments read, unless the caller gave one.
   * @default true
   */
  staticSummary?: boolean;
}

const SUMMARY_LIMITS = {
  maxPointers: 8,
  maxDepth: 6,
  maxNodes: 500,
  isSecretKey: secretKeyTest(DEFAULT_REDACT_KEYS),
};

/**
 * The lineage header for a workflow started from inside an activity attempt: the new workflow
 * joins the activity's pipeline run, with the activity's workflow as its parent. Undefined
 * outside an activity.
 */
function headerForStart(): Payload | undefined {
  const current = currentLineage();
  const execution = current?.info.workflowExecution;
  if (!current || !execution) return undefined;
  let incoming: LineageHeader | undefined;
  try {
    incoming = current.header
      ? asLineageHeader(defaultPayloadConverter.fromPayload(current.header))
      : undefined;
  } catch {
    incoming = undefined;
  }
  const self = { workflowId: execution.workflowId, runId: execution.runId };
  const header: LineageHeader = {
    v: 1,
    pipelineRun: incoming?.pipelineRun ?? self,
    root: incoming?.root ?? self,
    parent: self,
  };
  return defaultPayloadConverter.toPayload(header);
}

/**
 * Client interceptor of the plugin. A workflow it starts gets:
 * - when started inside an activity (e.g. with `Context.current().client`), the activity's
 *   pipeline context in its lineage header;
 * - the mltrace UI base URL its page links to ({@link UI_HEADER}), when one is configured;
 * - a static summary naming its type and what its arguments read, unless the caller gave one.
 */
export class MltraceWorkflowClientInterceptor implements WorkflowClientInterceptor {
  private readonly uiPayload: Payload | undefined;
  private readonly staticSummary: boolean;

  constructor(options: MltraceClientInterceptorOptions = {}) {
    this.uiPayload = options.uiUrl ? defaultPayloadConverter.toPayload(options.uiUrl) : undefined;
    this.staticSummary = options.staticSummary ?? true;
  }

  private headers(headers: WorkflowStartInput['headers']): WorkflowStartInput['headers'] {
    const lineage = headers[LINEAGE_HEADER] ? undefined : headerForStart();
    const ui = headers[UI_HEADER] ? undefined : this.uiPayload;
    return {
      ...headers,
      ...(lineage ? { [LINEAGE_HEADER]: lineage } : {}),
      ...(ui ? { [UI_HEADER]: ui } : {}),
    };
  }

  private options<T extends WorkflowStartInput['options']>(workflowType: string, options: T): T {
    if (!this.staticSummary || options.staticSummary !== undefined) return options;
    const args = options.args ?? [];
    const { uris, versions } = scanPointers(args, SUMMARY_LIMITS);
    const inputs = withVersions(uris, versions);
    return { ...options, staticSummary: workflowSummary(workflowType, inputs) };
  }

  startWithDetails(
    input: WorkflowStartInput,
    next: Next<WorkflowClientInterceptor, 'startWithDetails'>,
  ): Promise<WorkflowStartOutput> {
    return next({
      ...input,
      headers: this.headers(input.headers),
      options: this.options(input.workflowType, input.options),
    });
  }

  signalWithStart(
    input: WorkflowSignalWithStartInput,
    next: Next<WorkflowClientInterceptor, 'signalWithStart'>,
  ): Promise<string> {
    return next({
      ...input,
      headers: this.headers(input.headers),
      options: this.options(input.workflowType, input.options),
    });
  }
}
