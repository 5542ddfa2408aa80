import { createHash } from 'node:crypto';
import { type IOPointer, type Logger, silentLogger, UnavailableError } from '@mltrace/core';
import type { LineageStore, RunSummary } from '@mltrace/store';
import { uriToDataset } from './naming.js';
import {
  type Facets,
  type OpenLineageDataset,
  type OpenLineageRunEvent,
  RUN_EVENT_SCHEMA_URL,
} from './types.js';

/** The producer URI of the events mltrace emits. */
export const MLTRACE_PRODUCER = 'urn:mltrace:server:0.1.0';
/** `_schemaURL` of the custom `mltrace` run facet (the original run key, source, attempt). */
export const MLTRACE_FACET_SCHEMA_URL = 'urn:mltrace:facets:MltraceRunFacet:1-0-0';

const FACET_SCHEMA = {
  version:
    'https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet',
  errorMessage:
    'https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet',
  parent: 'https://openlineage.io/spec/facets/1-0-1/ParentRunFacet.json#/$defs/ParentRunFacet',
  datasetType:
    'https://openlineage.io/spec/facets/1-0-1/DatasetTypeDatasetFacet.json#/$defs/DatasetTypeDatasetFacet',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A stable UUID (version 5 layout, SHA-1) for a run key: re-exporting a run gives the same runId. */
export function runIdForKey(runKey: string): string {
  const h = createHash('sha1').update(`mltrace:${runKey}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Options of {@link runToOpenLineageEvents}. */
export interface RunEventOptions {
  /** The job namespace of exported runs. @default 'mltrace' */
  namespace?: string;
  /** The `producer` of the events. @default {@link MLTRACE_PRODUCER} */
  producer?: string;
}

function dataset(p: IOPointer, producer: string): OpenLineageDataset {
  const { namespace, name } = uriToDataset(p.uri);
  const facets: Facets = {};
  if (p.version)
    facets.version = { _producer: producer, _schemaURL: FACET_SCHEMA.version, datasetVersion: p.version };
  if (p.type === 'model') {
    facets.datasetType = { _producer: producer, _schemaURL: FACET_SCHEMA.datasetType, datasetType: 'MODEL' };
  }
  return Object.keys(facets).length ? { namespace, name, facets } : { namespace, name };
}

/**
 * The OpenLineage RunEvents of one run: START at its start time, then COMPLETE, FAIL or ABORT at
 * its end (a run still running or pending gives START only). The job is `<namespace>/<component>`,
 * the runId a stable UUID of the run key; a custom `mltrace` run facet keeps the original run key.
 */
export function runToOpenLineageEvents(
  run: RunSummary,
  options: RunEventOptions = {},
): OpenLineageRunEvent[] {
  const producer = options.producer ?? MLTRACE_PRODUCER;
  const runFacets: Facets = {
    mltrace: {
      _producer: producer,
      _schemaURL: MLTRACE_FACET_SCHEMA_URL,
      runKey: run.runKey,
      source: run.source,
      status: run.status,
      ...(run.attempt === null ? {} : { attempt: run.attempt }),
      ...(run.gitCommit === null ? {} : { gitCommit: run.gitCommit }),
    },
  };
  const wf = run.workflow;
  if (wf.runId && UUID.test(wf.runId) && (wf.workflowType || wf.workflowId)) {
    runFacets.parent = {
      _producer: producer,
      _schemaURL: FACET_SCHEMA.parent,
      run: { runId: wf.runId },
      job: { namespace: wf.namespace ?? 'default', name: (wf.workflowType || wf.workflowId)! },
    };
  }
  const base = {
    producer,
    schemaURL: RUN_EVENT_SCHEMA_URL,
    job: { namespace: options.namespace ?? 'mltrace', name: run.component },
    inputs: run.inputs.map((p) => dataset(p, producer)),
    outputs: run.outputs.map((p) => dataset(p, producer)),
  };
  const runId = runIdForKey(run.runKey);
  const events: OpenLineageRunEvent[] = [
    {
      ...base,
      eventType: 'START',
      eventTime: run.startedAt.toISOString(),
      run: { runId, facets: runFacets },
    },
  ];
  const end = { succeeded: 'COMPLETE', failed: 'FAIL', cancelled: 'ABORT' } as const;
  if (run.status === 'succeeded' || run.status === 'failed' || run.status === 'cancelled') {
    const facets: Facets = {};
    if (run.error) {
      facets.errorMessage = {
        _producer: producer,
        _schemaURL: FACET_SCHEMA.errorMessage,
        message: run.error.message,
        programmingLanguage: 'unknown',
      };
    }
    events.push({
      ...base,
      eventType: end[run.status],
      eventTime: (run.endedAt ?? run.startedAt).toISOString(),
      run: { runId, facets: { ...runFacets, ...facets } },
    });
  }
  return events;
}

/** Options of {@link exportOpenLineage}. */
export interface ExportOpenLineageOptions extends RunEventOptions {
  store: LineageStore;
  /** Base URL of the receiver (Marquez, or another mltrace server), e.g. `http://marquez:5000`. */
  url: string;
  /** Path of the lineage endpoint under `url`. @default 'api/v1/lineage' */
  endpoint?: string;
  /** Export runs that started at or after this time. @default every run */
  since?: Date;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
  /** @default silentLogger */
  logger?: Logger;
  /** Stop after this many runs (oldest first). @default 100_000 */
  maxRuns?: number;
}

/** What {@link exportOpenLineage} sent. */
export interface ExportOpenLineageResult {
  runs: number;
  events: number;
}

/**
 * Sends the store's runs as OpenLineage RunEvents to a receiver's `POST /api/v1/lineage`, oldest
 * first (so the receiver infers dependencies as runs arrive), one event per request as Marquez
 * takes them. Idempotent: a run always gets the same runId. Throws UnavailableError on the first
 * event the receiver refuses.
 */
export async function exportOpenLineage(options: ExportOpenLineageOptions): Promise<ExportOpenLineageResult> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const logger = options.logger ?? silentLogger;
  const maxRuns = options.maxRuns ?? 100_000;
  const target = new URL(
    options.endpoint ?? 'api/v1/lineage',
    options.url.endsWith('/') ? options.url : `${options.url}/`,
  );
  const since = options.since?.getTime() ?? Number.NEGATIVE_INFINITY;

  const runs: RunSummary[] = [];
  let cursor: string | undefined;
  collect: for (;;) {
    const page = await options.store.recent({ limit: 500, ...(cursor === undefined ? {} : { cursor }) });
    for (const run of page.runs) {
      if (run.startedAt.getTime() < since) break collect;
      runs.push(run);
    }
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  runs.reverse();
  if (runs.length > maxRuns) runs.length = maxRuns;

  let events = 0;
  for (const run of runs) {
    for (const event of runToOpenLineageEvents(run, options)) {
      let response: Response;
      try {
        response = await doFetch(target, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          },
          body: JSON.stringify(event),
        });
      } catch (cause) {
        throw new UnavailableError(
          `cannot reach the OpenLineage receiver ${target.origin}: ${(cause as Error).message}`,
          {
            cause,
          },
        );
      }
      if (!response.ok) {
        const text = (await response.text().catch(() => '')).slice(0, 500);
        throw new UnavailableError(
          `the OpenLineage receiver answered ${response.status} to run ${run.runKey}: ${text}`,
          { hint: response.status === 401 || response.status === 403 ? 'check the token' : undefined },
        );
      }
      await response.body?.cancel().catch(() => {});
      events += 1;
    }
  }
  logger.info('exported runs as OpenLineage events', { runs: runs.length, events, target: target.origin });
  return { runs: runs.length, events };
}
