import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '@mltrace/store';
import { eventually, temporalAddress } from '@mltrace/test-helpers';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { startPythonWorker, stop, unique } from './python-worker.js';

describe('a Python workflow with the interceptor on its own, on the embedded store', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('spools while no process serves the store, then replays every attempt once, child workflow context and all', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mltrace-pyonly-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const home = join(dir, '.mltrace');
    await writeFile(join(dir, 'raw.csv'), 'a,b\n1,2\n');
    const { MLTRACE_DATABASE_URL: _unused, ...env } = process.env;
    const queue = unique('python-only');
    // Nobody owns the embedded store yet: the Python writer finds no socket and spools.
    const python = await startPythonWorker(queue, { ...env, MLTRACE_HOME: home }, dir);
    cleanup.push(() => stop(python));
    const connection = await Connection.connect({ address: temporalAddress() });
    cleanup.push(() => connection.close());
    const client = new Client({ connection });
    const workflowId = unique('python-pipeline');
    const handle = await client.workflow.start('PythonPipeline', {
      taskQueue: queue,
      workflowId,
      args: [join(dir, 'raw.csv'), dir],
    });
    expect(await handle.result()).toBe(join(dir, 'model.pkl'));
    const runId = handle.firstExecutionRunId;

    // Every attempt's records wait in the Python spool (the workflow did not wait for them).
    await eventually(async () => {
      const files = await readdir(join(home, 'spool', 'python')).catch(() => []);
      return files.filter((f) => f.endsWith('.ndjson')).length > 0;
    }, 'the Python writer to spool');
    // The store comes up: this process opens it, owns it and serves it on its socket.
    const store = await openStore({ dataDir: join(home, 'lineage') });
    cleanup.push(() => store.close());
    const childId = `${workflowId}-train`;
    const graph = await eventually(async () => {
      const g = await store.trace({ uri: `file://${join(dir, 'model.pkl')}` });
      return g.runs.length === 2 ? g : undefined;
    }, 'the spooled runs to be replayed');
    expect(graph.runs.map((r) => r.component).sort()).toEqual(['featurize', 'training']);
    expect(graph.dependencies).toHaveLength(1);
    const featurize = await store.run(`temporal:default/${workflowId}/${runId}/1/1`);
    expect(featurize.workflow).toMatchObject({
      workflowId,
      workflowType: 'PythonPipeline',
      rootWorkflowId: workflowId,
    });
    const child = graph.runs.find((r) => r.component === 'training')!;
    const trained = await store.run(child.id);
    expect(trained.runKey).toMatch(new RegExp(`^temporal:default/${childId}/[^/]+/1/2$`));
    expect(trained.workflow).toMatchObject({
      workflowId: childId,
      workflowType: 'TrainingChild',
      parentWorkflowId: workflowId,
      rootWorkflowId: workflowId,
    });
    expect(trained.metadata).toMatchObject({ pipelineRun: { workflowId, runId } });
    const failed = await store.run(trained.runKey.replace(/\/2$/, '/1'));
    expect(failed).toMatchObject({ status: 'failed', attempt: 1 });
    const all = await store.recent({ limit: 50 });
    expect(all.runs.map((r) => r.runKey).sort()).toEqual(
      [featurize.runKey, failed.runKey, trained.runKey].sort(),
    );
  });
});
