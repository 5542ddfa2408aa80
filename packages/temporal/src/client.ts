import type {
  Next,
  WorkflowClientInterceptor,
  WorkflowSignalWithStartInput,
  WorkflowStartInput,
  WorkflowStartOutput,
} from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { currentLineage } from './activity.js';
import { asLineageHeader, LINEAGE_HEADER, type LineageHeader } from './workflow/header.js';

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
 * Client interceptor of the plugin: a workflow started by a client inside an activity (e.g. with
 * `Context.current().client`) carries the activity's pipeline context in its lineage header.
 */
export class MltraceWorkflowClientInterceptor implements WorkflowClientInterceptor {
  startWithDetails(
    input: WorkflowStartInput,
    next: Next<WorkflowClientInterceptor, 'startWithDetails'>,
  ): Promise<WorkflowStartOutput> {
    if (input.headers[LINEAGE_HEADER]) return next(input);
    const header = headerForStart();
    return next(header ? { ...input, headers: { ...input.headers, [LINEAGE_HEADER]: header } } : input);
  }

  signalWithStart(
    input: WorkflowSignalWithStartInput,
    next: Next<WorkflowClientInterceptor, 'signalWithStart'>,
  ): Promise<string> {
    if (input.headers[LINEAGE_HEADER]) return next(input);
    const header = headerForStart();
    return next(header ? { ...input, headers: { ...input.headers, [LINEAGE_HEADER]: header } } : input);
  }
}
