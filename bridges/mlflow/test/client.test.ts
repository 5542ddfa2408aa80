import { ConfigError } from '@mltrace/core';
import { type MlflowServer, mlflowTrackingUri, startMlflowServer } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowClient } from '../src/client.js';
import { MlflowError } from '../src/errors.js';
import {
  createExperiment,
  createTrainingRun,
  type FaultProxy,
  registerVersion,
  startFaultProxy,
  uniqueName,
} from './test-fixtures.js';

let uri: string;
let client: MlflowClient;
let experimentId: string;
let proxy: FaultProxy;

beforeAll(async () => {
  uri = mlflowTrackingUri();
  client = new MlflowClient({ trackingUri: uri });
  experimentId = await createExperiment(client, 'client');
  proxy = await startFaultProxy(uri);
});

afterAll(async () => {
  await proxy?.close();
});

async function caught(promise: Promise<unknown>): Promise<MlflowError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MlflowError) return error;
    throw error;
  }
  throw new Error('expected an MlflowError');
}

describe('MlflowClient against a real MLflow server', () => {
  it('pages through registered models and model versions with next_page_token', async () => {
    const prefix = uniqueName('paged');
    const runId = await createTrainingRun(client, experimentId);
    for (const suffix of ['a', 'b', 'c']) {
      await client.createRegisteredModel({ name: `${prefix}-${suffix}` });
      await registerVersion(client, `${prefix}-${suffix}`, runId);
      await registerVersion(client, `${prefix}-${suffix}`, runId);
    }
    const filter = `name LIKE '${prefix}-%'`;
    const first = await client.searchRegisteredModels({ filter, maxResults: 2, orderBy: ['name ASC'] });
    expect(first.items.map((m) => m.name)).toEqual([`${prefix}-a`, `${prefix}-b`]);
    expect(first.nextPageToken).toBeTypeOf('string');
    const second = await client.searchRegisteredModels({
      filter,
      maxResults: 2,
      orderBy: ['name ASC'],
      pageToken: first.nextPageToken!,
    });
    expect(second.items.map((m) => m.name)).toEqual([`${prefix}-c`]);
    expect(second.nextPageToken).toBeUndefined();

    const before = client.requestCount;
    const all = await client.listModelVersions({ filter: `name LIKE '${prefix}-%'`, maxResults: 4 });
    expect(all.map((v) => `${v.name}/${v.version}`)).toEqual([
      `${prefix}-a/1`,
      `${prefix}-a/2`,
      `${prefix}-b/1`,
      `${prefix}-b/2`,
      `${prefix}-c/1`,
      `${prefix}-c/2`,
    ]);
    expect(client.requestCount - before).toBe(2);
    expect(all[0]).toMatchObject({ version: '1', currentStage: 'None', status: 'READY', runId });
  });

  it('reads aliases from the registered model, resolves them, and deletes them with a JSON DELETE body', async () => {
    const name = uniqueName('aliases');
    const runId = await createTrainingRun(client, experimentId);
    await client.createRegisteredModel({ name, tags: { team: 'risk' } });
    await registerVersion(client, name, runId);
    await registerVersion(client, name, runId);
    await client.setRegisteredModelAlias(name, 'champion', '2');
    await client.setRegisteredModelAlias(name, 'challenger', '1');

    const model = await client.getRegisteredModel(name);
    expect(model.aliases).toEqual({ champion: '2', challenger: '1' });
    expect(model.tags).toEqual({ team: 'risk' });
    const champion = await client.getModelVersionByAlias(name, 'champion');
    expect(champion).toMatchObject({ name, version: '2', aliases: ['champion'] });

    await client.deleteRegisteredModelAlias(name, 'challenger');
    await client.setModelVersionTag(name, '2', 'validation_status', 'passed');
    await client.deleteRegisteredModelTag(name, 'team');
    const after = await client.getRegisteredModel(name);
    expect(after.aliases).toEqual({ champion: '2' });
    expect(after.tags).toEqual({});
    expect((await client.getModelVersion(name, '2')).tags).toEqual({ validation_status: 'passed' });

    const error = await caught(client.getModelVersionByAlias(name, 'challenger'));
    expect(error).toMatchObject({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE', code: 'invalid_input' });
    expect(error.endpoint).toBe('GET registered-models/alias');
  });

  it('moves a version through stages and reports the new stage', async () => {
    const name = uniqueName('stages');
    const runId = await createTrainingRun(client, experimentId);
    await client.createRegisteredModel({ name });
    await registerVersion(client, name, runId);
    const moved = await client.transitionModelVersionStage({ name, version: '1', stage: 'Production' });
    expect(moved.currentStage).toBe('Production');
    const model = await client.getRegisteredModel(name);
    expect(model.latestVersions.map((v) => [v.version, v.currentStage])).toEqual([['1', 'Production']]);
  });

  it('returns a run with its dataset inputs, params, metrics and git commit', async () => {
    const runId = await createTrainingRun(client, experimentId, {
      gitCommit: 'feedbeef',
      datasets: [
        { name: 'train', digest: 'd1', uri: 's3://bucket/train.parquet', sourceType: 's3' },
        {
          name: 'eval',
          digest: 'd2',
          uri: 's3://bucket/eval.parquet',
          sourceType: 's3',
          context: 'evaluation',
        },
      ],
    });
    const run = await client.getRun(runId);
    expect(run.info).toMatchObject({ runId, experimentId, status: 'FINISHED', lifecycleStage: 'active' });
    expect(run.params).toEqual({ alpha: '0.5' });
    expect(run.metrics.map((m) => [m.key, m.value])).toEqual([['rmse', 0.25]]);
    expect(run.tags['mlflow.source.git.commit']).toBe('feedbeef');
    expect(
      run.datasetInputs.map((d) => [d.dataset.name, d.dataset.digest, d.tags['mlflow.data.context']]).sort(),
    ).toEqual([
      ['eval', 'd2', 'evaluation'],
      ['train', 'd1', 'training'],
    ]);
    const found = await client.searchRuns({
      experimentIds: [experimentId],
      filter: `attributes.run_id = '${runId}'`,
    });
    expect(found.items.map((r) => r.info.runId)).toEqual([runId]);
    expect(found.items[0]?.datasetInputs).toHaveLength(2);
  });

  it('turns a 404 for an unknown model into an MlflowError that names the model', async () => {
    const name = uniqueName('missing');
    const error = await caught(client.getRegisteredModel(name));
    expect(error).toMatchObject({
      status: 404,
      errorCode: 'RESOURCE_DOES_NOT_EXIST',
      endpoint: 'GET registered-models/get',
      code: 'not_found',
      attempts: 1,
    });
    expect(error.message).toContain(`check the model name "${name}"`);
    expect(error.message).toContain(uri);
  });

  it('retries a read after a dropped connection and counts every attempt', async () => {
    // Fault injection: a real server does not drop connections on demand.
    let drops = 1;
    proxy.setRule(() => (drops-- > 0 ? { kind: 'drop' } : { kind: 'forward' }));
    const viaProxy = new MlflowClient({ trackingUri: proxy.url, retryDelayMs: 10 });
    const models = await viaProxy.searchRegisteredModels({ maxResults: 1 });
    expect(models.items).toHaveLength(1);
    expect(viaProxy.requestCount).toBe(2);
    proxy.setRule(() => ({ kind: 'forward' }));
  });

  it('does not retry a create whose connection dropped after the server applied it, so no duplicate version appears', async () => {
    // Fault injection: the proxy forwards the create, then drops the answer.
    const name = uniqueName('nodup');
    const runId = await createTrainingRun(client, experimentId);
    await client.createRegisteredModel({ name });
    proxy.setRule((req) =>
      req.url?.includes('model-versions/create') ? { kind: 'drop-after-forward' } : { kind: 'forward' },
    );
    const viaProxy = new MlflowClient({ trackingUri: proxy.url, retryDelayMs: 10 });
    const error = await caught(registerVersion(viaProxy, name, runId));
    expect(error).toMatchObject({ errorCode: 'UNREACHABLE', code: 'unavailable', attempts: 1 });
    expect(error.message).toContain('not retried');
    expect((await client.listVersionsOfModel(name)).map((v) => v.version)).toEqual(['1']);
    proxy.setRule(() => ({ kind: 'forward' }));
  });

  it('retries 503 answers, honouring Retry-After, and gives up with the status after the last retry', async () => {
    // Fault injection: the proxy answers 503 like an overloaded gateway in front of MLflow.
    let failures = 2;
    proxy.setRule(() =>
      failures-- > 0
        ? { kind: 'answer', status: 503, body: 'upstream busy', headers: { 'retry-after': '0' } }
        : { kind: 'forward' },
    );
    const viaProxy = new MlflowClient({ trackingUri: proxy.url, retryDelayMs: 10 });
    await expect(viaProxy.searchRegisteredModels({ maxResults: 1 })).resolves.toBeDefined();
    expect(viaProxy.requestCount).toBe(3);

    proxy.setRule(() => ({ kind: 'answer', status: 503, body: 'upstream busy' }));
    const error = await caught(
      new MlflowClient({ trackingUri: proxy.url, retries: 2, retryDelayMs: 10 }).getRegisteredModel('x'),
    );
    expect(error).toMatchObject({ status: 503, attempts: 3, code: 'unavailable' });
    expect(error.message).toContain("check the tracking server's log");
    proxy.setRule(() => ({ kind: 'forward' }));
  });

  it('gives up on a slow server after its timeout, with a message naming the tracking URI', async () => {
    // Fault injection: the proxy holds every answer for 3 s.
    proxy.setRule(() => ({ kind: 'forward', delayMs: 3000 }));
    const slow = new MlflowClient({ trackingUri: proxy.url, timeoutMs: 200, retries: 1, retryDelayMs: 10 });
    const error = await caught(slow.searchRegisteredModels());
    expect(error).toMatchObject({ errorCode: 'TIMEOUT', status: 0, attempts: 2, code: 'unavailable' });
    expect(error.message).toContain(`did not answer GET registered-models/search within 200 ms`);
    expect(error.message).toContain(`check MLFLOW_TRACKING_URI (${proxy.url})`);
    proxy.setRule(() => ({ kind: 'forward' }));
  });

  it('says to check the URI when nothing listens there', async () => {
    const closed = await startFaultProxy(uri);
    const url = closed.url;
    await closed.close();
    const error = await caught(
      new MlflowClient({ trackingUri: url, retries: 1, retryDelayMs: 10 }).getRegisteredModel('x'),
    );
    expect(error).toMatchObject({ errorCode: 'UNREACHABLE', attempts: 2 });
    expect(error.message).toContain(`could not reach MLflow at ${url}`);
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('stops retrying when the caller aborts', async () => {
    proxy.setRule(() => ({ kind: 'forward', delayMs: 3000 }));
    const controller = new AbortController();
    const pending = new MlflowClient({ trackingUri: proxy.url }).searchRegisteredModels(
      {},
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error('stop now')), 50);
    await expect(pending).rejects.toThrow('stop now');
    proxy.setRule(() => ({ kind: 'forward' }));
  });

  it('refuses a missing or non-http tracking URI with a ConfigError', () => {
    expect(() => new MlflowClient({ env: {} })).toThrow(ConfigError);
    expect(() => new MlflowClient({ env: { MLFLOW_TRACKING_URI: 'databricks' } })).toThrow(
      /not an http\(s\) URL/,
    );
    expect(() => new MlflowClient({ env: { MLFLOW_TRACKING_URI: './mlruns' } })).toThrow(ConfigError);
  });

  it('reads the server version', async () => {
    expect(await client.serverVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe("MlflowClient against MLflow's real basic-auth app", () => {
  const admin = { username: 'admin', password: 'Adm1n-for-tests-only' };
  let auth: MlflowServer;
  let port: string;
  beforeAll(async () => {
    auth = await startMlflowServer({
      basicAuth: { adminUsername: admin.username, adminPassword: admin.password },
    });
    port = new URL(auth.trackingUri).port;
    const asAdmin = new MlflowClient({
      env: {
        MLFLOW_TRACKING_URI: auth.trackingUri,
        MLFLOW_TRACKING_USERNAME: admin.username,
        MLFLOW_TRACKING_PASSWORD: admin.password,
      },
    });
    await asAdmin.createRegisteredModel({ name: 'guarded' });
    // A user of the auth app's own REST API, with the default permission (READ).
    const created = await fetch(`${auth.trackingUri}/api/2.0/mlflow/users/create`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString('base64')}`,
      },
      body: JSON.stringify({ username: 'alice', password: 'alice-pw-123456' }),
    });
    expect(created.status).toBe(200);
  });
  afterAll(async () => {
    await auth?.stop();
  });

  it('answers a 401 with an MlflowError that says to check MLFLOW_TRACKING_TOKEN, without the token', async () => {
    const wrong = new MlflowClient({
      env: { MLFLOW_TRACKING_URI: auth.trackingUri, MLFLOW_TRACKING_TOKEN: 'wrong-token-123' },
    });
    const error = await caught(wrong.listRegisteredModels());
    expect(error).toMatchObject({ status: 401, errorCode: 'HTTP_401', code: 'config', attempts: 1 });
    expect(error.message).toContain('check MLFLOW_TRACKING_TOKEN');
    expect(JSON.stringify({ ...error, message: error.message, stack: error.stack })).not.toContain(
      'wrong-token-123',
    );
  });

  it('sends basic auth from credentials in the tracking URI or the env, and keeps the password out of trackingUri and errors', async () => {
    const inUri = new MlflowClient({
      env: { MLFLOW_TRACKING_URI: `http://alice:alice-pw-123456@127.0.0.1:${port}/` },
    });
    expect(inUri.trackingUri).toBe(`http://127.0.0.1:${port}`);
    // READ lets alice see the model; it does not let her move an alias.
    expect((await inUri.getRegisteredModel('guarded')).name).toBe('guarded');
    const error = await caught(inUri.deleteRegisteredModel('guarded'));
    expect(error).toMatchObject({ status: 403, code: 'config' });
    expect(error.message).toContain('lack permission');
    expect(`${error.message} ${error.stack}`).not.toContain('alice-pw-123456');

    const fromEnv = new MlflowClient({
      env: {
        MLFLOW_TRACKING_URI: auth.trackingUri,
        MLFLOW_TRACKING_USERNAME: 'alice',
        MLFLOW_TRACKING_PASSWORD: 'alice-pw-123456',
        MLFLOW_TRACKING_TOKEN: 'ignored-when-basic',
      },
    });
    expect((await fromEnv.getRegisteredModel('guarded')).name).toBe('guarded');
    const badPassword = new MlflowClient({
      env: {
        MLFLOW_TRACKING_URI: auth.trackingUri,
        MLFLOW_TRACKING_USERNAME: 'alice',
        MLFLOW_TRACKING_PASSWORD: 'nope',
      },
    });
    expect(await caught(badPassword.getRegisteredModel('guarded'))).toMatchObject({ status: 401 });
  });
});
