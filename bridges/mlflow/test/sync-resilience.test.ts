import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { mlflowTrackingUri, startMlflowServer } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowClient } from '../src/client.js';
import { MlflowError } from '../src/errors.js';
import { mlflowSyncStateKey, syncMlflow } from '../src/sync.js';
import {
  createExperiment,
  createLoggedModel,
  createTrainingRun,
  registerVersion,
  startFaultProxy,
  uniqueName,
} from './test-fixtures.js';

let store: LineageStore;

beforeAll(async () => {
  store = await openPgliteStore({ dataDir: 'memory://' });
});

afterAll(async () => {
  await store?.close();
});

async function runKeys(server: string): Promise<string[]> {
  const page = await store.recent({ source: 'mlflow', limit: 500 });
  return page.runs
    .map((r) => r.runKey)
    .filter((key) => key.startsWith(`mlflow:${server}/`))
    .sort();
}

describe('syncMlflow when MLflow fails', () => {
  it('fails with a clear message while the server is stopped, keeps its cursor, and completes without duplicates once it is back', {
    timeout: 400_000,
  }, async () => {
    const server = await startMlflowServer({ dedicated: true });
    try {
      const client = new MlflowClient({ trackingUri: server.trackingUri, retries: 1, retryDelayMs: 50 });
      const experimentId = await createExperiment(client);
      const name = uniqueName('restart');
      await client.createRegisteredModel({ name });
      const runId = await createTrainingRun(client, experimentId, {
        datasets: [{ name: 'train', digest: 'd1', uri: 's3://bucket/restart/train.parquet' }],
      });
      await registerVersion(client, name, runId);
      await registerVersion(client, name, runId);
      await client.setRegisteredModelAlias(name, 'champion', '1');
      expect(await syncMlflow({ store, client })).toMatchObject({ versions: 2, promotions: 1 });

      await registerVersion(client, name, runId);
      await client.setRegisteredModelAlias(name, 'champion', '3');
      const key = mlflowSyncStateKey(server.trackingUri);
      const cursor = await store.getSyncState(key);
      const before = await runKeys(server.trackingUri);

      await server.pause();
      const error = await syncMlflow({ store, client }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MlflowError);
      expect(error).toMatchObject({ errorCode: 'UNREACHABLE', code: 'unavailable', attempts: 2 });
      expect((error as Error).message).toContain(`could not reach MLflow at ${server.trackingUri}`);
      expect((error as Error).message).toContain('check MLFLOW_TRACKING_URI');
      expect(await store.getSyncState(key)).toEqual(cursor);
      expect(await runKeys(server.trackingUri)).toEqual(before);

      await server.resume();
      expect(await syncMlflow({ store, client })).toMatchObject({ versions: 1, promotions: 1, updated: 0 });
      const after = await runKeys(server.trackingUri);
      expect(after).toHaveLength(before.length + 2);
      expect(new Set(after).size).toBe(after.length);
      expect(await syncMlflow({ store, client })).toMatchObject({ versions: 0, promotions: 0, updated: 0 });
      const graph = await store.trace({ uri: `models:/${name}@champion` });
      const labels = graph.runs.map((r) =>
        r.runKey.endsWith(`/runs/${runId}`)
          ? 'train'
          : `${r.component} ${(r.metadata as { version: string }).version}`,
      );
      expect(labels[0]).toBe('promote 3');
      // One training run behind both versions.
      expect(labels.sort()).toEqual(['promote 1', 'promote 3', 'register 1', 'register 3', 'train']);
    } finally {
      await server.stop();
    }
  });

  it('times out on a slow server with a clear message, keeps the models written before, and completes without duplicates later', async () => {
    // Fault injection: a proxy in front of the real server holds the answers about one run.
    const real = new MlflowClient({ trackingUri: mlflowTrackingUri() });
    const proxy = await startFaultProxy(mlflowTrackingUri());
    try {
      const experimentId = await createExperiment(real);
      const prefix = uniqueName('slow');
      const runA = await createTrainingRun(real, experimentId);
      const runB = await createTrainingRun(real, experimentId);
      await real.createRegisteredModel({ name: `${prefix}-a` });
      await real.createRegisteredModel({ name: `${prefix}-b` });
      await registerVersion(real, `${prefix}-a`, runA);
      await registerVersion(real, `${prefix}-b`, runB);
      await real.setRegisteredModelAlias(`${prefix}-b`, 'champion', '1');

      proxy.setRule((req) =>
        req.url?.includes(runB) ? { kind: 'forward', delayMs: 3000 } : { kind: 'forward' },
      );
      const client = new MlflowClient({
        trackingUri: proxy.url,
        timeoutMs: 300,
        retries: 1,
        retryDelayMs: 10,
      });
      const filter = `name LIKE '${prefix}-%'`;
      const error = await syncMlflow({ store, client, filter, batchSize: 1 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ errorCode: 'TIMEOUT', endpoint: 'GET runs/get', attempts: 2 });
      expect((error as Error).message).toContain(`did not answer GET runs/get within 300 ms (2 attempts)`);
      expect((error as Error).message).toContain(`check MLFLOW_TRACKING_URI (${proxy.url})`);

      // The first model was written with its cursor; the second was not.
      const cursor = (await store.getSyncState(mlflowSyncStateKey(proxy.url))) as {
        models: Record<string, unknown>;
      };
      expect(Object.keys(cursor.models)).toEqual([`${prefix}-a`]);
      // Its version and the run that trained it.
      expect(await runKeys(proxy.url)).toHaveLength(2);

      proxy.setRule(() => ({ kind: 'forward' }));
      expect(await syncMlflow({ store, client, filter, batchSize: 1 })).toMatchObject({
        versions: 1,
        promotions: 1,
        updated: 0,
      });
      const keys = await runKeys(proxy.url);
      expect(keys).toHaveLength(5);
      expect(await syncMlflow({ store, client, filter })).toMatchObject({
        versions: 0,
        promotions: 0,
        updated: 0,
      });
      expect(await runKeys(proxy.url)).toEqual(keys);
    } finally {
      await proxy.close();
    }
  });

  it('a failing LoggedModel endpoint (5xx, timeout) stops the sync with a clear error and loses nothing; a 404 registers the version without the logged model, with a warning', async () => {
    // Fault injection: a proxy in front of the real server answers the logged-models requests.
    const real = new MlflowClient({ trackingUri: mlflowTrackingUri() });
    const proxy = await startFaultProxy(mlflowTrackingUri());
    try {
      const experimentId = await createExperiment(real);
      const prefix = uniqueName('logged');
      const runId = await createTrainingRun(real, experimentId);
      const modelId = await createLoggedModel(mlflowTrackingUri(), {
        experimentId,
        runId,
        params: { C: '0.5' },
      });
      await real.createRegisteredModel({ name: `${prefix}-a` });
      await real.createModelVersion({ name: `${prefix}-a`, source: `models:/${modelId}`, runId, modelId });
      const client = new MlflowClient({
        trackingUri: proxy.url,
        timeoutMs: 300,
        retries: 1,
        retryDelayMs: 10,
      });
      const filter = `name LIKE '${prefix}-%'`;
      const key = mlflowSyncStateKey(proxy.url);
      const logged = (req: { url?: string | undefined }) => req.url?.includes('/logged-models/') === true;

      proxy.setRule((req) =>
        logged(req)
          ? {
              kind: 'answer',
              status: 503,
              body: '{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}',
            }
          : { kind: 'forward' },
      );
      const failed = await syncMlflow({ store, client, filter }).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(MlflowError);
      expect(failed).toMatchObject({ status: 503, endpoint: `GET logged-models/${modelId}`, attempts: 2 });
      expect((failed as Error).message).toContain(
        `answered GET logged-models/${modelId} with 503 TEMPORARILY_UNAVAILABLE after 2 attempts: busy; MLflow failed on its side`,
      );
      proxy.setRule((req) => (logged(req) ? { kind: 'forward', delayMs: 3000 } : { kind: 'forward' }));
      const slow = await syncMlflow({ store, client, filter }).catch((e: unknown) => e);
      expect(slow).toMatchObject({ errorCode: 'TIMEOUT', endpoint: `GET logged-models/${modelId}` });
      // Nothing half-written: no run, no cursor entry, so the next sync reads the version again.
      expect(await runKeys(proxy.url)).toEqual([]);
      const cursor = (await store.getSyncState(key)) as { models?: Record<string, unknown> } | null;
      expect(Object.keys(cursor?.models ?? {})).toEqual([]);

      proxy.setRule(() => ({ kind: 'forward' }));
      expect(await syncMlflow({ store, client, filter })).toMatchObject({ versions: 1, trainingRuns: 1 });
      const register = (await store.recent({ component: 'register', source: 'mlflow', limit: 50 })).runs.find(
        (r) => (r.metadata as { model?: string }).model === `${prefix}-a`,
      )!;
      expect(register.metadata.loggedModel).toMatchObject({
        modelId,
        sourceRunId: runId,
        params: { C: '0.5' },
      });

      // A server without LoggedModels (2.x) or a deleted one: 404, the version is registered without it.
      await real.createRegisteredModel({ name: `${prefix}-b` });
      await real.createModelVersion({ name: `${prefix}-b`, source: `models:/${modelId}`, runId, modelId });
      proxy.setRule((req) =>
        logged(req)
          ? {
              kind: 'answer',
              status: 404,
              body: '{"error_code": "ENDPOINT_NOT_FOUND", "message": "no such endpoint"}',
            }
          : { kind: 'forward' },
      );
      const warnings: string[] = [];
      const logger = {
        debug() {},
        info() {},
        error() {},
        warn: (message: string) => void warnings.push(message),
      };
      expect(await syncMlflow({ store, client, filter, logger })).toMatchObject({ versions: 1, updated: 0 });
      expect(warnings).toContain(
        'mlflow sync: LoggedModel not found; registering the version without its params and metrics',
      );
      const b = (await store.recent({ component: 'register', source: 'mlflow', limit: 50 })).runs.find(
        (r) => (r.metadata as { model?: string }).model === `${prefix}-b`,
      )!;
      expect(b.metadata.loggedModel).toBeUndefined();
      expect(b.inputs.map((p) => p.uri)).toEqual([`models:/${modelId}`]);
      proxy.setRule(() => ({ kind: 'forward' }));
      expect(await syncMlflow({ store, client, filter })).toMatchObject({
        versions: 0,
        promotions: 0,
        updated: 0,
      });
    } finally {
      await proxy.close();
    }
  });
});
