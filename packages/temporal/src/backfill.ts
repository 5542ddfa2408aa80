import {
  type ComponentRunInput,
  InvalidInputError,
  NotFoundError,
  type RunStatus,
  temporalRunKey,
} from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload, type PayloadConverter } from '@temporalio/common';
import { componentOf, type RegisteredComponent } from './component.js';
import { RunDescriber } from './describe.js';
import { type MltracePluginOptions, resolveOptions } from './options.js';
import { scrubText } from './sanitize.js';
import { asLineageHeader, LINEAGE_HEADER, type LineageHeader } from './workflow/header.js';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

/** Options of {@link backfill}. */
export interface BackfillOptions
  extends Pick<
    MltracePluginOptions,
    | 'componentName'
    | 'pointers'
    | 'redactKeys'
    | 'maxPayloadChars'
    | 'maxStringChars'
    | 'recordValues'
    | 'logger'
    | 'cwd'
    | 'env'
  > {
  /** A Temporal client (its namespace is used unless `namespace` is given). */
  client: Client;
  /** The lineage store to complete. */
  store: LineageStore;
  /** Backfill this workflow: its latest run (or `runId`) and the runs it continued from. */
  workflowId?: string;
  /** With `workflowId`: this run only (and its predecessors). */
  runId?: string;
  /** Backfill every workflow this visibility query lists (e.g. `WorkflowType = "pipeline"`). */
  query?: string;
  /** @default the client's namespace */
  namespace?: string;
  /** Follow child workflows. @default true */
  children?: boolean;
  /** Follow continue-as-new chains (the runs a run continued from, and the run it continued as). @default true */
  continuedRuns?: boolean;
  /** At most this many workflow runs. @default 1000 */
  maxWorkflows?: number;
  /** The worker's activities, for their `component()` names and extractors. @default {} */
  activities?: object;
  /** Decodes argument and result payloads (no codec is applied). @default defaultPayloadConverter */
  payloadConverter?: PayloadConverter;
}

/** What {@link backfill} did. */
export interface BackfillResult {
  /** Workflow runs read. */
  workflows: number;
  /** Activity executions (final attempts) found in the histories. */
  activities: number;
  /** Runs that were missing and were written. */
  created: number;
  /**
   * Runs whose state was not final in the store (running, pending) and was completed from history:
   * final attempts, and the attempt before a retry when its worker died with it.
   */
  updated: number;
  /** Runs already in the store in their final state. */
  unchanged: number;
  /** Activities still scheduled or running (not in history yet); their attempts are logged by the worker. */
  pending: number;
}

function tsToDate(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): Date | undefined {
  if (!ts) return undefined;
  const seconds = Number(ts.seconds ?? 0);
  return new Date(seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6));
}

function decodeAll(converter: PayloadConverter, payloads: Payload[] | null | undefined): unknown[] {
  return (payloads ?? []).map((payload) => {
    try {
      return converter.fromPayload(payload);
    } catch {
      return undefined; // encoded by a codec, or a converter we do not have
    }
  });
}

function failureOf(
  failure:
    | { message?: string | null; applicationFailureInfo?: { type?: string | null } | null; cause?: unknown }
    | null
    | undefined,
): {
  message: string;
  type?: string;
} {
  const message = scrubText(failure?.message ?? 'failed');
  const type = failure?.applicationFailureInfo?.type ?? undefined;
  return type ? { message, type } : { message };
}

/** An activity execution reconstructed from its events. */
interface HistoryActivity {
  activityId: string;
  activityType: string;
  taskQueue: string | undefined;
  local: boolean;
  args: unknown[];
  header: LineageHeader | undefined;
  attempt: number | undefined;
  startedAt: Date | undefined;
  endedAt: Date | undefined;
  status: RunStatus | undefined;
  result?: unknown;
  error?: { message: string; type?: string };
  /** The failure of the attempt before the final one (the final attempt's started event has it). */
  previousFailure?: { message: string; type?: string };
}

interface WorkflowRunInfo {
  workflowId: string;
  runId: string;
  workflowType: string | undefined;
  taskQueue: string | undefined;
  parent: string | undefined;
  root: string | undefined;
  header: LineageHeader | undefined;
  continuedFrom: string | undefined;
  continuedTo: string | undefined;
  children: Array<{ workflowId: string; runId: string }>;
  activities: HistoryActivity[];
}

function decodeHeader(fields: Record<string, Payload> | null | undefined): LineageHeader | undefined {
  const payload = fields?.[LINEAGE_HEADER];
  if (!payload) return undefined;
  try {
    return asLineageHeader(defaultPayloadConverter.fromPayload(payload));
  } catch {
    return undefined;
  }
}

/** Local-activity marker data (written by Core as JSON, snake_case). */
function localActivityData(payload: Payload | undefined): Record<string, unknown> | undefined {
  if (!payload?.data) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(payload.data)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function markerTime(value: unknown): Date | undefined {
  if (typeof value === 'string') {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? undefined : date;
  }
  if (value && typeof value === 'object') return tsToDate(value as { seconds?: unknown; nanos?: number });
  return undefined;
}

/** Reads one run's history into its activities (final attempts), children and context. */
export function readHistory(
  workflowId: string,
  runId: string,
  history: History,
  converter: PayloadConverter = defaultPayloadConverter,
): WorkflowRunInfo {
  const info: WorkflowRunInfo = {
    workflowId,
    runId,
    workflowType: undefined,
    taskQueue: undefined,
    parent: undefined,
    root: undefined,
    header: undefined,
    continuedFrom: undefined,
    continuedTo: undefined,
    children: [],
    activities: [],
  };
  const byScheduled = new Map<string, HistoryActivity>();
  let lastTaskStart: Date | undefined;
  for (const event of history.events ?? ([] as HistoryEvent[])) {
    const time = tsToDate(event.eventTime);
    const id = String(event.eventId ?? '');
    const started = event.workflowExecutionStartedEventAttributes;
    if (started) {
      info.workflowType = started.workflowType?.name ?? undefined;
      info.taskQueue = started.taskQueue?.name ?? undefined;
      info.parent = started.parentWorkflowExecution?.workflowId ?? undefined;
      info.root = started.rootWorkflowExecution?.workflowId ?? undefined;
      info.header = decodeHeader(started.header?.fields as Record<string, Payload> | undefined);
      info.continuedFrom = started.continuedExecutionRunId || undefined;
      continue;
    }
    if (event.workflowTaskStartedEventAttributes) {
      lastTaskStart = time;
      continue;
    }
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const activity: HistoryActivity = {
        activityId: scheduled.activityId ?? id,
        activityType: scheduled.activityType?.name ?? 'unknown',
        taskQueue: scheduled.taskQueue?.name ?? undefined,
        local: false,
        args: decodeAll(converter, scheduled.input?.payloads as Payload[] | undefined),
        header: decodeHeader(scheduled.header?.fields as Record<string, Payload> | undefined),
        attempt: undefined,
        startedAt: undefined,
        endedAt: undefined,
        status: undefined,
      };
      byScheduled.set(id, activity);
      info.activities.push(activity);
      continue;
    }
    const activityStarted = event.activityTaskStartedEventAttributes;
    if (activityStarted) {
      const activity = byScheduled.get(String(activityStarted.scheduledEventId ?? ''));
      if (activity) {
        activity.attempt = activityStarted.attempt ?? 1;
        activity.startedAt = time;
        const last = activityStarted.lastFailure;
        if (last && activity.attempt > 1) {
          activity.previousFailure = last.timeoutFailureInfo
            ? { ...failureOf(last), type: 'TimeoutFailure' }
            : failureOf(last);
        }
      }
      continue;
    }
    const completed = event.activityTaskCompletedEventAttributes;
    const failed = event.activityTaskFailedEventAttributes;
    const timedOut = event.activityTaskTimedOutEventAttributes;
    const canceled = event.activityTaskCanceledEventAttributes;
    const end = completed ?? failed ?? timedOut ?? canceled;
    if (end) {
      const activity = byScheduled.get(String(end.scheduledEventId ?? ''));
      if (!activity) continue;
      activity.endedAt = time;
      if (completed) {
        activity.status = 'succeeded';
        activity.result = decodeAll(converter, completed.result?.payloads as Payload[] | undefined)[0];
      } else if (failed) {
        activity.status = 'failed';
        activity.error = failureOf(failed.failure);
      } else if (timedOut) {
        activity.status = 'failed';
        activity.error = { ...failureOf(timedOut.failure), type: 'TimeoutFailure' };
      } else {
        activity.status = 'cancelled';
        activity.error = { message: 'CANCELLED', type: 'CancelledFailure' };
      }
      continue;
    }
    const marker = event.markerRecordedEventAttributes;
    if (marker && marker.markerName === 'core_local_activity') {
      const details = (marker.details ?? {}) as Record<string, { payloads?: Payload[] | null }>;
      const data = localActivityData(details.data?.payloads?.[0] ?? undefined);
      if (!data) continue;
      const pick = (snake: string, camel: string) => data[snake] ?? data[camel];
      const endedAt = markerTime(pick('complete_time', 'completeTime')) ?? time;
      const startedAt = lastTaskStart && endedAt && lastTaskStart <= endedAt ? lastTaskStart : endedAt;
      const resultPayload = details.result?.payloads?.[0] ?? undefined;
      info.activities.push({
        activityId: String(pick('activity_id', 'activityId') ?? pick('seq', 'seq') ?? id),
        activityType: String(pick('activity_type', 'activityType') ?? 'unknown'),
        taskQueue: info.taskQueue,
        local: true,
        args: [],
        header: undefined,
        attempt: Number(pick('attempt', 'attempt') ?? 1) || 1,
        startedAt,
        endedAt,
        status: marker.failure ? 'failed' : 'succeeded',
        ...(marker.failure
          ? { error: failureOf(marker.failure) }
          : { result: resultPayload ? decodeAll(converter, [resultPayload])[0] : undefined }),
      });
      continue;
    }
    const continued = event.workflowExecutionContinuedAsNewEventAttributes;
    if (continued?.newExecutionRunId) {
      info.continuedTo = continued.newExecutionRunId;
      continue;
    }
    const child = event.childWorkflowExecutionStartedEventAttributes;
    if (child?.workflowExecution?.workflowId && child.workflowExecution.runId) {
      info.children.push({
        workflowId: child.workflowExecution.workflowId,
        runId: child.workflowExecution.runId,
      });
    }
  }
  return info;
}

async function runIfAny(store: LineageStore, runKey: string) {
  try {
    return await store.run(runKey);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    return undefined;
  }
}

/**
 * Rebuilds missing ComponentRuns from Temporal's event histories, the source of truth: for every
 * activity execution in the selected workflows (final attempt; local activities from their
 * markers), writes the run if the store lacks it, and completes it if the store only has it as
 * `running` or `pending`; an attempt before a retry that the store still has as `running` (its
 * worker died with it) becomes `failed` with the failure the retry names. Idempotent by run key;
 * runs already final are left as they are (the worker's record is richer: code, git commit,
 * earlier attempts). Arguments and results are
 * decoded with the default payload converter for pointer discovery.
 *
 * @example
 * ```ts
 * const counts = await backfill({ client, store, workflowId: 'taxi-retraining-2024-06-01' });
 * ```
 */
export async function backfill(options: BackfillOptions): Promise<BackfillResult> {
  const { client, store } = options;
  const config = resolveOptions({ ...options, store });
  const describer = new RunDescriber(config);
  const namespace = options.namespace ?? client.options.namespace;
  const converter = options.payloadConverter ?? defaultPayloadConverter;
  const followChildren = options.children ?? true;
  const followContinued = options.continuedRuns ?? true;
  const maxWorkflows = options.maxWorkflows ?? 1000;
  const specs = new Map<string, RegisteredComponent>();
  for (const [name, fn] of Object.entries(options.activities ?? {})) {
    const spec = componentOf(fn);
    if (spec) specs.set(name, spec);
  }

  const result: BackfillResult = {
    workflows: 0,
    activities: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    pending: 0,
  };
  const queue: Array<{ workflowId: string; runId?: string }> = [];
  const visited = new Set<string>();
  if (options.workflowId)
    queue.push({ workflowId: options.workflowId, ...(options.runId ? { runId: options.runId } : {}) });
  if (options.query !== undefined) {
    for await (const execution of client.workflow.list({ query: options.query })) {
      queue.push({ workflowId: execution.workflowId, runId: execution.runId });
      if (queue.length >= maxWorkflows) break;
    }
  }
  if (!options.workflowId && options.query === undefined) {
    throw new InvalidInputError('backfill needs a workflow id or a visibility query', {
      hint: 'pass --workflow-id ID, or --query \'WorkflowType = "..."\'',
    });
  }

  while (queue.length > 0 && result.workflows < maxWorkflows) {
    const next = queue.shift()!;
    const handle = client.workflow.getHandle(next.workflowId, next.runId);
    let runId = next.runId;
    if (!runId) runId = (await handle.describe()).runId;
    const key = `${next.workflowId}/${runId}`;
    if (visited.has(key)) continue;
    visited.add(key);
    const history = await client.workflow.getHandle(next.workflowId, runId).fetchHistory();
    const run = readHistory(next.workflowId, runId, history, converter);
    result.workflows++;
    if (followContinued && run.continuedFrom)
      queue.push({ workflowId: run.workflowId, runId: run.continuedFrom });
    if (followContinued && run.continuedTo)
      queue.push({ workflowId: run.workflowId, runId: run.continuedTo });
    if (followChildren) for (const child of run.children) queue.push(child);

    const records: ComponentRunInput[] = [];
    for (const activity of run.activities) {
      if (!activity.status || activity.attempt === undefined) {
        result.pending++;
        continue;
      }
      result.activities++;
      const runKey = temporalRunKey({
        namespace,
        workflowId: run.workflowId,
        runId: run.runId,
        activityId: activity.activityId,
        attempt: activity.attempt,
      });
      const existing = await runIfAny(store, runKey);
      if (activity.previousFailure && activity.attempt > 1) {
        // The attempt before a retry, left running by a worker that died with it (SIGKILL, a
        // lost machine): the history's retry says how it ended.
        const previousKey = temporalRunKey({
          namespace,
          workflowId: run.workflowId,
          runId: run.runId,
          activityId: activity.activityId,
          attempt: activity.attempt - 1,
        });
        const previous = await runIfAny(store, previousKey);
        if (previous && (previous.status === 'running' || previous.status === 'pending')) {
          const endedAt = activity.startedAt ?? previous.startedAt;
          records.push({
            runKey: previousKey,
            component: previous.component,
            source: 'temporal',
            status: 'failed',
            startedAt: previous.startedAt,
            endedAt: new Date(Math.max(endedAt.getTime(), previous.startedAt.getTime())),
            attempt: activity.attempt - 1,
            workflow: previous.workflow,
            metadata: { backfilled: true },
            inputs: [],
            outputs: [],
            error: activity.previousFailure,
          });
          result.updated++;
        }
      }
      if (existing && existing.status !== 'running' && existing.status !== 'pending') {
        result.unchanged++;
        continue;
      }
      const header = activity.header ?? run.header;
      const spec = specs.get(activity.activityType);
      const startedAt = existing?.startedAt ?? activity.startedAt ?? activity.endedAt ?? new Date();
      const record: ComponentRunInput = {
        runKey,
        component:
          existing?.component ??
          config.componentName({
            activityType: activity.activityType,
            declared: spec?.name,
            workflowType: run.workflowType,
            isLocal: activity.local,
          }),
        source: 'temporal',
        status: activity.status,
        startedAt,
        endedAt: activity.endedAt && activity.endedAt >= startedAt ? activity.endedAt : startedAt,
        attempt: activity.attempt,
        workflow: {
          namespace,
          workflowId: run.workflowId,
          runId: run.runId,
          ...(run.workflowType ? { workflowType: run.workflowType } : {}),
          ...(activity.taskQueue ? { taskQueue: activity.taskQueue } : {}),
          ...((header?.parent?.workflowId ?? run.parent)
            ? { parentWorkflowId: header?.parent?.workflowId ?? run.parent }
            : {}),
          rootWorkflowId: header?.root?.workflowId ?? run.root ?? run.workflowId,
        },
        metadata: {
          activityType: activity.activityType,
          activityId: activity.activityId,
          isLocal: activity.local,
          backfilled: true,
          // No header and no parent: the workflow is its own pipeline run (the plugin sends none then).
          ...(header
            ? { pipelineRun: header.pipelineRun }
            : run.parent
              ? {}
              : { pipelineRun: { workflowId: run.workflowId, runId: run.runId } }),
          ...(config.recordValues && !existing ? { args: describer.preview(activity.args) } : {}),
          ...(config.recordValues && activity.status === 'succeeded' && activity.result !== undefined
            ? { result: describer.preview(activity.result) }
            : {}),
        },
        inputs: existing
          ? []
          : describer.pointers('inputs', activity.activityType, spec, activity.args, undefined),
        outputs:
          activity.status === 'succeeded'
            ? describer.pointers('outputs', activity.activityType, spec, activity.args, activity.result)
            : [],
      };
      if (activity.error) record.error = activity.error;
      records.push(record);
      if (existing) result.updated++;
      else result.created++;
    }
    // One batch per workflow run, in history order: producers before their consumers.
    if (records.length > 0) await store.logRuns(records);
  }
  return result;
}
