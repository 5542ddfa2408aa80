import {
  type ComponentRunInput,
  type Logger,
  type PointerInput,
  type RunStatus,
  temporalRunKey,
} from '@mltrace/core';
import { CompleteAsyncError, Context, type Info } from '@temporalio/activity';
import {
  ApplicationFailure,
  CancelledFailure,
  defaultPayloadConverter,
  type Payload,
} from '@temporalio/common';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import { type CheckResult, componentOf, type RegisteredComponent } from './component.js';
import { RunDescriber } from './describe.js';
import type { ResolvedOptions } from './options.js';
import { scrubText } from './sanitize.js';
import { asLineageHeader, LINEAGE_HEADER, type LineageHeader } from './workflow/header.js';
import type { LineageWriter } from './writer.js';

/**
 * What activity code adds to its own attempt's record through {@link addInput} and friends
 * (allocated on first use: most attempts add nothing).
 */
interface Collector {
  inputs?: Array<string | PointerInput>;
  outputs?: Array<string | PointerInput>;
  metadata?: Record<string, unknown>;
  /** The attempt's lineage header (for clients started inside the activity). */
  header: Payload | undefined;
  info: Info;
}

/**
 * The running attempts' collectors by their context: a Map, entries removed when the attempt
 * settles (a WeakMap's insert cost ~1 us and its entries are swept by the GC's ephemeron pass).
 */
const collectors = new Map<Context, Collector>();

function currentCollector(): Collector | undefined {
  try {
    return collectors.get(Context.current());
  } catch {
    return undefined; // not in an activity
  }
}

/**
 * Adds input pointers to the current activity attempt's run (from inside an activity; a no-op
 * returning false elsewhere, or when the worker has no mltrace plugin).
 */
export function addInput(...pointers: Array<string | PointerInput>): boolean {
  const collector = currentCollector();
  if (!collector) return false;
  collector.inputs ??= [];
  collector.inputs.push(...pointers);
  return true;
}

/** Adds output pointers to the current activity attempt's run; see {@link addInput}. */
export function addOutput(...pointers: Array<string | PointerInput>): boolean {
  const collector = currentCollector();
  if (!collector) return false;
  collector.outputs ??= [];
  collector.outputs.push(...pointers);
  return true;
}

/**
 * Adds free-form metadata to the current attempt's run (merged; redacted and size-capped like
 * arguments). Returns false outside an activity attempt recorded by mltrace.
 */
export function addMetadata(metadata: Record<string, unknown>): boolean {
  const collector = currentCollector();
  if (!collector) return false;
  collector.metadata ??= {};
  Object.assign(collector.metadata, metadata);
  return true;
}

/** The lineage context of the current activity attempt, for a client started inside it. */
export function currentLineage(): { header: Payload | undefined; info: Info } | undefined {
  const collector = currentCollector();
  return collector ? { header: collector.header, info: collector.info } : undefined;
}

/** The outcome of one `component()` check. */
export interface CheckOutcome {
  name: string;
  phase: 'before' | 'after';
  passed: boolean;
  message?: string;
}

async function runChecks(
  checks: RegisteredComponent['beforeRun'],
  phase: 'before' | 'after',
  args: unknown[],
): Promise<CheckOutcome[]> {
  const out: CheckOutcome[] = [];
  for (const { name, check } of checks) {
    let verdict: CheckResult;
    try {
      verdict = await check(...args);
    } catch (error) {
      out.push({
        name,
        phase,
        passed: false,
        message: error instanceof Error ? error.message : String(error),
      });
      continue;
    }
    if (verdict === false) out.push({ name, phase, passed: false });
    else if (typeof verdict === 'string') out.push({ name, phase, passed: false, message: verdict });
    else out.push({ name, phase, passed: true });
  }
  return out;
}

/** One registered activity. */
interface Registration {
  fn: unknown;
  spec: RegisteredComponent | undefined;
  code: string | undefined;
}

/**
 * The state of one attempt: references to what the SDK hands the interceptor (nothing copied,
 * nothing computed); the record is built from it at flush time, off the activity's path.
 */
interface Attempt extends Collector {
  registration: Registration | undefined;
  /** Epoch milliseconds. */
  startedAt: number;
  args: unknown[];
  checks?: CheckOutcome[];
  status: RunStatus;
  /** Epoch milliseconds. */
  endedAt?: number;
  result?: unknown;
  error?: unknown;
  cancelReason?: string;
  /** The worker's identity. */
  worker: string | undefined;
}

/**
 * What the activity interceptor has done, to check that the work stays off the activity's path:
 * the hot path (while the attempt runs) only counts `attempts`; everything else happens when a
 * record is built, at flush time.
 */
export interface RecorderStats {
  /** Attempts intercepted. */
  attempts: number;
  /** Records built (at flush time). */
  built: number;
  /** Value previews made (arguments, result, added metadata). */
  previews: number;
  /** Pointer discoveries: one side (inputs or outputs) of one record, by any extractor. */
  pointerScans: number;
  /** sha256 digests computed by previews (long strings, binary values). */
  hashes: number;
  /** Code snapshots taken (`fn.toString()`): once per activity function. */
  codeSnapshots: number;
  /** Lineage headers decoded (cached by content: once per workflow context). */
  headerDecodes: number;
}

/** Bounded memo caches: cleared when full, so a worker with endless distinct keys stays small. */
const MAX_CACHE = 1000;

function remember<V>(cache: Map<string, V>, key: string, value: V): V {
  if (cache.size >= MAX_CACHE) cache.clear();
  cache.set(key, value);
  return value;
}

/** Failure type of a check that fails an attempt (`onCheckFailure: 'fail'`). */
export const CHECK_FAILED_TYPE = 'MltraceCheckFailed';

/**
 * Records activity attempts: registered activities and their specs, the worker's git commit,
 * and the activity interceptor that turns each attempt into records for the writer.
 */
export class ActivityRecorder {
  private readonly activities = new Map<string, Registration>();
  private readonly describer: RunDescriber;
  private readonly logger: Logger;
  private readonly counters: RecorderStats = {
    attempts: 0,
    built: 0,
    previews: 0,
    pointerScans: 0,
    hashes: 0,
    codeSnapshots: 0,
    headerDecodes: 0,
  };
  private readonly componentNames = new Map<string, string>();
  private readonly headers = new Map<string, LineageHeader | undefined>();
  gitCommit: string | undefined;

  constructor(
    private readonly config: ResolvedOptions,
    private readonly writer: LineageWriter,
  ) {
    this.describer = new RunDescriber(config, this.counters);
    this.logger = config.logger;
  }

  /** The counters (a copy). */
  stats(): RecorderStats {
    return { ...this.counters };
  }

  /** Registers a worker's activities (their `component()` specs and code). */
  register(activities: object | undefined): void {
    if (!activities) return;
    const names = new Set<string>(Object.keys(activities));
    for (let proto = Object.getPrototypeOf(activities); proto && proto !== Object.prototype; ) {
      for (const name of Object.getOwnPropertyNames(proto)) if (name !== 'constructor') names.add(name);
      proto = Object.getPrototypeOf(proto);
    }
    for (const name of names) {
      const fn = (activities as Record<string, unknown>)[name];
      if (typeof fn !== 'function') continue;
      this.activities.set(name, { fn, spec: componentOf(fn), code: undefined });
    }
  }

  /** The activity interceptor of one attempt. */
  interceptor(ctx: Context, worker?: string): ActivityInboundCallsInterceptor {
    return { execute: (input, next) => this.execute(ctx, input, next, worker) };
  }

  private execute(
    ctx: Context,
    input: ActivityExecuteInput,
    next: Next<ActivityInboundCallsInterceptor, 'execute'>,
    worker: string | undefined,
  ): Promise<unknown> {
    let attempt: Attempt;
    try {
      attempt = this.begin(ctx, input, worker);
    } catch (error) {
      collectors.delete(ctx);
      this.logger.warn('mltrace: cannot record an activity attempt', { error: String(error) });
      return next(input);
    }
    const spec = attempt.registration?.spec;
    if (spec && (spec.beforeRun.length > 0 || spec.afterRun.length > 0)) {
      return this.executeChecked(ctx, input, next, attempt, spec).finally(() => collectors.delete(ctx));
    }
    // No checks: one reaction on the activity's promise, not an async frame around it (each
    // promise on a worker's main thread also runs the async hooks of the SDK's AsyncLocalStorage).
    let promise: Promise<unknown>;
    try {
      // Promise.resolve: the same promise for a native one; a value or thenable from another
      // interceptor still works, as it did under `await`.
      promise = Promise.resolve(next(input));
    } catch (error) {
      collectors.delete(ctx);
      this.fail(ctx, attempt, error);
      return Promise.reject(error); // a rejected promise, as from the async function it was
    }
    return promise.then(
      (result) => {
        collectors.delete(ctx);
        this.finish(attempt, 'succeeded', result);
        return result;
      },
      (error: unknown) => {
        collectors.delete(ctx);
        this.fail(ctx, attempt, error);
        throw error;
      },
    );
  }

  /** An attempt of a component with `beforeRun`/`afterRun` checks. */
  private async executeChecked(
    ctx: Context,
    input: ActivityExecuteInput,
    next: Next<ActivityInboundCallsInterceptor, 'execute'>,
    attempt: Attempt,
    spec: RegisteredComponent,
  ): Promise<unknown> {
    if (spec.beforeRun.length > 0) await this.check(attempt, spec, 'before', input.args);
    let result: unknown;
    try {
      result = await next(input);
    } catch (error) {
      this.fail(ctx, attempt, error);
      throw error;
    }
    if (spec.afterRun.length > 0) await this.check(attempt, spec, 'after', [result, ...input.args]);
    this.finish(attempt, 'succeeded', result);
    return result;
  }

  /**
   * The hot path: references and the attempt's identity, nothing else (no I/O, no hashing, no
   * discovery; even the run key is made when the record is built). The attempt object is the
   * writer's coalescing key: its `running` record and its final one are one queue slot.
   */
  private begin(ctx: Context, input: ActivityExecuteInput, worker: string | undefined): Attempt {
    const info = ctx.info;
    const attempt: Attempt = {
      info,
      registration: this.activities.get(info.activityType),
      startedAt: Date.now(),
      args: input.args,
      header: input.headers[LINEAGE_HEADER],
      status: 'running',
      worker,
    };
    collectors.set(ctx, attempt);
    this.counters.attempts++;
    if (this.config.recordStart) this.writer.enqueue(() => this.build(attempt, 'running'), attempt);
    return attempt;
  }

  private async check(
    attempt: Attempt,
    spec: RegisteredComponent,
    phase: 'before' | 'after',
    args: unknown[],
  ): Promise<void> {
    const checks = phase === 'before' ? spec.beforeRun : spec.afterRun;
    const outcomes = await runChecks(checks, phase, args);
    attempt.checks ??= [];
    attempt.checks.push(...outcomes);
    const failed = outcomes.filter((o) => !o.passed);
    if (failed.length === 0) return;
    const message = `mltrace ${phase}-run check(s) failed for ${attempt.info.activityType}: ${failed
      .map((o) => (o.message ? `${o.name} (${o.message})` : o.name))
      .join(', ')}`;
    if ((spec.onCheckFailure ?? this.config.onCheckFailure) === 'fail') {
      const failure = ApplicationFailure.create({ type: CHECK_FAILED_TYPE, message, nonRetryable: true });
      this.finish(attempt, 'failed', undefined, failure);
      throw failure;
    }
    this.logger.warn(scrubText(message), { runKey: runKeyOf(attempt.info) });
  }

  private fail(ctx: Context, attempt: Attempt, error: unknown): void {
    if (error instanceof CompleteAsyncError) {
      this.finish(attempt, 'pending');
      return;
    }
    const aborted = ctx.cancellationSignal.aborted;
    if (aborted && (error instanceof CancelledFailure || (error as Error | null)?.name === 'AbortError')) {
      const reason = ctx.cancellationSignal.reason;
      attempt.cancelReason = reason instanceof Error ? reason.message : String(reason ?? 'CANCELLED');
      // The server timed the attempt out or forgot it: it failed (and is retried), nobody cancelled it.
      const status = SERVER_DROPPED.includes(attempt.cancelReason) ? 'failed' : 'cancelled';
      this.finish(attempt, status, undefined, error);
      return;
    }
    this.finish(attempt, 'failed', undefined, error);
  }

  private finish(attempt: Attempt, status: RunStatus, result?: unknown, error?: unknown): void {
    if (attempt.status !== 'running') return;
    attempt.status = status;
    if (status !== 'pending') attempt.endedAt = Date.now();
    attempt.result = result;
    attempt.error = error;
    this.writer.enqueue(() => this.build(attempt, status), attempt);
  }

  /** Builds the run of an attempt (at flush time). */
  build(attempt: Attempt, status: RunStatus): ComponentRunInput {
    const { info, registration } = attempt;
    const spec = registration?.spec;
    this.counters.built++;
    const header = this.header(attempt.header);
    const final = status !== 'running';
    const component = this.componentName(info, spec);
    const describer = this.describer;
    const inputs = describer.pointers(
      'inputs',
      info.activityType,
      spec,
      attempt.args,
      undefined,
      attempt.inputs,
    );
    const outputs =
      status === 'succeeded'
        ? describer.pointers(
            'outputs',
            info.activityType,
            spec,
            attempt.args,
            attempt.result,
            attempt.outputs,
          )
        : describer.normalise(attempt.outputs ?? []);
    const metadata: Record<string, unknown> = {
      activityType: info.activityType,
      activityId: info.activityId,
      isLocal: info.isLocal,
      taskQueue: info.taskQueue,
      scheduledAt: new Date(info.currentAttemptScheduledTimestampMs).toISOString(),
    };
    if (attempt.worker) metadata.worker = attempt.worker;
    const execution = info.workflowExecution;
    // No header: the workflow is its own pipeline run (the workflow side sends none then).
    const pipelineRun =
      header?.pipelineRun ??
      (execution ? { workflowId: execution.workflowId, runId: execution.runId } : undefined);
    if (pipelineRun) metadata.pipelineRun = pipelineRun;
    if (this.config.recordValues) {
      metadata.args = describer.preview(attempt.args);
      if (status === 'succeeded' && attempt.result !== undefined)
        metadata.result = describer.preview(attempt.result);
    }
    if (attempt.checks && attempt.checks.length > 0) metadata.checks = attempt.checks;
    if (attempt.cancelReason) metadata.cancelReason = attempt.cancelReason;
    if (final && attempt.metadata && Object.keys(attempt.metadata).length > 0)
      metadata.extra = describer.preview(attempt.metadata);
    const workflowId = info.workflowExecution?.workflowId;
    const run: ComponentRunInput = {
      runKey: runKeyOf(info),
      component,
      source: 'temporal',
      status,
      startedAt: new Date(attempt.startedAt),
      endedAt: attempt.endedAt === undefined ? null : new Date(attempt.endedAt),
      attempt: info.attempt,
      workflow: {
        namespace: info.namespace,
        ...(workflowId ? { workflowId, runId: info.workflowExecution?.runId } : {}),
        ...(info.workflowType ? { workflowType: info.workflowType } : {}),
        taskQueue: info.taskQueue,
        ...(header?.parent ? { parentWorkflowId: header.parent.workflowId } : {}),
        ...(header?.root || workflowId ? { rootWorkflowId: header?.root?.workflowId ?? workflowId } : {}),
      },
      metadata,
      inputs,
      outputs,
    };
    if (this.gitCommit) run.gitCommit = this.gitCommit;
    const code = this.code(registration);
    if (code) run.codeSnapshot = code;
    if (final && attempt.error !== undefined && status !== 'pending') run.error = errorOf(attempt);
    return run;
  }

  /** The component name, cached per activity type, declared name, workflow type and locality. */
  private componentName(info: Info, spec: RegisteredComponent | undefined): string {
    const key = `${info.activityType}\0${spec?.name ?? ''}\0${info.workflowType ?? ''}\0${info.isLocal}`;
    return (
      this.componentNames.get(key) ??
      remember(
        this.componentNames,
        key,
        this.config.componentName({
          activityType: info.activityType,
          declared: spec?.name,
          workflowType: info.workflowType,
          isLocal: info.isLocal,
        }),
      )
    );
  }

  /** The decoded lineage header, cached by its bytes (every activity of a workflow run carries the same). */
  private header(payload: Payload | undefined): LineageHeader | undefined {
    const data = payload?.data;
    if (!payload || !data) return undefined;
    const encoding = payload.metadata?.encoding;
    const key = `${encoding ? Buffer.from(encoding).toString('latin1') : ''}\0${Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1')}`;
    if (this.headers.has(key)) return this.headers.get(key);
    this.counters.headerDecodes++;
    return remember(this.headers, key, decodeHeader(payload));
  }

  private code(registration: Registration | undefined): string | undefined {
    if (!registration || this.config.maxCodeSnapshotChars === 0) return undefined;
    if (registration.code === undefined) {
      this.counters.codeSnapshots++;
      try {
        registration.code = String(registration.fn).slice(0, this.config.maxCodeSnapshotChars);
      } catch {
        registration.code = '';
      }
    }
    return registration.code || undefined;
  }
}

/** `temporal:<namespace>/<workflowId>/<runId>/<activityId>/<attempt>` (standalone activities: by activity run id). */
export function runKeyOf(info: Info): string {
  const execution = info.workflowExecution;
  return temporalRunKey({
    namespace: info.namespace,
    workflowId: execution?.workflowId ?? '-standalone',
    runId: execution?.runId ?? info.activityRunId ?? '-',
    activityId: info.activityId,
    attempt: info.attempt,
  });
}

function decodeHeader(payload: Payload | undefined): LineageHeader | undefined {
  if (!payload) return undefined;
  try {
    return asLineageHeader(defaultPayloadConverter.fromPayload(payload));
  } catch {
    return undefined;
  }
}

/** Cancellation reasons that mean the server no longer waits for the attempt (the Python package's too). */
const SERVER_DROPPED = ['TIMED_OUT', 'NOT_FOUND'];

function errorOf(attempt: Attempt): { message: string; type?: string } {
  const error = attempt.error;
  if (attempt.status === 'cancelled') {
    return { message: scrubText(attempt.cancelReason ?? 'CANCELLED'), type: 'CancelledFailure' };
  }
  if (attempt.cancelReason && SERVER_DROPPED.includes(attempt.cancelReason)) {
    return {
      message: `the server timed this attempt out (${attempt.cancelReason}): a missed heartbeat or its start-to-close timeout; Temporal retries it as the next attempt`,
      type: 'TimeoutFailure',
    };
  }
  const message = scrubText(error instanceof Error ? error.message : String(error));
  const type =
    error instanceof ApplicationFailure && error.type
      ? error.type
      : error instanceof Error
        ? error.name
        : typeof error;
  return { message, type };
}
