/**
 * The TypeScript plugin's behaviour assertions (packages/temporal/test/plugin.test.ts,
 * workers.test.ts) on Python workers: real worker processes (worker.py), a real Temporal dev
 * server, a real PostgreSQL. Python workflows (pyworkflows.py) mirror the plugin's test workflows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LineageStore, openStore } from '@mltrace/store';
import { eventually, temporalAddress, testDatabaseUrl } from '@mltrace/test-helpers';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PythonWorker,
  runsOfWorkflow,
  startPythonWorker,
  stop,
  stopWithStats,
  unique,
} from './python-worker.js';

let store: LineageStore;
let url: string;
let dir: string;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  url = await testDatabaseUrl();
  store = await openStore({ url }); // migrates
  dir = await mkdtemp(join(tmpdir(), 'mltrace-py-contract-'));
  connection = await Connection.connect({ address: temporalAddress() });
  client = new Client({ connection });
});
afterAll(async () => {
  await connection?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A worker's own environment: the test store, its own spool folder. */
const envOf = (name: string) => ({
  ...process.env,
  MLTRACE_DATABASE_URL: url,
  MLTRACE_HOME: join(dir, name),
});

describe('a Python worker, with the plugin’s behaviour assertions', () => {
  let worker: PythonWorker;
  let queue: string;
  beforeAll(async () => {
    queue = unique('py-contract');
    worker = await startPythonWorker(queue, envOf('single'), dir);
  });
  afterAll(async () => {
    await stop(worker);
  });

  async function execute<T>(workflow: string, args: unknown[]) {
    const workflowId = unique(workflow);
    const handle = await client.workflow.start(workflow, { taskQueue: queue, workflowId, args });
    const result = (await handle.result()) as T;
    return { result, workflowId, runId: handle.firstExecutionRunId };
  }

  it('records a cancelled heartbeating activity as cancelled, with the cancellation reason', async () => {
    const { result, workflowId } = await execute<string>('Cancelling', []);
    expect(result).toBe('cancelled');
    const [run] = await eventually(async () => {
      const runs = await runsOfWorkflow(store, workflowId);
      return runs.length === 1 && runs[0]!.status !== 'running' ? runs : undefined;
    }, 'the cancelled attempt to be recorded');
    expect(run).toMatchObject({
      component: 'wait_for_cancel',
      status: 'cancelled',
      attempt: 1,
      error: { message: 'CANCELLED', type: 'CancelledFailure' },
      metadata: { cancelReason: 'CANCELLED', language: 'python' },
    });
  });

  it('records one run per attempt when a heartbeat timeout retries an activity, the timed-out attempt failed with its error', async () => {
    const { result, workflowId, runId } = await execute<string>('HeartbeatTimeout', []);
    expect(result).toBe('recovered');
    const prefix = `temporal:default/${workflowId}/${runId}/1`;
    // Attempt 1 learns that the server timed it out at its next heartbeat, after attempt 2 ran.
    const runs = await eventually(async () => {
      const found = await runsOfWorkflow(store, workflowId);
      return found.length === 2 && found.every((r) => r.status !== 'running') ? found : undefined;
    }, 'both attempts to be final');
    expect(runs.map((r) => [r.runKey, r.attempt, r.status])).toEqual([
      [`${prefix}/1`, 1, 'failed'],
      [`${prefix}/2`, 2, 'succeeded'],
    ]);
    expect(runs[0]!.error).toMatchObject({ type: 'TimeoutFailure' });
    expect(runs[0]!.error!.message).toMatch(/timed this attempt out \((NOT_FOUND|TIMED_OUT)\)/);
    expect(runs[1]!.error).toBeNull();
  });

  it('records local activities of a Python workflow', async () => {
    const { result, workflowId } = await execute<number>('WithLocalActivity', [41]);
    expect(result).toBe(42);
    const runs = await eventually(async () => {
      const found = await runsOfWorkflow(store, workflowId);
      return found.length === 1 && found[0]!.status === 'succeeded' ? found : undefined;
    }, 'the local activity to be recorded');
    expect(runs[0]).toMatchObject({
      component: 'step',
      status: 'succeeded',
      attempt: 1,
      workflow: { workflowId, workflowType: 'WithLocalActivity', rootWorkflowId: workflowId },
      metadata: { isLocal: true, result: 42, pipelineRun: { workflowId } },
    });
  });

  it('runs a sandboxed workflow that imports a component() activity module through imports_passed_through()', async () => {
    const model = join(dir, 'model.pkl');
    const { result, workflowId } = await execute<string>('Scoring', [model]);
    expect(result).toBe('scored');
    const [run] = await eventually(async () => {
      const found = await runsOfWorkflow(store, workflowId);
      return found.length === 1 && found[0]!.status === 'succeeded' ? found : undefined;
    }, 'the scoring run to be recorded');
    expect(run!.component).toBe('scoring');
    expect(run!.inputs.map((p) => p.uri)).toEqual([`file://${model}`]);
    expect(run!.outputs.map((p) => p.uri)).toEqual([`file://${join(dir, 'scores.json')}`]);
  });

  it('keeps the pipeline context through a child workflow and its continue-as-new', async () => {
    const { result, workflowId, runId } = await execute<number>('ChainParent', []);
    expect(result).toBe(1);
    const childId = `${workflowId}-child`;
    const [parentStep] = await eventually(async () => {
      const found = await runsOfWorkflow(store, workflowId);
      return found.length === 1 && found[0]!.status === 'succeeded' ? found : undefined;
    }, "the parent's activity to be recorded");
    expect(parentStep!.workflow).toMatchObject({ workflowId, runId, rootWorkflowId: workflowId });
    expect(parentStep!.metadata.pipelineRun).toEqual({ workflowId, runId });
    const childRuns = await eventually(async () => {
      const found = await runsOfWorkflow(store, childId);
      return found.length === 2 && found.every((r) => r.status === 'succeeded') ? found : undefined;
    }, "the child's two runs to be recorded");
    expect(new Set(childRuns.map((r) => r.workflow.runId)).size).toBe(2); // two runs of the chain
    for (const r of childRuns) {
      expect(r.workflow).toMatchObject({
        workflowId: childId,
        workflowType: 'Chain',
        parentWorkflowId: workflowId,
        rootWorkflowId: workflowId,
      });
      expect(r.metadata.pipelineRun).toEqual({ workflowId, runId });
    }
  });
});

describe('two Python workers on one task queue writing to one store', () => {
  it('record every activity once: no duplicates, no losses', { timeout: 120_000 }, async () => {
    const queue = unique('py-two-workers');
    // Each its own process, spool and connection, as two machines would have.
    const workers = await Promise.all(
      ['python-0', 'python-1'].map((name) => startPythonWorker(queue, envOf(name), dir, name)),
    );
    const workflowIds = [unique('Many'), unique('Many')];
    let stats: Awaited<ReturnType<typeof stopWithStats>>[];
    try {
      const handles = await Promise.all(
        workflowIds.map((workflowId) =>
          client.workflow.start('Many', { taskQueue: queue, workflowId, args: [100, 10] }),
        ),
      );
      for (const handle of handles) expect(await handle.result()).toBe((100 * 101) / 2);
    } finally {
      stats = await Promise.all(workers.map((w) => stopWithStats(w))); // each flushes on SIGTERM
    }
    const byWorker = new Map<string, number>();
    for (const workflowId of workflowIds) {
      const runs = await runsOfWorkflow(store, workflowId);
      expect(runs).toHaveLength(100);
      expect(new Set(runs.map((r) => r.runKey)).size).toBe(100);
      expect(runs.every((r) => r.status === 'succeeded' && r.attempt === 1)).toBe(true);
      for (const r of runs) {
        const worker = String(r.metadata.worker);
        byWorker.set(worker, (byWorker.get(worker) ?? 0) + 1);
      }
    }
    expect([...byWorker.keys()].sort()).toEqual(['python-0', 'python-1']);
    for (const s of stats) expect(s).toMatchObject({ queued: 0, dropped: 0, spooled: 0, invalid: 0 });
  });
});
