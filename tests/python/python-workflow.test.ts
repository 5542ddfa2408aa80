import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '@mltrace/store';
import { eventually, repoRoot, temporalAddress } from '@mltrace/test-helpers';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';

const PYTHON = join(
  process.env.MLTRACE_TOOLS_DIR || join(repoRoot(), '.tools'),
  'python-venv',
  'bin',
  'python',
);
const WORKER = fileURLToPath(new URL('./worker.py', import.meta.url));
const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

/** Starts the Python worker process and waits for its `ready`. */
async function startPythonWorker(queue: string, env: NodeJS.ProcessEnv, cwd: string): Promise<ChildProcess> {
  const child = spawn(PYTHON, [WORKER, temporalAddress(), queue], {
    env,
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready')) resolve();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`the Python worker exited (${code}): ${output}`)));
  });
  return child;
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

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
