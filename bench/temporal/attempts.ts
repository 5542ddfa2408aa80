/**
 * Activity attempts through the plugin's activity interceptor without Temporal: a realistic
 * `Info` (the benchmark's activity, its workflow) and the benchmark's argument, so that the
 * activity side can be measured alone (memory.ts, activity-side.ts).
 */
import type { MltracePlugin } from '@mltrace/temporal';
import type { Context } from '@temporalio/activity';
import type { Payload } from '@temporalio/common';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';

/** The benchmark's activity (workflows.ts's `step`). */
export const step = async ({ part }: { part: string }) => ({ output: part.replace('/raw/', '/clean/') });

/**
 * Runs attempt `i` of `step` through the plugin's interceptor (with `header`, if given); without
 * a plugin, calls `step` after making the same `Info` and context (which a worker makes anyway),
 * so that the difference is the plugin's alone.
 */
export function attemptDriver(
  plugin: MltracePlugin | undefined,
  header?: Payload,
): (i: number) => Promise<unknown> {
  const options = plugin?.configureWorker({ taskQueue: 'bench-attempts', activities: { step } });
  const factory = options?.interceptors?.activity?.at(-1) as ActivityInterceptorsFactory | undefined;
  const execution = { workflowId: 'bench-workflow-1', runId: '0190f2a4-6f5e-7c1b-9d0a-3b2c1d0e9f8a' };
  return async (i: number) => {
    const info = {
      taskToken: new Uint8Array(64).fill(i % 256),
      base64TaskToken: 'x'.repeat(88),
      activityId: String(i),
      activityType: 'step',
      activityNamespace: 'default',
      namespace: 'default',
      workflowNamespace: 'default',
      workflowType: 'benchWorkflow',
      workflowExecution: execution,
      taskQueue: 'bench-attempts',
      attempt: 1,
      isLocal: false,
      heartbeatDetails: undefined,
      heartbeatTimeoutMs: undefined,
      scheduledTimestampMs: Date.now(),
      currentAttemptScheduledTimestampMs: Date.now(),
      startToCloseTimeoutMs: 60_000,
      scheduleToCloseTimeoutMs: 60_000,
      priority: undefined,
      retryPolicy: undefined,
      activityRunId: undefined,
      inWorkflow: true,
    };
    const ctx = { info, cancellationSignal: new AbortController().signal } as unknown as Context;
    if (!factory) return step({ part: `s3://bench/raw/part-${i}.parquet` });
    const inbound = factory(ctx).inbound as ActivityInboundCallsInterceptor;
    const args = [{ part: `s3://bench/raw/part-${i}.parquet` }];
    return inbound.execute?.({ args, headers: header ? { 'mltrace-lineage': header } : {} }, (input) =>
      step(input.args[0] as { part: string }),
    );
  };
}
