import { gzipSync } from 'node:zlib';
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOpenLineage, runIdForKey, runToOpenLineageEvents } from '../src/openlineage/export.js';
import { datasetToUri, uriToDataset } from '../src/openlineage/naming.js';
import { validateOpenLineageEvent } from '../src/openlineage/validate.js';
import { createServer, type MltraceServer } from '../src/server.js';
import { client, loadPipeline, MODEL } from './test-fixtures.js';

const TOKEN = 'openlineage-token-0123456789';
const PRODUCER = 'https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python';
const SCHEMA = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
const facet = (name: string) => ({
  _producer: PRODUCER,
  _schemaURL: `https://openlineage.io/spec/facets/1-0-1/${name}.json#/$defs/${name}`,
});

function runEvent(eventType: string, eventTime: string, extra: Record<string, unknown> = {}) {
  return {
    eventType,
    eventTime,
    producer: PRODUCER,
    schemaURL: SCHEMA,
    run: {
      runId: '0190b1c2-3d4e-7f00-8a00-0000000000aa',
      facets: {
        parent: {
          ...facet('ParentRunFacet'),
          run: { runId: '0190b1c2-3d4e-7f00-8a00-0000000000bb' },
          job: { namespace: 'airflow', name: 'nightly_dag' },
        },
      },
    },
    job: {
      namespace: 'airflow',
      name: 'nightly_dag.load',
      facets: {
        sourceCodeLocation: {
          ...facet('SourceCodeLocationJobFacet'),
          type: 'git',
          url: 'https://example.org/repo',
          version: 'f00dfeed',
        },
        documentation: { ...facet('DocumentationJobFacet'), description: 'loads the nightly extract' },
      },
    },
    inputs: [{ namespace: 's3://raw-bucket', name: 'extracts/2026-03-01.csv' }],
    outputs: [
      {
        namespace: 'postgres://db.internal:5432',
        name: 'analytics.public.trips',
        facets: { version: { ...facet('DatasetVersionDatasetFacet'), datasetVersion: '17' } },
      },
    ],
    ...extra,
  };
}

describe('OpenLineage ingestion', () => {
  let store: LineageStore;
  let server: MltraceServer;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    store = await openPgliteStore({ dataDir: 'memory://' });
    server = await createServer({ store, port: 0, token: TOKEN });
    api = client(server.url, TOKEN);
  });
  afterAll(async () => {
    await server?.close();
    await store?.close();
  });

  it('merges a START and a COMPLETE event into one succeeded run with its datasets as pointers', async () => {
    const start = await api('/api/v1/lineage', { body: runEvent('START', '2026-03-01T02:00:00.000+00:00') });
    expect(start.status).toBe(201);
    expect(start.json.run.created).toBe(true);
    const running = await store.run(
      'openlineage:airflow/nightly_dag.load/0190b1c2-3d4e-7f00-8a00-0000000000aa',
    );
    expect(running.status).toBe('running');
    const complete = await api('/api/v1/lineage', {
      body: runEvent('COMPLETE', '2026-03-01T02:05:00.000+00:00'),
    });
    expect(complete.status).toBe(201);
    expect(complete.json.run.created).toBe(false);

    const run = await store.run('openlineage:airflow/nightly_dag.load/0190b1c2-3d4e-7f00-8a00-0000000000aa');
    expect(run).toMatchObject({
      component: 'airflow/nightly_dag.load',
      source: 'openlineage',
      status: 'succeeded',
      gitCommit: 'f00dfeed',
      workflow: {
        namespace: 'airflow',
        workflowId: 'nightly_dag',
        runId: '0190b1c2-3d4e-7f00-8a00-0000000000bb',
      },
    });
    expect(run.startedAt.toISOString()).toBe('2026-03-01T02:00:00.000Z');
    expect(run.endedAt?.toISOString()).toBe('2026-03-01T02:05:00.000Z');
    expect(run.inputs.map((p) => p.uri)).toEqual(['s3://raw-bucket/extracts/2026-03-01.csv']);
    expect(run.outputs.map((p) => `${p.uri}@${p.version}`)).toEqual([
      'postgres://db.internal:5432/analytics.public.trips@17',
    ]);
    expect(run.metadata['openlineage.run.parent']).toMatchObject({ job: { name: 'nightly_dag' } });
    const [component] = await store.components();
    expect(component).toMatchObject({
      name: 'airflow/nightly_dag.load',
      description: 'loads the nightly extract',
    });

    const trace = await api(
      `/api/v1/trace?uri=${encodeURIComponent('postgres://db.internal:5432/analytics.public.trips')}`,
    );
    expect(trace.json.runs.map((r: { component: string }) => r.component)).toEqual([
      'airflow/nightly_dag.load',
    ]);
  });

  it('maps FAIL to a failed run with the error message facet', async () => {
    const failed = runEvent('FAIL', '2026-03-02T02:05:00Z', {
      run: {
        runId: '0190b1c2-3d4e-7f00-8a00-0000000000cc',
        facets: {
          errorMessage: {
            ...facet('ErrorMessageRunFacet'),
            message: 'disk full',
            programmingLanguage: 'python',
          },
        },
      },
    });
    expect((await api('/api/v1/lineage', { body: failed })).status).toBe(201);
    const run = await store.run('openlineage:airflow/nightly_dag.load/0190b1c2-3d4e-7f00-8a00-0000000000cc');
    expect(run.status).toBe('failed');
    expect(run.error?.message).toBe('disk full');
  });

  it('refuses schema-invalid events with the reason, writing nothing', async () => {
    const before = (await store.recent({ limit: 100 })).runs.length;
    const noRunId = runEvent('START', '2026-03-01T02:00:00Z', { run: { facets: {} } });
    const missing = await api('/api/v1/lineage', { body: noRunId });
    expect(missing.status).toBe(400);
    expect(missing.json.error.code).toBe('invalid_input');
    expect(missing.json.error.message).toContain('runId');
    const badType = await api('/api/v1/lineage', { body: runEvent('FINISHED', '2026-03-01T02:00:00Z') });
    expect(badType.status).toBe(400);
    expect(badType.json.error.message).toContain('eventType');
    const badId = runEvent('START', '2026-03-01T02:00:00Z', { run: { runId: 'not-a-uuid' } });
    expect((await api('/api/v1/lineage', { body: badId })).json.error.message).toContain('uuid');
    const badFacet = runEvent('START', '2026-03-01T02:00:00Z', {
      run: { runId: '0190b1c2-3d4e-7f00-8a00-0000000000dd', facets: { custom: { value: 1 } } },
    });
    expect((await api('/api/v1/lineage', { body: badFacet })).json.error.message).toContain('_producer');
    expect(
      (
        await api('/api/v1/lineage', {
          raw: '{"eventType":',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(400);
    expect((await api('/api/v1/lineage', { body: [1, 2] })).status).toBe(400);
    expect((await store.recent({ limit: 100 })).runs.length).toBe(before);
  });

  it('needs the write token, writing nothing without it', async () => {
    const anonymous = client(server.url);
    const event = runEvent('START', '2026-03-03T02:00:00Z', {
      run: { runId: '0190b1c2-3d4e-7f00-8a00-0000000000ee' },
    });
    expect((await anonymous('/api/v1/lineage', { body: event })).status).toBe(401);
    await expect(
      store.run('openlineage:airflow/nightly_dag.load/0190b1c2-3d4e-7f00-8a00-0000000000ee'),
    ).rejects.toThrow(/no run/);
  });

  it('accepts gzip-compressed events and batches, and acknowledges runless events without storing them', async () => {
    const event = runEvent('COMPLETE', '2026-03-04T02:00:00Z', {
      run: { runId: '0190b1c2-3d4e-7f00-8a00-0000000000f1' },
    });
    const gz = await api('/api/v1/lineage', {
      raw: gzipSync(JSON.stringify(event)),
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    expect(gz.status).toBe(201);
    const br = await api('/api/v1/lineage', {
      raw: 'x',
      headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
    });
    expect(br.status).toBe(415);
    const jobEvent = {
      eventTime: '2026-03-04T02:00:00Z',
      producer: PRODUCER,
      schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent',
      job: { namespace: 'airflow', name: 'static' },
    };
    const job = await api('/api/v1/lineage', { body: jobEvent });
    expect(job.status).toBe(201);
    expect(job.json).toMatchObject({ kind: 'JobEvent' });
    const batch = await api('/api/v1/lineage/batch', {
      body: [
        runEvent('START', '2026-03-05T02:00:00Z', { run: { runId: '0190b1c2-3d4e-7f00-8a00-0000000000f2' } }),
        runEvent('COMPLETE', '2026-03-05T02:01:00Z', {
          run: { runId: '0190b1c2-3d4e-7f00-8a00-0000000000f2' },
        }),
      ],
    });
    expect(batch.status).toBe(201);
    expect(
      (await store.run('openlineage:airflow/nightly_dag.load/0190b1c2-3d4e-7f00-8a00-0000000000f2')).status,
    ).toBe('succeeded');
    const invalidBatch = await api('/api/v1/lineage/batch', {
      body: [
        runEvent('START', '2026-03-06T02:00:00Z', { run: { runId: '0190b1c2-3d4e-7f00-8a00-0000000000f3' } }),
        { nope: 1 },
      ],
    });
    expect(invalidBatch.status).toBe(400);
    expect(invalidBatch.json.error.message).toContain('event 1');
    await expect(
      store.run('openlineage:airflow/nightly_dag.load/0190b1c2-3d4e-7f00-8a00-0000000000f3'),
    ).rejects.toThrow();
  });
});

describe('OpenLineage naming and export', () => {
  it('maps dataset namespaces and names to pointer URIs and back', () => {
    const cases: Array<[string, string, string]> = [
      ['file', '/data/x.csv', 'file:///data/x.csv'],
      ['s3://bucket', 'key/x.csv', 's3://bucket/key/x.csv'],
      ['postgres://h:5432', 'db.s.t', 'postgres://h:5432/db.s.t'],
      ['bigquery', 'p.d.t', 'bigquery:p.d.t'],
      ['models', '/taxi/3', 'models:/taxi/3'],
      ['mltrace', 'prediction-42', 'prediction-42'],
    ];
    for (const [namespace, name, uri] of cases) {
      expect(datasetToUri(namespace, name)).toBe(uri);
      expect(uriToDataset(uri)).toEqual({ namespace, name });
    }
  });

  it('emits schema-valid START and COMPLETE events with a stable runId', async () => {
    const store = await openPgliteStore({ dataDir: 'memory://' });
    try {
      await loadPipeline(store);
      const run = await store.run('p:train');
      const events = runToOpenLineageEvents(run);
      expect(events.map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
      for (const event of events) expect(validateOpenLineageEvent(event)).toBe('RunEvent');
      expect(events[0]!.run.runId).toBe(runIdForKey('p:train'));
      expect(events[1]!.outputs?.[0]).toMatchObject({ namespace: 'file', name: '/models/model.pkl' });
    } finally {
      await store.close();
    }
  });

  it('exports a store to another server, which then traces the same lineage', async () => {
    const source = await openPgliteStore({ dataDir: 'memory://' });
    const target = await openPgliteStore({ dataDir: 'memory://' });
    const receiver = await createServer({ store: target, port: 0, token: TOKEN });
    try {
      await loadPipeline(source);
      await source.logRun({
        component: 'old',
        startedAt: new Date('2020-01-01T00:00:00Z'),
        outputs: ['file:///old.csv'],
      });
      const result = await exportOpenLineage({
        store: source,
        url: receiver.url,
        token: TOKEN,
        since: new Date('2026-01-01T00:00:00Z'),
      });
      expect(result).toEqual({ runs: 3, events: 6 });
      const graph = await target.trace({ uri: MODEL, version: 'v1' });
      expect(graph.runs.map((r) => r.component)).toEqual([
        'mltrace/train',
        'mltrace/featurize',
        'mltrace/clean',
      ]);
      expect(graph.dependencies).toHaveLength(2);
      expect(graph.runs.every((r) => r.status === 'succeeded')).toBe(true);
      expect(graph.runs[0]!.metadata['openlineage.run.mltrace']).toMatchObject({
        runKey: 'p:train',
        source: 'api',
      });
      // Idempotent: a second export updates the same runs.
      await exportOpenLineage({
        store: source,
        url: receiver.url,
        token: TOKEN,
        since: new Date('2026-01-01T00:00:00Z'),
      });
      expect((await target.recent({ limit: 100 })).runs).toHaveLength(3);
      await expect(
        exportOpenLineage({ store: source, url: receiver.url, token: 'wrong-token-0123456789' }),
      ).rejects.toThrow(/401/);
    } finally {
      await receiver.close();
      await source.close();
      await target.close();
    }
  });
});
