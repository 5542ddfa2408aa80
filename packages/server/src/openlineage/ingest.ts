import type { ComponentRun, ComponentRunInput, PointerInput, RunStatus } from '@mltrace/core';
import type { LineageStore, LogResult } from '@mltrace/store';
import { datasetToUri } from './naming.js';
import type { EventType, Facets, OpenLineageDataset, OpenLineageRunEvent } from './types.js';
import { type EventKind, validateOpenLineageEvent } from './validate.js';

/** The run key of an OpenLineage run: `openlineage:<namespace>/<job>/<runId>`. */
export function openLineageRunKey(namespace: string, job: string, runId: string): string {
  return `openlineage:${namespace}/${job}/${runId.toLowerCase()}`;
}

/** The component an OpenLineage job maps to: `<namespace>/<name>`. */
export function openLineageComponent(namespace: string, job: string): string {
  return `${namespace}/${job}`;
}

const STATUS: Record<EventType, RunStatus | undefined> = {
  START: 'running',
  RUNNING: 'running',
  COMPLETE: 'succeeded',
  FAIL: 'failed',
  ABORT: 'cancelled',
  OTHER: undefined,
};

const TERMINAL = new Set<EventType>(['COMPLETE', 'FAIL', 'ABORT']);

/** Facets never kept in metadata: they may carry secrets. */
const DROPPED_FACETS = new Set(['environmentVariables', 'environment-properties']);
/** Facets other than the well-known ones are kept when they are this small (serialised). */
const MAX_OTHER_FACET_CHARS = 2048;
const KNOWN_FACETS = new Set([
  'parent',
  'nominalTime',
  'processing_engine',
  'errorMessage',
  'executionParameters',
  'tags',
  'jobDependencies',
  'jobType',
  'ownership',
  'documentation',
  'sourceCodeLocation',
  'sql',
  'mltrace',
]);

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function facet(facets: Facets | undefined, name: string): Record<string, unknown> | undefined {
  const f = facets?.[name];
  return f && typeof f === 'object' ? (f as Record<string, unknown>) : undefined;
}

/** A facet without its `_producer` / `_schemaURL` bookkeeping. */
function strip(f: Record<string, unknown>): Record<string, unknown> {
  const { _producer: _p, _schemaURL: _s, ...rest } = f;
  return rest;
}

function keptFacets(prefix: string, facets: Facets | undefined, skip: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(facets ?? {})) {
    if (skip.includes(name) || DROPPED_FACETS.has(name) || !value || typeof value !== 'object') continue;
    const body = strip(value as Record<string, unknown>);
    if (!KNOWN_FACETS.has(name) && JSON.stringify(body).length > MAX_OTHER_FACET_CHARS) continue;
    out[`${prefix}.${name}`] = body;
  }
  return out;
}

function pointer(dataset: OpenLineageDataset): PointerInput {
  const version = str(facet(dataset.facets, 'version')?.datasetVersion);
  const datasetType = str(facet(dataset.facets, 'datasetType')?.datasetType)?.toUpperCase();
  return {
    uri: datasetToUri(dataset.namespace, dataset.name),
    ...(version === undefined ? {} : { version }),
    ...(datasetType === 'MODEL' ? { type: 'model' as const } : {}),
  };
}

function validDate(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * Maps one (validated) OpenLineage RunEvent to a ComponentRun: the job to the component
 * `<namespace>/<name>`, the run id to the run key `openlineage:<namespace>/<job>/<runId>`,
 * START/RUNNING/COMPLETE/FAIL/ABORT to running/running/succeeded/failed/cancelled, datasets to
 * pointers (dataset `version` facet as the version), the `parent` facet to the workflow context,
 * the event time to `startedAt` (START) or `endedAt` (COMPLETE/FAIL/ABORT).
 *
 * `existing` is the run already stored under that key, if any: an end event keeps its start
 * time, and an OTHER event its status.
 */
export function openLineageToRun(event: OpenLineageRunEvent, existing?: ComponentRun): ComponentRunInput {
  const { job, run } = event;
  const type: EventType = event.eventType ?? 'OTHER';
  const eventTime = new Date(event.eventTime);
  const nominalStart = validDate(str(facet(run.facets, 'nominalTime')?.nominalStartTime));
  const startedAt = type === 'START' ? eventTime : (existing?.startedAt ?? nominalStart ?? eventTime);
  const endedAt = TERMINAL.has(type)
    ? new Date(Math.max(eventTime.getTime(), startedAt.getTime()))
    : undefined;
  const status = STATUS[type] ?? existing?.status ?? 'running';

  const parent = facet(run.facets, 'parent');
  const parentJob = parent?.job as { namespace?: unknown; name?: unknown } | undefined;
  const parentRun = parent?.run as { runId?: unknown } | undefined;
  const root = parent?.root as { job?: { name?: unknown } } | undefined;
  const workflow =
    parent === undefined
      ? undefined
      : {
          namespace: str(parentJob?.namespace),
          workflowId: str(parentJob?.name),
          workflowType: str(parentJob?.name),
          runId: str(parentRun?.runId),
          rootWorkflowId: str(root?.job?.name),
        };

  const errorFacet = facet(run.facets, 'errorMessage');
  const errorMessage = str(errorFacet?.message);
  const sourceCodeLocation = facet(job.facets, 'sourceCodeLocation');
  const sourceCode = str(facet(job.facets, 'sourceCode')?.sourceCode);

  const metadata: Record<string, unknown> = {
    'openlineage.job': { namespace: job.namespace, name: job.name },
    'openlineage.runId': run.runId,
    'openlineage.producer': event.producer,
    'openlineage.lastEventType': type,
    ...keptFacets('openlineage.run', run.facets, []),
    ...keptFacets('openlineage.job', job.facets, ['sourceCode']),
  };

  const input: ComponentRunInput = {
    component: openLineageComponent(job.namespace, job.name),
    runKey: openLineageRunKey(job.namespace, job.name, run.runId),
    source: 'openlineage',
    status,
    startedAt,
    ...(endedAt === undefined ? {} : { endedAt }),
    metadata,
    inputs: (event.inputs ?? []).map(pointer),
    outputs: (event.outputs ?? []).map(pointer),
  };
  const commit = str(sourceCodeLocation?.version);
  if (commit !== undefined) input.gitCommit = commit;
  if (sourceCode !== undefined) input.codeSnapshot = sourceCode;
  if (errorMessage !== undefined) input.error = { message: errorMessage };
  if (workflow !== undefined) {
    input.workflow = Object.fromEntries(
      Object.entries(workflow).filter(([, v]) => v !== undefined),
    ) as ComponentRunInput['workflow'];
  }
  return input;
}

/** What ingesting one event did. */
export interface IngestResult {
  kind: EventKind;
  /** The run written (RunEvents only). */
  run?: { id: number; runKey: string; created: boolean };
  /** Why nothing was written (JobEvent, DatasetEvent). */
  ignored?: string;
}

/**
 * Validates an OpenLineage event and writes it: a RunEvent becomes (or updates) one ComponentRun;
 * the job's `documentation` and `ownership` facets describe its component. Runless JobEvents and
 * DatasetEvents are validated and acknowledged but not stored (the store has no place for them).
 */
export async function ingestOpenLineageEvent(store: LineageStore, body: unknown): Promise<IngestResult> {
  const kind = validateOpenLineageEvent(body);
  if (kind !== 'RunEvent') {
    return { kind, ignored: `${kind}s carry no run; mltrace stores runs only` };
  }
  const event = body as OpenLineageRunEvent;
  const runKey = openLineageRunKey(event.job.namespace, event.job.name, event.run.runId);
  const existing = await store.run(runKey).catch((error: unknown) => {
    if ((error as { code?: string }).code === 'not_found') return undefined;
    throw error;
  });
  const result: LogResult = await store.logRuns([openLineageToRun(event, existing)]);
  const description = str(facet(event.job.facets, 'documentation')?.description);
  const owners = facet(event.job.facets, 'ownership')?.owners;
  const owner = Array.isArray(owners) ? str((owners[0] as { name?: unknown } | undefined)?.name) : undefined;
  if (description !== undefined || owner !== undefined) {
    await store.createComponent({
      name: openLineageComponent(event.job.namespace, event.job.name),
      ...(description === undefined ? {} : { description }),
      ...(owner === undefined ? {} : { owner }),
    });
  }
  return { kind, run: result.runs[0]! };
}
