import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { temporalAddress } from '@mltrace/test-helpers';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTemplate, type Workspace, workspace } from '../test-cli.js';
import type { PipelineActivities } from '../test-workflows.js';

const workflowsPath = fileURLToPath(new URL('../test-workflows.ts', import.meta.url));

const activities: PipelineActivities = {
  clean: async (rawUri) => rawUri.replace(/raw\.csv$/, 'clean.parquet'),
  train: async (cleanUri) => cleanUri.replace(/clean\.parquet$/, 'model.pkl'),
};

interface BackfillJson {
  workflows: number;
  activities: number;
  created: number;
  updated: number;
  unchanged: number;
  pending: number;
  address: string;
  namespace: string;
}

describe('mltrace backfill', { timeout: 180_000 }, () => {
  let ws: Workspace;
  let workflowId: string;
  let bucket: string;

  beforeAll(async () => {
    ws = await workspace();
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // installed already in this process
    }
    // A pipeline run by a worker without the plugin: the store knows nothing of it.
    const suffix = randomBytes(4).toString('hex');
    const taskQueue = `cli-backfill-${suffix}`;
    workflowId = `cli-backfill-${suffix}`;
    bucket = `s3://cli-backfill-${suffix}`;
    const { code } = await bundleWorkflowCode({
      workflowsPath,
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
    });
    const native = await NativeConnection.connect({ address: temporalAddress() });
    const connection = await Connection.connect({ address: temporalAddress() });
    try {
      const worker = await Worker.create({
        connection: native,
        taskQueue,
        workflowBundle: { code },
        activities,
      });
      const client = new Client({ connection, namespace: 'default' });
      await worker.runUntil(
        client.workflow.execute('cleanAndTrain', {
          taskQueue,
          workflowId,
          args: [`${bucket}/raw.csv`],
        }),
      );
    } finally {
      await connection.close();
      await native.close();
    }
  });

  afterAll(async () => {
    await ws?.remove();
    await removeTemplate();
  });

  it("writes the activity runs of a workflow from Temporal's history, linked by their I/O, and nothing new the second time", async () => {
    const env = { TEMPORAL_ADDRESS: temporalAddress() };
    const first = await ws.run(['backfill', '--workflow-id', workflowId], { env });
    expect(first).toEqual({
      code: 0,
      stdout: `backfill from ${temporalAddress()} (namespace default): 1 workflow run read, 2 activities; 2 runs written, 0 completed, 0 already recorded\n`,
      stderr: '',
    });

    const trace = await ws.json<{
      runs: Array<{ component: string; source: string; runKey: string; workflow: { workflowId: string } }>;
      dependencies: Array<{ run: number; dependsOn: number }>;
    }>('trace', `${bucket}/model.pkl`);
    expect(trace.runs.map((r) => [r.component, r.source, r.workflow.workflowId])).toEqual([
      ['train', 'temporal', workflowId],
      ['clean', 'temporal', workflowId],
    ]);
    expect(trace.runs[0]?.runKey).toMatch(new RegExp(`^temporal:default/${workflowId}/[0-9a-f-]+/2/1$`));
    expect(trace.dependencies).toHaveLength(1);

    const again = await ws.run(['backfill', '--workflow-id', workflowId, '--json'], { env });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout) as BackfillJson).toEqual({
      workflows: 1,
      activities: 2,
      created: 0,
      updated: 0,
      unchanged: 2,
      pending: 0,
      address: temporalAddress(),
      namespace: 'default',
    });
    expect((await ws.json<{ runs: unknown[] }>('recent')).runs).toHaveLength(2);
  });

  it('finds workflows through a visibility query, with --address and --namespace', async () => {
    const args = ['backfill', '--query', `WorkflowId = "${workflowId}"`];
    args.push('--address', temporalAddress(), '--namespace', 'default', '--json');
    // Visibility is eventually consistent: wait until the query lists the workflow.
    let result = await ws.run(args);
    for (let i = 0; i < 30 && result.code === 0 && JSON.parse(result.stdout).workflows === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      result = await ws.run(args);
    }
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      workflows: 1,
      activities: 2,
      created: 0,
      unchanged: 2,
    });
  });

  it('says in one line that a workflow does not exist (exit 3), and refuses ambiguous options (exit 2)', async () => {
    const missing = await ws.run(['backfill', '--workflow-id', `${workflowId}-missing`], {
      env: { TEMPORAL_ADDRESS: temporalAddress() },
    });
    expect(missing.code).toBe(3);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/^mltrace: error: .*not found.*\nhint: check the workflow id/i);

    const both = await ws.run(['backfill', '--workflow-id', 'a', '--query', 'WorkflowType = "x"']);
    expect(both).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'mltrace: error: give --workflow-id ID or --query VISIBILITY_QUERY (exactly one)\n' +
        'hint: mltrace backfill --workflow-id retrain-2024-06-01\n',
    });
    expect((await ws.run(['backfill', '--run-id', 'r', '--query', 'x'])).code).toBe(2);
  });
});
