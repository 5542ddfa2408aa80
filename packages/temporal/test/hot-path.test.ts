/**
 * The activity's path stays cheap: while an attempt runs, the plugin only keeps references (no
 * store call, no spool write, no preview, no hashing, no pointer discovery, no code snapshot);
 * all of it happens when the record is built, on a later turn of the event loop, and the record
 * still carries every fact. Checked with the plugin's own counters, read by an activity
 * interceptor wrapped around the plugin's, right after the plugin hands the result back (no
 * timing: the benchmark in bench/temporal measures the cost).
 */
import { fileURLToPath } from 'node:url';
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { temporalAddress } from '@mltrace/test-helpers';
import { Client, Connection } from '@temporalio/client';
import {
  type ActivityInboundCallsInterceptor,
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
} from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMltracePlugin, type MltracePlugin, type PluginStats } from '../src/plugin.js';
import type { HotPathActivities } from './hot-path-workflows.js';

const LONG = 'x'.repeat(5000); // longer than maxStringChars: its preview carries a sha256

/** The counters that must not move while an attempt is in the plugin's interceptor. */
function work(stats: PluginStats) {
  const { built, previews, pointerScans, hashes, codeSnapshots, headerDecodes } = stats.recorder;
  return {
    built,
    previews,
    pointerScans,
    hashes,
    codeSnapshots,
    headerDecodes,
    storeCalls: stats.storeCalls,
    written: stats.written,
    spooled: stats.spooled,
  };
}

describe('the hot path', () => {
  let store: LineageStore;
  let plugin: MltracePlugin;
  let native: NativeConnection;
  let connection: Connection;
  const observed: Array<{
    before: ReturnType<typeof work>;
    after: ReturnType<typeof work>;
    attempts: number;
  }> = [];

  beforeAll(async () => {
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // installed by another test file of this process
    }
    store = await openPgliteStore({ dataDir: 'memory://' });
    // batchSize 1: every record asks for a flush at once, the most pressure the writer can put
    // on the activity's path.
    plugin = createMltracePlugin({ store, spoolDir: false, gitCommit: false, batchSize: 1 });
    native = await NativeConnection.connect({ address: temporalAddress() });
    connection = await Connection.connect({ address: temporalAddress() });
  });

  afterAll(async () => {
    await plugin?.close();
    await store?.close();
    await connection?.close();
    await native?.close();
  });

  it('does no I/O, hashing or discovery before the activity returns; the record has every fact', async () => {
    const taskQueue = `hot-path-${Date.now().toString(36)}`;
    const activities: HotPathActivities = {
      async read({ source, notes }) {
        return { output: source.replace('/raw/', '/clean/'), notes };
      },
    };
    // Wraps the plugin's interceptor (the worker's own interceptors come first, the plugin's last).
    const outer = (): { inbound: ActivityInboundCallsInterceptor } => ({
      inbound: {
        async execute(input, next) {
          await plugin.writer.flush(); // earlier attempts' records are built and written now
          const before = work(plugin.stats());
          const attempts = plugin.stats().recorder.attempts;
          const result = await next(input);
          observed.push({
            before,
            after: work(plugin.stats()),
            attempts: plugin.stats().recorder.attempts - attempts,
          });
          return result;
        },
      },
    });
    const workflowsPath = fileURLToPath(new URL('./hot-path-workflows.ts', import.meta.url));
    const { code } = await bundleWorkflowCode({
      workflowsPath,
      plugins: [plugin],
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
    });
    const worker = await Worker.create({
      connection: native,
      taskQueue,
      workflowBundle: { code },
      activities,
      interceptors: { activity: [outer] },
      plugins: [plugin],
    });
    const client = new Client({ connection });
    const n = 4;
    const workflowId = `${taskQueue}-wf`;
    const done = await worker.runUntil(
      client.workflow.execute('sequence', { taskQueue, workflowId, args: [n, LONG] }),
    );
    expect(done).toBe(2 * n);

    // Every attempt went through the plugin inside the outer interceptor, and none of the work
    // counters moved meanwhile: only references were kept.
    expect(observed).toHaveLength(2 * n);
    for (const { before, after, attempts } of observed) {
      expect(attempts).toBe(1);
      expect(after).toEqual(before);
    }

    // The work happens when the records are built: previews (with the long string's sha256),
    // pointer discovery on both sides, one code snapshot per function, one header decode per
    // workflow run; then the store has every fact.
    await plugin.writer.flush();
    const { recorder } = plugin.stats();
    expect(recorder.attempts).toBe(2 * n);
    expect(recorder.built).toBeGreaterThanOrEqual(2 * n);
    expect(recorder.previews).toBeGreaterThanOrEqual(4 * n);
    expect(recorder.hashes).toBeGreaterThanOrEqual(4 * n);
    expect(recorder.pointerScans).toBeGreaterThanOrEqual(4 * n);
    expect(recorder.codeSnapshots).toBe(1);
    // A top-level workflow sends its activities no lineage header (their info says the same).
    expect(recorder.headerDecodes).toBe(0);
    expect(plugin.stats()).toMatchObject({ written: expect.any(Number), dropped: 0 });

    const page = await store.recent({ limit: 100 });
    const runs = await Promise.all(
      page.runs.filter((r) => r.runKey.includes(workflowId)).map((r) => store.run(r.runKey)),
    );
    expect(runs).toHaveLength(2 * n);
    const first = runs.find((r) => r.metadata.activityId === '1');
    if (!first) throw new Error('no run of the first activity');
    expect(first).toMatchObject({
      component: 'read',
      status: 'succeeded',
      attempt: 1,
      workflow: { workflowId, workflowType: 'sequence', taskQueue, rootWorkflowId: workflowId },
    });
    expect(first.codeSnapshot).toMatch(/^async read\(\{ source, notes \}\)/);
    expect(first.inputs.map((p) => p.uri)).toEqual(['s3://lake/raw/part-0.parquet']);
    expect(first.outputs.map((p) => p.uri)).toEqual(['s3://lake/clean/part-0.parquet']);
    expect(first.metadata).toMatchObject({
      activityType: 'read',
      isLocal: false,
      pipelineRun: { workflowId },
      args: [{ source: 's3://lake/raw/part-0.parquet', notes: { length: 5000, sha256: expect.any(String) } }],
      result: { output: 's3://lake/clean/part-0.parquet', notes: { length: 5000 } },
    });
    expect(runs.filter((r) => r.metadata.isLocal === true)).toHaveLength(n);
  });
});
