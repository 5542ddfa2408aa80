import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LineageStore } from '@mltrace/store';
import { openPostgresStore } from '@mltrace/store/postgres';
import { eventually, testDatabaseUrl } from '@mltrace/test-helpers';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMltracePlugin, type MltracePlugin } from '../src/plugin.js';
import * as activities from './test-activities.js';
import { bundle, connectTemporal, runsOfWorkflow, TcpProxy, unique } from './test-support.js';

// The store is a real PostgreSQL reached through a TCP proxy: cutting the proxy is, to the
// store, the server going away (connections reset, new ones refused); restoring it brings the
// same database back.
describe('a lineage store that goes away in the middle of a workflow', () => {
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  let proxy: TcpProxy;
  let store: LineageStore;
  let plugin: MltracePlugin;
  let spoolDir: string;

  beforeAll(async () => {
    const url = await testDatabaseUrl();
    const target = new URL(url);
    proxy = new TcpProxy(target.hostname, Number(target.port));
    await proxy.restore();
    store = await openPostgresStore({ url: proxy.through(url), connectTimeoutSeconds: 2 });
    spoolDir = await mkdtemp(join(tmpdir(), 'mltrace-spool-'));
    plugin = createMltracePlugin({
      store,
      spoolDir,
      flushIntervalMs: 50,
      batchSize: 20,
      maxAttempts: 2,
      initialRetryDelayMs: 50,
      writeTimeoutMs: 5000,
      spoolReplayIntervalMs: 500,
    });
    temporal = await connectTemporal();
  });

  afterAll(async () => {
    await plugin?.close();
    await store?.close();
    await proxy?.cut();
    await temporal?.close();
  });

  it('neither fails nor blocks the workflow, and every record arrives once the store is back, none duplicated', async () => {
    const taskQueue = unique('outage');
    const worker = await Worker.create({
      connection: temporal.native,
      taskQueue,
      workflowBundle: await bundle(plugin),
      activities,
      plugins: [plugin],
    });
    const workflowId = unique('many');
    const { result, runId } = await worker.runUntil(async () => {
      const handle = await temporal.client.workflow.start('many', { taskQueue, workflowId, args: [200, 4] });
      await eventually(() => plugin.stats().written >= 20, 'the first records to be written');
      await proxy.cut();
      const description = await handle.describe();
      expect(description.status.name).toBe('RUNNING'); // the outage starts mid-run
      await eventually(() => plugin.stats().spooled > 0, 'the writer to spool');
      const value = await handle.result(); // completes while the store is away
      return { result: value, runId: handle.firstExecutionRunId };
    });
    expect(result).toBe((200 * 201) / 2);
    await plugin.writer.flush();
    expect(plugin.stats()).toMatchObject({ degraded: true, dropped: 0 });
    expect((await readdir(spoolDir)).length).toBeGreaterThan(0);

    await proxy.restore();
    await eventually(async () => {
      await plugin.writer.flush();
      return !plugin.stats().degraded;
    }, 'the spool to be replayed');
    const stats = plugin.stats();
    expect(stats).toMatchObject({ queued: 0, dropped: 0, degraded: false });
    expect(stats.replayed).toBeGreaterThan(0);
    expect(await readdir(spoolDir)).toEqual([]);

    const runs = await runsOfWorkflow(store, workflowId);
    expect(runs).toHaveLength(200);
    expect(new Set(runs.map((r) => r.runKey)).size).toBe(200);
    const expected = Array.from(
      { length: 200 },
      (_, i) => `temporal:default/${workflowId}/${runId}/${i + 1}/1`,
    );
    expect(runs.map((r) => r.runKey).sort()).toEqual(expected.sort());
    expect(runs.every((r) => r.status === 'succeeded' && r.endedAt !== null)).toBe(true);
  });
});
