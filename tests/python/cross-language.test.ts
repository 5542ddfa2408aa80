import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LineageStore, openStore } from '@mltrace/store';
import { createMltracePlugin } from '@mltrace/temporal';
import { temporalAddress, testDatabaseUrl } from '@mltrace/test-helpers';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPythonWorker, stop, unique } from './python-worker.js';

const WORKFLOWS = fileURLToPath(new URL('./workflows.ts', import.meta.url));

import * as tsActivities from './ts-activities.js';

describe('a TypeScript workflow calling activities on a Python worker', () => {
  let store: LineageStore;
  let dir: string;
  let url: string;
  beforeAll(async () => {
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // installed already in this process
    }
    url = await testDatabaseUrl();
    store = await openStore({ url });
    dir = await mkdtemp(join(tmpdir(), 'mltrace-xlang-'));
  });
  afterAll(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('records each Python attempt under the TypeScript workflow, and the trace of the model is complete', async () => {
    const raw = join(dir, 'raw.csv');
    await writeFile(raw, 'a,b\n1,2\n');
    const pythonQueue = unique('python');
    const tsQueue = unique('ts');
    const python = await startPythonWorker(
      pythonQueue,
      { ...process.env, MLTRACE_DATABASE_URL: url, MLTRACE_HOME: join(dir, '.mltrace') },
      dir,
    );
    const plugin = createMltracePlugin({ store, flushIntervalMs: 50 });
    const native = await NativeConnection.connect({ address: temporalAddress() });
    const connection = await Connection.connect({ address: temporalAddress() });
    try {
      const { code } = await bundleWorkflowCode({
        workflowsPath: WORKFLOWS,
        plugins: [plugin],
        logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
      });
      const worker = await Worker.create({
        connection: native,
        taskQueue: tsQueue,
        workflowBundle: { code },
        plugins: [plugin],
      });
      const client = new Client({ connection });
      const workflowId = unique('train-in-python');
      const { model, runId } = await worker.runUntil(async () => {
        const handle = await client.workflow.start('trainInPython', {
          taskQueue: tsQueue,
          workflowId,
          args: [raw, dir, pythonQueue],
        });
        return { model: await handle.result(), runId: handle.firstExecutionRunId };
      });
      expect(model).toBe(join(dir, 'model.pkl'));
      expect(await stop(python)).toBe(0); // SIGTERM: the interceptor flushes before exiting

      const prefix = `temporal:default/${workflowId}/${runId}`;
      const featurize = await store.run(`${prefix}/1/1`);
      expect(featurize).toMatchObject({ component: 'featurize', status: 'succeeded', attempt: 1 });
      expect(featurize.workflow).toMatchObject({ workflowId, runId, workflowType: 'trainInPython' });
      expect(featurize.metadata).toMatchObject({ language: 'python', pipelineRun: { workflowId } });
      const failed = await store.run(`${prefix}/2/1`);
      expect(failed).toMatchObject({ component: 'training', status: 'failed', attempt: 1 });
      // The message alone, as the TypeScript plugin records it (not str()'s "GpuLost: ..."), redacted.
      expect(failed.error).toEqual({ message: 'the GPU went away (token=[REDACTED])', type: 'GpuLost' });
      expect(JSON.stringify(failed)).not.toContain('abc123def456');
      const trained = await store.run(`${prefix}/2/2`);
      expect(trained).toMatchObject({ component: 'training', status: 'succeeded', attempt: 2 });

      const graph = await store.trace({ uri: `file://${join(dir, 'model.pkl')}` });
      const keys = graph.runs.map((r) => r.runKey).sort();
      expect(keys).toEqual([`${prefix}/1/1`, `${prefix}/2/2`]);
      expect(graph.dependencies).toHaveLength(1);
      expect(graph.pointers.map((p) => p.uri)).toContain(`file://${raw}`);
    } finally {
      await stop(python);
      await plugin.close();
      await connection.close();
      await native.close();
    }
  });
});

describe('a Python workflow calling an activity on a TypeScript worker', () => {
  it('records the TypeScript attempt under the Python workflow, and the trace crosses back into Python', async () => {
    const url = await testDatabaseUrl();
    const store = await openStore({ url });
    const dir = await mkdtemp(join(tmpdir(), 'mltrace-py-ts-'));
    const raw = join(dir, 'raw.csv');
    await writeFile(raw, 'a,b\n1,2\n');
    const pythonQueue = unique('python');
    const tsQueue = unique('ts-activities');
    const python = await startPythonWorker(pythonQueue, { ...process.env, MLTRACE_DATABASE_URL: url }, dir);
    const plugin = createMltracePlugin({ store, flushIntervalMs: 50 });
    const native = await NativeConnection.connect({ address: temporalAddress() });
    const connection = await Connection.connect({ address: temporalAddress() });
    try {
      const worker = await Worker.create({
        connection: native,
        taskQueue: tsQueue,
        activities: tsActivities,
        plugins: [plugin],
      });
      const client = new Client({ connection });
      const workflowId = unique('python-calls-ts');
      const { model, runId } = await worker.runUntil(async () => {
        const handle = await client.workflow.start('PythonCallsTypescript', {
          taskQueue: pythonQueue,
          workflowId,
          args: [raw, dir, tsQueue],
        });
        return { model: await handle.result(), runId: handle.firstExecutionRunId };
      });
      expect(model).toBe(join(dir, 'model-ts.pkl'));
      await plugin.writer.flush();
      expect(await stop(python)).toBe(0);

      const trained = await store.run(`temporal:default/${workflowId}/${runId}/2/1`);
      expect(trained).toMatchObject({ component: 'tsTrain', status: 'succeeded', attempt: 1 });
      expect(trained.workflow).toMatchObject({ workflowId, workflowType: 'PythonCallsTypescript' });
      // The Python workflow interceptor's header, read by the TypeScript activity interceptor.
      expect(trained.metadata).toMatchObject({ pipelineRun: { workflowId, runId } });
      const graph = await store.trace({ uri: `file://${model}` });
      expect(graph.runs.map((r) => r.component).sort()).toEqual(['featurize', 'tsTrain']);
      expect(graph.dependencies).toHaveLength(1);
    } finally {
      await stop(python);
      await plugin.close();
      await connection.close();
      await native.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
