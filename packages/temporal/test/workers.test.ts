import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LineageStore } from '@mltrace/store';
import { openPostgresStore } from '@mltrace/store/postgres';
import { temporalAddress, testDatabaseUrl } from '@mltrace/test-helpers';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMltracePlugin, type MltracePlugin } from '../src/plugin.js';
import * as activities from './test-activities.js';
import { bundle, connectTemporal, runsOfWorkflow, unique } from './test-support.js';

describe('two workers on one task queue writing to one store', () => {
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  const stores: LineageStore[] = [];
  const plugins: MltracePlugin[] = [];

  beforeAll(async () => {
    const url = await testDatabaseUrl();
    temporal = await connectTemporal();
    for (let i = 0; i < 2; i++) {
      // Each worker as its own process would have it: its own plugin, writer, spool and pool.
      const store = await openPostgresStore({ url });
      stores.push(store);
      plugins.push(
        createMltracePlugin({
          store,
          flushIntervalMs: 100,
          spoolDir: await mkdtemp(join(tmpdir(), 'mltrace-spool-')),
        }),
      );
    }
  });

  afterAll(async () => {
    for (const plugin of plugins) await plugin.close();
    for (const store of stores) await store.close();
    await temporal?.close();
  });

  it('record every activity once: no duplicates, no losses', async () => {
    const taskQueue = unique('two-workers');
    const workflowBundle = await bundle(plugins[0]);
    // One connection each, as two processes would have.
    const connections = await Promise.all(
      plugins.map(() => NativeConnection.connect({ address: temporalAddress() })),
    );
    const workers = await Promise.all(
      plugins.map((plugin, i) =>
        Worker.create({
          connection: connections[i]!,
          taskQueue,
          identity: `worker-${i}`,
          workflowBundle,
          activities,
          plugins: [plugin],
          maxConcurrentActivityTaskExecutions: 5,
        }),
      ),
    );
    const running = workers.map((worker) => worker.run());
    const workflowIds = [unique('many'), unique('many')];
    try {
      const handles = await Promise.all(
        workflowIds.map((workflowId) =>
          temporal.client.workflow.start('many', { taskQueue, workflowId, args: [100, 10] }),
        ),
      );
      for (const handle of handles) expect(await handle.result()).toBe((100 * 101) / 2);
    } finally {
      for (const worker of workers) worker.shutdown();
      await Promise.all(running); // each worker flushes its writer on shutdown
      for (const connection of connections) await connection.close();
    }
    const byWorker = new Map<string, number>();
    for (const workflowId of workflowIds) {
      const runs = await runsOfWorkflow(stores[0]!, workflowId);
      expect(runs).toHaveLength(100);
      expect(new Set(runs.map((r) => r.runKey)).size).toBe(100);
      expect(runs.every((r) => r.status === 'succeeded' && r.attempt === 1)).toBe(true);
      for (const r of runs) {
        const worker = String(r.metadata.worker);
        byWorker.set(worker, (byWorker.get(worker) ?? 0) + 1);
      }
    }
    expect([...byWorker.keys()].sort()).toEqual(['worker-0', 'worker-1']);
    const stats = plugins.map((plugin) => plugin.stats());
    for (const s of stats) expect(s).toMatchObject({ queued: 0, dropped: 0, spooled: 0 });
  });
});
