/**
 * Memory per 10,000 queued lineage records: the plugin's activity interceptor runs 10,000
 * attempts (of the benchmark's activity, with a realistic `Info` and lineage header) while the
 * store never answers and the queue is never flushed; the heap growth after a full GC is what the
 * queued records hold (their attempt state, and the arguments, results and `Info` they keep
 * alive). Run by main.ts as a child process with `--expose-gc`; the report goes back over IPC.
 */
import { createMltracePlugin } from '@mltrace/temporal';
import type { Context } from '@temporalio/activity';
import { defaultPayloadConverter } from '@temporalio/common';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';

/** What memory.ts reports. */
export interface MemoryReport {
  records: number;
  bytesPerRecord: number;
  mibPer10000: number;
  note: string;
}

const RECORDS = 10_000;

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const step = async ({ part }: { part: string }) => ({ output: part.replace('/raw/', '/clean/') });
  const plugin = createMltracePlugin({
    store: () => new Promise(() => {}), // never answers: nothing leaves the queue
    spoolDir: false,
    gitCommit: false,
    maxQueueSize: RECORDS * 4, // the writer drains at half full: stay below
    batchSize: RECORDS * 4,
    flushIntervalMs: 2_000_000_000,
  });
  const options = plugin.configureWorker({ taskQueue: 'bench-memory', activities: { step } });
  const factory = options.interceptors?.activity?.at(-1) as ActivityInterceptorsFactory;
  const header = defaultPayloadConverter.toPayload({
    v: 1,
    pipelineRun: { workflowId: 'bench-workflow-1', runId: '0190f2a4-6f5e-7c1b-9d0a-3b2c1d0e9f8a' },
    root: { workflowId: 'bench-workflow-1', runId: '0190f2a4-6f5e-7c1b-9d0a-3b2c1d0e9f8a' },
  });
  const attempt = async (i: number) => {
    const info = {
      taskToken: new Uint8Array(64).fill(i % 256),
      base64TaskToken: 'x'.repeat(88),
      activityId: String(i),
      activityType: 'step',
      activityNamespace: 'default',
      namespace: 'default',
      workflowNamespace: 'default',
      workflowType: 'benchWorkflow',
      workflowExecution: { workflowId: 'bench-workflow-1', runId: '0190f2a4-6f5e-7c1b-9d0a-3b2c1d0e9f8a' },
      taskQueue: 'bench-memory',
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
    const inbound = factory(ctx).inbound as ActivityInboundCallsInterceptor;
    const args = [{ part: `s3://bench/raw/part-${i}.parquet` }];
    await inbound.execute?.({ args, headers: { 'mltrace-lineage': header } }, (input) =>
      step(input.args[0] as { part: string }),
    );
  };
  for (let i = 0; i < 100; i++) await attempt(-1 - i); // warm the code paths
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < RECORDS; i++) await attempt(i);
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  const stats = plugin.stats();
  if (stats.queued < RECORDS) throw new Error(`only ${stats.queued} records queued`);
  const bytesPerRecord = (after - before) / RECORDS;
  const report: MemoryReport = {
    records: RECORDS,
    bytesPerRecord,
    mibPer10000: (bytesPerRecord * 10_000) / 2 ** 20,
    note: `Memory: ${RECORDS} attempts through the plugin's activity interceptor (a realistic Info and lineage header, the store never answering, nothing flushed): the heap grew by ${bytesPerRecord.toFixed(0)} bytes per queued record after a full GC, ${((bytesPerRecord * 10_000) / 2 ** 20).toFixed(1)} MiB per 10,000 (${stats.queued} records queued: one per attempt, its start and end coalesced). This counts the arguments, result and Info each record keeps alive until it is written. The queue holds maxQueueSize (default 10,000) at most.`,
  };
  process.send?.(report);
  process.exit(0);
}

await main();
