/**
 * The lineage header: the pipeline context a workflow hands to its activities, local activities,
 * child workflows and continue-as-new runs (and a client to the workflows it starts). Pure: shared
 * by the worker and the workflow sandbox. Headers are not codec-encoded and show in the event
 * history, so the header carries ids only, never values.
 */

/** Header key of the lineage context. */
export const LINEAGE_HEADER = 'mltrace-lineage';

/**
 * Header key of the mltrace UI base URL a workflow's page links to: set by the plugin's client on
 * the workflows it starts, handed on to child workflows and continue-as-new runs.
 */
export const UI_HEADER = 'mltrace-ui';

/** Validates a decoded {@link UI_HEADER} value: an http(s) base URL (anything else is ignored). */
export function asUiUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 512) return undefined;
  if (!/^https?:\/\/[^\s"'<>()[\]`]+$/i.test(value)) return undefined;
  return value.replace(/\/+$/, '');
}

/** A workflow execution. */
export interface ExecutionRef {
  workflowId: string;
  runId: string;
}

/** The pipeline context carried by {@link LINEAGE_HEADER}. */
export interface LineageHeader {
  /** Format version. */
  v: 1;
  /** The pipeline run: the root workflow execution (the first run of a continue-as-new chain). */
  pipelineRun: ExecutionRef;
  /** The root workflow execution of the chain of parents. */
  root?: ExecutionRef;
  /** The parent of the workflow that scheduled the activity (or of the child being started). */
  parent?: ExecutionRef;
}

function isRef(value: unknown): value is ExecutionRef {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ExecutionRef).workflowId === 'string' &&
    typeof (value as ExecutionRef).runId === 'string'
  );
}

/** Validates a decoded header value; anything malformed is ignored (undefined). */
export function asLineageHeader(value: unknown): LineageHeader | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const header = value as Partial<LineageHeader>;
  if (!isRef(header.pipelineRun)) return undefined;
  const out: LineageHeader = { v: 1, pipelineRun: ref(header.pipelineRun) };
  if (isRef(header.root)) out.root = ref(header.root);
  if (isRef(header.parent)) out.parent = ref(header.parent);
  return out;
}

function ref(value: ExecutionRef): ExecutionRef {
  return { workflowId: value.workflowId, runId: value.runId };
}
