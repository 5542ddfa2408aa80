/**
 * Memory per 10,000 queued lineage records: the plugin's activity interceptor runs 10,000
 * attempts (of the benchmark's activity, with a realistic `Info` and lineage header) while the
 * store never answers and the queue is never flushed; the heap growth after a full GC is what the
 * queued records hold (their attempt state, and the arguments, results and `Info` they keep
 * alive). Run by main.ts as a child process with `--expose-gc`; the report goes back over IPC.
 */
import { createMltracePlugin } from '@mltrace/temporal';
import { defaultPayloadConverter } from '@temporalio/common';
import { attemptDriver } from './attempts.js';

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
  const plugin = createMltracePlugin({
    store: () => new Promise(() => {}), // never answers: nothing leaves the queue
    spoolDir: false,
    gitCommit: false,
    maxQueueSize: RECORDS * 4, // the writer drains at half full: stay below
    batchSize: RECORDS * 4,
    flushIntervalMs: 2_000_000_000,
  });
  // A child workflow's header: the most a record can keep alive (top-level workflows send none).
  const header = defaultPayloadConverter.toPayload({
    v: 1,
    pipelineRun: { workflowId: 'bench-workflow-0', runId: '0190f2a4-6f5e-7c1b-9d0a-3b2c1d0e9f80' },
    root: { workflowId: 'bench-workflow-0', runId: '0190f2a4-6f5e-7c1b-9d0a-3b2c1d0e9f80' },
    parent: { workflowId: 'bench-workflow-0', runId: '0190f2a4-6f5e-7c1b-9d0a-3b2c1d0e9f80' },
  });
  const attempt = attemptDriver(plugin, header);
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
