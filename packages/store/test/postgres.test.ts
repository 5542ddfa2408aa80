import { eventually, testDatabaseUrl } from '@mltrace/test-helpers';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { openPostgresStore } from '../src/postgres/index.js';
import { describeStoreBehaviour } from './store-behaviour.js';

describeStoreBehaviour('PostgreSQL', async () => openPostgresStore({ url: await testDatabaseUrl() }));

describe('LineageStore on PostgreSQL, two writers', () => {
  it('links a pointer another writer committed while this batch waited on it', async () => {
    const url = await testDatabaseUrl();
    const store = await openPostgresStore({ url });
    const other = postgres(url, { max: 2, onnotice: () => {} });
    const uri = `s3://race-${Math.random().toString(36).slice(2, 8)}/features.parquet`;
    try {
      // The other writer inserts the pointer and holds its transaction open: our insert of the
      // same pointer waits on it, and our statement's snapshot predates its commit.
      const writer = await other.reserve();
      await writer`BEGIN`;
      const [row] =
        await writer`INSERT INTO io_pointers (uri, version, type) VALUES (${uri}, '', 'data') RETURNING id`;
      const logging = store.logRun({ component: 'race-consumer', startedAt: new Date(), inputs: [uri] });
      await eventually(async () => {
        const [waiting] = await other`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted`;
        return Number(waiting?.n) > 0;
      }, 'our insert to wait on the other writer');
      await writer`COMMIT`;
      writer.release();
      const logged = await logging;
      const run = await store.run(logged.id);
      expect(run.inputs.map((p) => [p.uri, p.id])).toEqual([[uri, Number(row?.id)]]);
    } finally {
      await other.end();
      await store.close();
    }
  });
});

describe('LineageStore on PostgreSQL, planner statistics', () => {
  it('analyzes on open, and again once 100 runs (or 10% of the table) were written', async () => {
    const url = await testDatabaseUrl();
    const store = await openPostgresStore({ url });
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    const tuples = async () =>
      Number(
        (await admin`SELECT reltuples FROM pg_class WHERE oid = 'component_runs'::regclass`)[0]?.reltuples,
      );
    const runs = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({
        component: 'stats',
        startedAt: new Date(Date.UTC(2026, 0, 1, 0, from + i)),
        outputs: [`s3://stats/${from + i}.parquet`],
      }));
    try {
      expect(await tuples()).toBe(0); // analyzed empty on open (never analyzed is -1)
      await store.logRuns(runs(0, 99));
      expect(await tuples()).toBe(0);
      await store.logRuns(runs(99, 1));
      expect(await tuples()).toBe(100);
    } finally {
      await admin.end();
      await store.close();
    }
  });
});

describe('LineageStore on PostgreSQL without prepared statements', () => {
  it('logs and traces with ?prepare=false on the URL, as behind PgBouncer in transaction mode', async () => {
    const url = new URL(await testDatabaseUrl());
    url.searchParams.set('prepare', 'false');
    const store = await openPostgresStore({ url: url.toString() });
    const base = `s3://unprepared-${Math.random().toString(36).slice(2, 8)}`;
    try {
      for (let i = 0; i < 7; i++) {
        await store.logRun({
          component: `step-${i}`,
          startedAt: new Date(Date.UTC(2026, 0, 1, 0, i)),
          inputs: [`${base}/${i}.parquet`],
          outputs: [`${base}/${i + 1}.parquet`],
        });
      }
      const graph = await store.trace({ uri: `${base}/7.parquet` });
      expect(graph.runs.map((run) => run.component)).toEqual([6, 5, 4, 3, 2, 1, 0].map((i) => `step-${i}`));
    } finally {
      await store.close();
    }
  });
});
