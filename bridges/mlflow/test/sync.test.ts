import type { LineageGraph, LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { mlflowTrackingUri } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowClient } from '../src/client.js';
import { MlflowError } from '../src/errors.js';
import {
  formatSummary,
  type MlflowSyncProgress,
  mlflowSyncStateKey,
  syncMlflow,
  watchMlflow,
} from '../src/sync.js';
import {
  createExperiment,
  createTrainingRun,
  registerVersion,
  startFaultProxy,
  uniqueName,
} from './test-fixtures.js';

let client: MlflowClient;
let experimentId: string;
let store: LineageStore;

// One store for the file (opening PGlite is slow on a busy machine); tests use their own models.
beforeAll(async () => {
  client = new MlflowClient({ trackingUri: mlflowTrackingUri() });
  experimentId = await createExperiment(client, 'sync');
  store = await openPgliteStore({ dataDir: 'memory://' });
});

afterAll(async () => {
  await store?.close();
});

/** A run of a graph as `component model/version[ alias|stage]`, e.g. `promote m/2 @champion`; a training run as `train <run id>`. */
function label(run: LineageGraph['runs'][number]): string {
  const m = run.metadata as {
    model?: string;
    version?: string;
    alias?: string;
    stage?: string;
    kind?: string;
    runId?: string;
  };
  if (m.kind === 'training') return `train ${m.runId}`;
  const suffix = m.alias ? ` @${m.alias}` : m.stage ? ` ${m.stage}` : '';
  return `${run.component} ${m.model}/${m.version}${suffix}`;
}

function edges(graph: LineageGraph): string[] {
  const byId = new Map(graph.runs.map((r) => [r.id, label(r)]));
  return graph.dependencies.map((d) => `${byId.get(d.run)} -> ${byId.get(d.dependsOn)}`).sort();
}

async function mlflowRunsOf(model: string): Promise<string[]> {
  const page = await store.recent({ source: 'mlflow', limit: 500 });
  return page.runs
    .map((r) => r.runKey)
    .filter((key) => key.includes(`/${model}/`))
    .sort();
}

describe('syncMlflow against a real MLflow server', () => {
  it('records each version fed by its run’s datasets, and each champion move as a promotion chained to the previous one', async () => {
    const name = uniqueName('taxi');
    await client.createRegisteredModel({ name });
    const runIds: string[] = [];
    for (const n of [1, 2, 3]) {
      const runId = await createTrainingRun(client, experimentId, {
        gitCommit: `commit${n}`,
        datasets: [
          {
            name: 'train',
            digest: `train-digest-${n}`,
            uri: 's3://bucket/taxi/train.parquet',
            sourceType: 's3',
          },
          {
            name: 'eval',
            digest: 'eval-digest',
            uri: 's3://bucket/taxi/eval.parquet',
            sourceType: 's3',
            context: 'evaluation',
          },
        ],
      });
      runIds.push(runId);
      await registerVersion(client, name, runId);
    }

    const progress: MlflowSyncProgress[] = [];
    await client.setRegisteredModelAlias(name, 'champion', '1');
    const first = await syncMlflow({ store, client, model: name, onProgress: (e) => progress.push(e) });
    expect(first).toMatchObject({
      models: 1,
      modelsChanged: 1,
      versions: 3,
      trainingRuns: 3,
      promotions: 1,
      updated: 0,
    });
    // The model, its versions, the experiments (for their names) and the three source runs (one
    // get each; a search from five runs on).
    expect(first.requests).toBe(6);
    expect(progress.map((e) => e.phase)).toEqual(['listed', 'written', 'model', 'done']);
    expect(formatSummary(first)).toMatch(
      /^mlflow http:\/\/127\.0\.0\.1:\d+: 1 model \(1 changed\), 3 new versions, 3 training runs, 1 promotion; \d requests in \d+\.\d s$/,
    );

    await client.setRegisteredModelAlias(name, 'champion', '2');
    expect(await syncMlflow({ store, client, model: name })).toMatchObject({ versions: 0, promotions: 1 });
    await client.setRegisteredModelAlias(name, 'champion', '3');
    expect(await syncMlflow({ store, client, model: name })).toMatchObject({ versions: 0, promotions: 1 });

    const graph = await store.trace({ uri: `models:/${name}@champion` });
    expect(graph.runs[0] && label(graph.runs[0])).toBe(`promote ${name}/3 @champion`);
    expect(edges(graph)).toEqual(
      [
        `promote ${name}/3 @champion -> promote ${name}/2 @champion`,
        `promote ${name}/3 @champion -> register ${name}/3`,
        `promote ${name}/2 @champion -> promote ${name}/1 @champion`,
        `promote ${name}/2 @champion -> register ${name}/2`,
        `promote ${name}/1 @champion -> register ${name}/1`,
        ...runIds.map((id, i) => `register ${name}/${i + 1} -> train ${id}`),
      ].sort(),
    );
    const promote3 = graph.runs.find((r) => label(r) === `promote ${name}/3 @champion`)!;
    expect(promote3.outputs.map((p) => `${p.uri}@${p.version}`)).toEqual([`models:/${name}@champion@3`]);
    expect(promote3.metadata).toMatchObject({ action: 'moved', previousVersion: '2', alias: 'champion' });
    expect(promote3.source).toBe('mlflow');

    const register3 = graph.runs.find((r) => label(r) === `register ${name}/3`)!;
    expect(register3.gitCommit).toBe('commit3');
    expect(register3.metadata).toMatchObject({
      runId: runIds[2],
      params: { alpha: '0.5' },
      metrics: { rmse: 0.25 },
    });
    // The version reads the model the training run wrote; the training run reads the data.
    expect(register3.inputs.map((p) => `${p.uri}@${p.version}`)).toEqual([
      `s3://bucket/models/${name}/${runIds[2]}@`,
    ]);
    expect(register3.outputs.map((p) => p.uri)).toEqual([`models:/${name}/3`]);
    const train3 = graph.runs.find((r) => label(r) === `train ${runIds[2]}`)!;
    const experiment = (await client.listExperiments()).find((e) => e.experimentId === experimentId)!;
    expect(train3).toMatchObject({ component: experiment.name, source: 'mlflow', gitCommit: 'commit3' });
    expect(train3.metadata).toMatchObject({ params: { alpha: '0.5' }, metrics: { rmse: 0.25 } });
    expect(train3.inputs.map((p) => `${p.uri}@${p.version}`).sort()).toEqual([
      's3://bucket/taxi/eval.parquet@eval-digest',
      's3://bucket/taxi/train.parquet@train-digest-3',
    ]);
    expect(train3.outputs.map((p) => p.uri)).toEqual([`s3://bucket/models/${name}/${runIds[2]}`]);

    // The alias at an earlier version traces to the promotion that put it there.
    const atTwo = await store.trace({ uri: `models:/${name}@champion`, version: '2' });
    expect(atTwo.runs[0] && label(atTwo.runs[0])).toBe(`promote ${name}/2 @champion`);

    // Re-running writes nothing, and costs the one request that lists the model.
    const before = await mlflowRunsOf(name);
    const again = await syncMlflow({ store, client, model: name });
    expect(again).toMatchObject({ versions: 0, promotions: 0, updated: 0 });
    expect(await mlflowRunsOf(name)).toEqual(before);
    expect(before).toHaveLength(6);
    expect(
      (await store.recent({ source: 'mlflow', limit: 500 })).runs.filter((r) =>
        runIds.some((id) => r.runKey.endsWith(`/runs/${id}`)),
      ),
    ).toHaveLength(3);
  });

  it('costs one listing request when nothing changed, and diffs aliases and tags, which bump no timestamp', async () => {
    const prefix = uniqueName('quiet');
    const name = `${prefix}-m`;
    const filter = `name LIKE '${prefix}-%'`;
    await client.createRegisteredModel({ name });
    const runId = await createTrainingRun(client, experimentId);
    await registerVersion(client, name, runId);
    await registerVersion(client, name, runId);
    await client.setRegisteredModelAlias(name, 'champion', '1');
    expect(await syncMlflow({ store, client, filter })).toMatchObject({
      models: 1,
      versions: 2,
      promotions: 1,
    });

    const idle = await syncMlflow({ store, client, filter });
    expect(idle).toMatchObject({ models: 1, modelsChanged: 0, versions: 0, promotions: 0, requests: 1 });

    // Alias moved: seen in the listing alone.
    await client.setRegisteredModelAlias(name, 'champion', '2');
    expect(await syncMlflow({ store, client, filter })).toMatchObject({ promotions: 1, requests: 1 });

    // Alias removed, a model tag set, a version tag set: the tag makes the sync re-read the versions.
    await client.deleteRegisteredModelAlias(name, 'champion');
    await client.setRegisteredModelTag(name, 'team', 'risk');
    await client.setModelVersionTag(name, '2', 'validation_status', 'passed');
    const changed = await syncMlflow({ store, client, filter });
    // The model tag updates both versions' register runs (v2's with its own tag too).
    expect(changed).toMatchObject({ modelsChanged: 1, promotions: 1, updated: 2, requests: 2 });

    const removed = await store.trace({ uri: `models:/${name}@champion` });
    expect(removed.runs[0]?.metadata).toMatchObject({ action: 'removed', previousVersion: '2' });
    expect(removed.runs[0]?.outputs.map((p) => `${p.uri}@${p.version}`)).toEqual([
      `models:/${name}@champion@`,
    ]);
    const register2 = await store.trace({ uri: `models:/${name}/2` });
    expect(register2.runs[0]?.metadata).toMatchObject({
      versionTags: { validation_status: 'passed' },
      modelTags: { team: 'risk' },
    });
    const register1 = await store.trace({ uri: `models:/${name}/1` });
    expect(register1.runs[0]?.metadata).toMatchObject({ versionTags: {}, modelTags: { team: 'risk' } });

    expect(await syncMlflow({ store, client, filter })).toMatchObject({ modelsChanged: 0, requests: 1 });
  });

  it('records stage transitions, the older flow, with the previous Production holder as input', async () => {
    const name = uniqueName('stages');
    await client.createRegisteredModel({ name });
    const runId = await createTrainingRun(client, experimentId);
    await registerVersion(client, name, runId);
    await registerVersion(client, name, runId);

    await client.transitionModelVersionStage({ name, version: '1', stage: 'Staging' });
    expect(await syncMlflow({ store, client, model: name })).toMatchObject({ versions: 2, promotions: 1 });
    await client.transitionModelVersionStage({ name, version: '1', stage: 'Production' });
    expect(await syncMlflow({ store, client, model: name })).toMatchObject({ promotions: 1 });
    await client.transitionModelVersionStage({
      name,
      version: '2',
      stage: 'Production',
      archiveExistingVersions: true,
    });
    // v2 to Production, and v1 archived by archive_existing_versions.
    expect(await syncMlflow({ store, client, model: name })).toMatchObject({ versions: 0, promotions: 2 });

    const production = await store.trace({ uri: `models:/${name}/Production` });
    expect(production.runs[0] && label(production.runs[0])).toBe(`promote ${name}/2 Production`);
    expect(edges(production)).toEqual(
      [
        `promote ${name}/2 Production -> promote ${name}/1 Production`,
        `promote ${name}/2 Production -> register ${name}/2`,
        `promote ${name}/1 Production -> register ${name}/1`,
        `register ${name}/1 -> train ${runId}`,
        `register ${name}/2 -> train ${runId}`,
      ].sort(),
    );
    expect(production.runs[0]?.metadata).toMatchObject({
      kind: 'stage',
      previousStage: 'None',
      previousVersions: ['1'],
    });
    const archived = await store.trace({ uri: `models:/${name}/Archived` });
    expect(archived.runs[0]?.metadata).toMatchObject({
      version: '1',
      stage: 'Archived',
      previousStage: 'Production',
    });
    expect(await syncMlflow({ store, client, model: name })).toMatchObject({
      versions: 0,
      promotions: 0,
      updated: 0,
    });
  });

  it('links a copy of a version into another registered model to its source version, syncing the source first', async () => {
    const prefix = uniqueName('copy');
    // The copy's model sorts first, so the sync must reorder to write the source version before it.
    const target = `${prefix}-a-prod`;
    const source = `${prefix}-z-staging`;
    await client.createRegisteredModel({ name: source });
    const runId = await createTrainingRun(client, experimentId, {
      datasets: [{ name: 'train', digest: 'dd1', uri: 's3://bucket/copy/train.parquet' }],
    });
    await registerVersion(client, source, runId);
    // What MlflowClient.copy_model_version does in Python.
    await client.createRegisteredModel({ name: target });
    await client.createModelVersion({ name: target, source: `models:/${source}/1`, runId });

    const check = async (s: LineageStore) => {
      const graph = await s.trace({ uri: `models:/${target}/1` });
      expect(edges(graph)).toEqual(
        [`register ${source}/1 -> train ${runId}`, `register ${target}/1 -> register ${source}/1`].sort(),
      );
      const copy = graph.runs.find((r) => label(r) === `register ${target}/1`)!;
      expect(copy.metadata).toMatchObject({ copyOf: `models:/${source}/1` });
      expect(copy.inputs.map((p) => p.uri).sort()).toEqual(
        [`models:/${source}/1`, 's3://bucket/copy/train.parquet'].sort(),
      );
    };
    const summary = await syncMlflow({ store, client, filter: `name LIKE '${prefix}-%'`, batchSize: 1 });
    expect(summary).toMatchObject({ models: 2, versions: 2 });
    await check(store);

    // Syncing only the copy's model brings in the source model it was copied from.
    const other = await openPgliteStore({ dataDir: 'memory://' });
    try {
      expect(await syncMlflow({ store: other, client, model: target })).toMatchObject({ versions: 2 });
      await check(other);
    } finally {
      await other.close();
    }
  });

  it('links a dataset logged from a DVC-tracked path to the DVC version of that file', async () => {
    const md5 = '3863d0e317dee0a55c4e59d2ec0eef33';
    const dvc = await store.logRun({
      component: 'prepare',
      source: 'dvc',
      runKey: `dvc:/repo/${uniqueName('commit')}/prepare`,
      startedAt: new Date(Date.now() - 60_000),
      outputs: [{ uri: '/repo/data/train.csv', version: md5 }],
    });
    const name = uniqueName('dvc');
    await client.createRegisteredModel({ name });
    const runId = await createTrainingRun(client, experimentId, {
      datasets: [
        { name: 'train', digest: md5, uri: 'data/train.csv' },
        { name: 'holdout', digest: 'a1b2c3d4', uri: '/repo/data/holdout.csv', context: 'evaluation' },
      ],
    });
    await registerVersion(client, name, runId);
    await syncMlflow({ store, client, model: name, cwd: '/repo' });

    const graph = await store.trace({ uri: `models:/${name}/1` });
    const register = graph.runs.find((r) => r.component === 'register')!;
    const train = graph.runs.find((r) => r.runKey.endsWith(`/runs/${runId}`))!;
    expect(register.dependsOn).toEqual([train.id]);
    expect(train.dependsOn).toEqual([dvc.id]);
    expect(
      train.inputs
        .filter((p) => p.type === 'data')
        .map((p) => `${p.uri}@${p.version}`)
        .sort(),
    ).toEqual(['file:///repo/data/holdout.csv@a1b2c3d4', `file:///repo/data/train.csv@${md5}`]);
    expect((register.metadata as { datasets: unknown[] }).datasets).toContainEqual({
      name: 'train',
      digest: md5,
      sourceType: 'local',
      context: 'training',
      uri: 'file:///repo/data/train.csv',
      dvc: true,
    });
  });

  it('links a version to the Temporal activity that trained it when the MLflow run names its run key, instead of writing a second training run', async () => {
    const activityKey = `temporal:default/${uniqueName('wf')}/run/1/1`;
    const activity = await store.logRun({
      component: 'train',
      source: 'temporal',
      runKey: activityKey,
      startedAt: new Date(Date.now() - 60_000),
    });
    const name = uniqueName('linked');
    await client.createRegisteredModel({ name });
    const run = await client.createRun({
      experimentId,
      runName: 'train',
      tags: { 'mltrace.run_key': activityKey },
    });
    await client.updateRun({ runId: run.info.runId, status: 'FINISHED', endTime: Date.now() });
    await registerVersion(client, name, run.info.runId);
    expect(await syncMlflow({ store, client, model: name })).toMatchObject({ versions: 1, trainingRuns: 0 });
    const graph = await store.trace({ uri: `models:/${name}/1` });
    expect(graph.runs.map((r) => r.runKey)).toEqual([expect.stringContaining('/register/'), activityKey]);
    expect(graph.runs[0]?.dependsOn).toEqual([activity.id]);
  });

  it('fails with a clear 404 for an unknown model and leaves the cursor alone', async () => {
    const name = uniqueName('nosuch');
    const key = mlflowSyncStateKey(client.trackingUri);
    const cursor = await store.getSyncState(key);
    const error = await syncMlflow({ store, client, model: name }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlflowError);
    expect((error as MlflowError).message).toContain(`check the model name "${name}"`);
    expect((error as MlflowError).code).toBe('not_found');
    expect(await store.getSyncState(key)).toEqual(cursor);
  });

  it('watches: syncs now and at each interval until aborted, and keeps going after a failed sync', async () => {
    const prefix = uniqueName('watch');
    const name = `${prefix}-m`;
    await client.createRegisteredModel({ name });
    await registerVersion(client, name, await createTrainingRun(client, experimentId));
    const controller = new AbortController();
    const summaries: Array<{ versions: number }> = [];
    await watchMlflow({
      store,
      client,
      filter: `name LIKE '${prefix}-%'`,
      intervalMs: 20,
      signal: controller.signal,
      onSync: (summary) => {
        summaries.push(summary);
        if (summaries.length === 3) controller.abort();
      },
    });
    expect(summaries.map((s) => s.versions)).toEqual([1, 0, 0]);

    // Nothing listens at the proxy's old address: each sync fails, and the loop goes on.
    const closed = await startFaultProxy(client.trackingUri);
    await closed.close();
    const errors: unknown[] = [];
    const stopped = new AbortController();
    await watchMlflow({
      store,
      client: new MlflowClient({ trackingUri: closed.url, retries: 0 }),
      intervalMs: 20,
      signal: stopped.signal,
      onError: (error) => {
        errors.push(error);
        if (errors.length === 2) stopped.abort();
      },
    });
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(MlflowError);
    expect((errors[0] as MlflowError).message).toContain(`could not reach MLflow at ${closed.url}`);
  });
});
