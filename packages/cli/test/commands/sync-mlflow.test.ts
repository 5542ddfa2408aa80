import { randomBytes } from 'node:crypto';
import { MlflowClient } from '@mltrace/mlflow';
import { freePort, mlflowTrackingUri, startMlflowServer } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { removeTemplate, type Workspace, workspace } from '../test-cli.js';

interface SummaryJson {
  server: string;
  models: number;
  modelsChanged: number;
  versions: number;
  promotions: number;
  updated: number;
  requests: number;
}

interface TraceJson {
  runs: Array<{
    component: string;
    source: string;
    gitCommit: string | null;
    outputs: Array<{ uri: string; version: string }>;
  }>;
}

describe('mltrace sync mlflow', { timeout: 180_000 }, () => {
  let ws: Workspace;
  let client: MlflowClient;
  let model: string;
  let trainingRun: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    ws = await workspace();
    env = { MLFLOW_TRACKING_URI: mlflowTrackingUri() };
    client = new MlflowClient({ trackingUri: mlflowTrackingUri() });
    model = `cli-taxi-${randomBytes(4).toString('hex')}`;
    const experiment = await client.createExperiment(`${model}-experiment`);
    const run = await client.createRun({
      experimentId: experiment,
      runName: 'train',
      tags: { 'mlflow.source.git.commit': '4be5f2e0c1d2' },
    });
    trainingRun = run.info.runId;
    await client.updateRun({ runId: trainingRun, status: 'FINISHED', endTime: Date.now() });
    await client.createRegisteredModel({ name: model });
    const v1 = await client.createModelVersion({
      name: model,
      source: `s3://bucket/models/${model}/1`,
      runId: trainingRun,
    });
    await client.setRegisteredModelAlias(model, 'champion', v1.version);
  });

  afterAll(async () => {
    await ws?.remove();
    await removeTemplate();
  });

  it('records a model version and its alias, so that trace models:/NAME@ALIAS finds the registration and its commit; a re-sync writes nothing new', async () => {
    const first = await ws.run(['sync', 'mlflow', '--model', model], { env });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      new RegExp(
        `^mlflow ${mlflowTrackingUri()}: 1 model \\(1 changed\\), 1 new version, 1 training run, 1 promotion; \\d+ requests? in \\d+\\.\\d s\\n$`,
      ),
    );

    const trace = await ws.json<TraceJson>('trace', `models:/${model}@champion`);
    // The promotion, the version, and the MLflow run that trained it (named by its experiment).
    expect(trace.runs.map((r) => [r.component, r.source])).toEqual([
      ['promote', 'mlflow'],
      ['register', 'mlflow'],
      [`${model}-experiment`, 'mlflow'],
    ]);
    expect(trace.runs[0]?.outputs).toEqual([
      expect.objectContaining({ uri: `models:/${model}@champion`, version: '1' }),
    ]);
    expect(trace.runs[1]?.gitCommit).toBe('4be5f2e0c1d2');
    expect(trace.runs[2]?.gitCommit).toBe('4be5f2e0c1d2');

    const again = await ws.run(['sync', 'mlflow', '--model', model, '--json'], { env });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout) as SummaryJson).toMatchObject({
      server: mlflowTrackingUri(),
      models: 1,
      versions: 0,
      promotions: 0,
    });
  });

  it('with --watch, syncs again until stopped, printing one JSON line per sync, and sees an alias move', async () => {
    const v2 = await client.createModelVersion({
      name: model,
      source: `s3://bucket/models/${model}/2`,
      runId: trainingRun,
    });
    const controller = new AbortController();
    let stdout = '';
    let stderr = '';
    const summaries = () =>
      stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as SummaryJson);
    const watching = runCli(
      ['node', 'mltrace', 'sync', 'mlflow', '--model', model, '--watch', '--interval', '1s', '--json'],
      {
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: (s: string) => (stderr += s) },
        env: { ...ws.env, ...env },
        cwd: ws.cwd,
        signal: controller.signal,
      },
    );
    const waitFor = async (done: () => boolean, what: string) => {
      for (let i = 0; i < 240 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 250));
      if (!done()) throw new Error(`timed out waiting for ${what}; stdout: ${stdout}; stderr: ${stderr}`);
    };
    await waitFor(() => summaries().some((s) => s.versions === 1), 'the sync of version 2');
    await client.setRegisteredModelAlias(model, 'champion', v2.version);
    await waitFor(() => summaries().some((s) => s.promotions === 1), 'the sync of the alias move');
    controller.abort();
    expect(await watching).toBe(0);
    expect(stderr).toMatch(/^mltrace: watching .+ every 1 s; .+\n(.|\n)*mltrace: stopped watching\n$/);

    const trace = await ws.json<TraceJson>('trace', `models:/${model}@champion`);
    expect(trace.runs[0]?.outputs).toEqual([
      expect.objectContaining({ uri: `models:/${model}@champion`, version: v2.version }),
    ]);
    const why = await ws.run(['why', `models:/${model}@champion`], { env });
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).toMatch(new RegExp(`^models:/${model}@champion is version 2 \\(per MLflow\\)\\n`));
    // No retraining decision: the registry move itself is the promotion, with no recorded reason.
    expect(why.stdout).toContain(
      'Promotion: alias moved from version 1 to 2 in the MLflow registry (no recorded reason)',
    );
  });

  it('says in one line that the tracking server cannot be reached, naming MLFLOW_TRACKING_URI but no secret', async () => {
    const port = await freePort();
    const result = await ws.run(['sync', 'mlflow'], {
      env: {
        MLFLOW_TRACKING_URI: `http://alice:pass-w0rd-secret@127.0.0.1:${port}`,
        MLFLOW_TRACKING_TOKEN: 'tok-secret-123456',
      },
    });
    expect(result.code).toBe(4);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^mltrace: error: [^\n]*MLFLOW_TRACKING_URI[^\n]*\n$/);
    expect(result.stderr).toContain(`http://127.0.0.1:${port}`);
    for (const secret of ['pass-w0rd-secret', 'tok-secret-123456', 'alice:']) {
      expect(result.stderr).not.toContain(secret);
    }
  });

  it('says in one line that credentials are refused (exit 5), without printing them, and syncs with the right ones', async () => {
    // MLflow's real basic-auth app, on a server of its own.
    const admin = { username: 'admin', password: `Adm1n-${randomBytes(6).toString('hex')}` };
    const auth = await startMlflowServer({
      basicAuth: { adminUsername: admin.username, adminPassword: admin.password },
    });
    try {
      const credentials = {
        MLFLOW_TRACKING_USERNAME: admin.username,
        MLFLOW_TRACKING_PASSWORD: admin.password,
      };
      await new MlflowClient({
        env: { MLFLOW_TRACKING_URI: auth.trackingUri, ...credentials },
      }).createRegisteredModel({
        name: model,
      });
      const wrong = await ws.run(['sync', 'mlflow', '--model', model], {
        env: { MLFLOW_TRACKING_URI: auth.trackingUri, MLFLOW_TRACKING_TOKEN: 'wrong-token-abcdef' },
      });
      expect(wrong.code).toBe(5);
      expect(wrong.stdout).toBe('');
      expect(wrong.stderr).toMatch(/^mltrace: error: [^\n]*401[^\n]*MLFLOW_TRACKING_TOKEN[^\n]*\n$/);
      expect(wrong.stderr).not.toContain('wrong-token-abcdef');

      const right = await ws.run(['sync', 'mlflow', '--model', model, '--json'], {
        env: { MLFLOW_TRACKING_URI: auth.trackingUri, ...credentials },
      });
      expect(right.code, right.stderr).toBe(0);
      expect(JSON.parse(right.stdout)).toMatchObject({ models: 1 });
      expect(right.stdout + right.stderr).not.toContain(admin.password);
    } finally {
      await auth.stop();
    }
  });
});
