import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LineageStore } from '@mltrace/store';
import { openPostgresStore } from '@mltrace/store/postgres';
import { eventually, temporalAddress, testDatabaseUrl } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfill } from '../src/backfill.js';
import { createMltracePlugin } from '../src/plugin.js';
import { bundle, connectTemporal, runByKey, runsOfWorkflow, unique } from './test-support.js';

const script = fileURLToPath(new URL('./test-worker-process.mjs', import.meta.url));
const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describe('a worker killed with SIGKILL in the middle of a workflow', () => {
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  let store: LineageStore;
  let databaseUrl: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    if (!existsSync(built)) throw new Error('build @mltrace/temporal first: the child worker runs on dist/');
    databaseUrl = await testDatabaseUrl();
    store = await openPostgresStore({ url: databaseUrl });
    temporal = await connectTemporal();
  });

  afterAll(async () => {
    child?.kill('SIGKILL');
    await store?.close();
    await temporal?.close();
  });

  it('loses nothing for good: backfill restores every completed activity from the history', {
    timeout: 180_000,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mltrace-kill-'));
    const codePath = join(dir, 'workflow-bundle.js');
    await writeFile(codePath, (await bundle(createMltracePlugin({ store }))).code);
    const taskQueue = unique('killed');
    child = spawn(process.execPath, [script, temporalAddress(), taskQueue, codePath, databaseUrl], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const worker = child;
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      worker.once('exit', (_code, signal) => resolve(signal)),
    );
    await new Promise<void>((resolve, reject) => {
      worker.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      worker.once('exit', (code) => reject(new Error(`the worker exited early (${code})`)));
    });

    const workflowId = unique('slow');
    const handle = await temporal.client.workflow.start('slow', { taskQueue, workflowId, args: [30, 300] });
    const completedEvents = async () =>
      ((await handle.fetchHistory()).events ?? []).filter((e) => e.activityTaskCompletedEventAttributes)
        .length;
    await eventually(async () => (await completedEvents()) >= 4, 'a few activities to complete');
    worker.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    child = undefined;

    const completed = await completedEvents();
    expect(completed).toBeLessThan(30); // killed mid-run
    expect(await runsOfWorkflow(store, workflowId)).toEqual([]); // its writer never flushed

    const counts = await backfill({ client: temporal.client, store, workflowId });
    expect(counts).toMatchObject({
      workflows: 1,
      activities: completed,
      created: completed,
      updated: 0,
      unchanged: 0,
    });
    const runs = await runsOfWorkflow(store, workflowId);
    expect(runs).toHaveLength(completed);
    const runId = handle.firstExecutionRunId;
    for (const [i, r] of runs.entries()) {
      expect(r).toMatchObject({
        runKey: `temporal:default/${workflowId}/${runId}/${i + 1}/1`,
        component: 'slowStep',
        source: 'temporal',
        status: 'succeeded',
        attempt: 1,
        workflow: {
          namespace: 'default',
          workflowId,
          runId,
          workflowType: 'slow',
          taskQueue,
          rootWorkflowId: workflowId,
        },
        metadata: { backfilled: true, activityId: String(i + 1), pipelineRun: { workflowId, runId } },
      });
      expect(r.outputs.map((p) => p.uri)).toEqual([`s3://bucket/parts/part-${i}.parquet`]);
      expect(r.endedAt!.getTime()).toBeGreaterThanOrEqual(r.startedAt.getTime());
    }
    expect(await runByKey(store, runs[0]!.runKey)).toBeDefined();

    const again = await backfill({ client: temporal.client, store, workflowId });
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: completed });
    await handle.terminate('test over');
  });
});
