import { testDatabaseUrl } from '@mltrace/test-helpers';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { openPostgresStore } from '../src/postgres/index.js';

// Another writer (a worker in another language) calls the database function as the README
// documents it, with no TypeScript in between; the store then reads what it wrote.
describe('mltrace_log_runs, called directly', () => {
  it('writes runs, infers the dependency and marks staleness, as logRuns does', async () => {
    const url = await testDatabaseUrl();
    const store = await openPostgresStore({ url });
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const tag = Math.random().toString(36).slice(2, 8);
    const raw = `s3://fn-${tag}/raw.csv`;
    const clean = `s3://fn-${tag}/clean.parquet`;
    try {
      const runs = [
        {
          run_key: `fn-${tag}-clean`,
          component: `fn-${tag}-clean`,
          source: 'api',
          status: 'succeeded',
          started_at: '2026-01-01T00:00:00Z',
          metadata: { rows: 3 },
        },
        // 40 days later: older than the 30-day threshold, so stale.
        {
          run_key: `fn-${tag}-train`,
          component: `fn-${tag}-train`,
          source: 'api',
          status: 'succeeded',
          started_at: '2026-02-10T00:00:00Z',
        },
      ];
      const pointers = [
        { uri: raw, version: '', type: 'data' },
        { uri: clean, version: '', type: 'data' },
      ];
      // Pointer 3 is not in the list: the function refuses the whole batch, writing nothing.
      const refused = await sql`SELECT mltrace_log_runs(
        ${JSON.stringify(runs)}::text::json, ${JSON.stringify(pointers)}::text::json,
        ${JSON.stringify([
          { r: 1, p: 2 },
          { r: 2, p: 3 },
        ])}::text::json,
        ${JSON.stringify([
          { r: 1, p: 1 },
          { r: 2, p: 2 },
        ])}::text::json,
        '[]'::json, ${30 * 86_400_000}::float8)`.then(
        () => 'written',
        () => 'refused',
      );
      expect(refused).toBe('refused');
      expect(await sql`SELECT 1 FROM component_runs WHERE run_key = ${`fn-${tag}-clean`}`).toHaveLength(0);

      const [ok] = await sql`SELECT mltrace_log_runs(
        ${JSON.stringify(runs)}::text::json, ${JSON.stringify([...pointers, { uri: `s3://fn-${tag}/model`, version: 'v1', type: 'model' }])}::text::json,
        ${JSON.stringify([
          { r: 1, p: 2 },
          { r: 2, p: 3 },
        ])}::text::json,
        ${JSON.stringify([
          { r: 1, p: 1 },
          { r: 2, p: 2 },
        ])}::text::json,
        '[]'::json, ${30 * 86_400_000}::float8)::text AS result`;
      const result = JSON.parse(String(ok?.result)) as { ids: number[]; created: boolean[] };
      expect(result.created).toEqual([true, true]);

      const graph = await store.trace({ uri: `s3://fn-${tag}/model`, version: 'v1' });
      expect(graph.runs.map((r) => r.component)).toEqual([`fn-${tag}-train`, `fn-${tag}-clean`]);
      expect(graph.dependencies).toEqual([{ run: result.ids[1], dependsOn: result.ids[0] }]);
      expect(graph.runs[0]?.stale).toEqual([`fn-${tag}-clean (run ${result.ids[0]}) was run 40 days ago.`]);
      expect(graph.runs[1]?.metadata).toEqual({ rows: 3 });
    } finally {
      await sql.end();
      await store.close();
    }
  });

  it('refuses a dependency on an unknown run key with SQLSTATE ML001, writing nothing', async () => {
    const url = await testDatabaseUrl();
    const store = await openPostgresStore({ url });
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const key = `fn-${Math.random().toString(36).slice(2, 8)}`;
    try {
      const runs = [
        {
          run_key: key,
          component: key,
          source: 'api',
          status: 'succeeded',
          started_at: '2026-01-01T00:00:00Z',
        },
      ];
      const error =
        await sql`SELECT mltrace_log_runs(${JSON.stringify(runs)}::text::json, '[]'::json, '[]'::json,
        '[]'::json, ${JSON.stringify([{ r: 1, key: `${key}-missing` }])}::text::json, 1::float8)`.then(
          () => undefined,
          (e: { code?: string; message?: string }) => e,
        );
      expect(error?.code).toBe('ML001');
      expect(error?.message).toBe(`dependsOn names runs that do not exist: ${key}-missing`);
      expect(await sql`SELECT 1 FROM component_runs WHERE run_key = ${key}`).toHaveLength(0);
    } finally {
      await sql.end();
      await store.close();
    }
  });

  // Python's datetimes carry microseconds, which PostgreSQL keeps; a JavaScript Date holds
  // milliseconds. Reads give the millisecond the exact value falls in (the floor), whatever the
  // float arithmetic that carries the time to JavaScript.
  it('reads times written with microseconds as the millisecond they fall in', async () => {
    const url = await testDatabaseUrl();
    const store = await openPostgresStore({ url });
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const tag = Math.random().toString(36).slice(2, 8);
    // The edges of a millisecond, in years from 1970 to 2199.
    const times = [
      '1970-01-01T00:00:00.000999',
      '2026-01-01T00:00:00.000000',
      '2026-03-04T05:06:07.123999',
      '2026-12-31T23:59:59.999999',
      '2099-06-15T12:00:00.500001',
      '2199-12-31T23:59:59.998999',
    ];
    try {
      const runs = times.map((t, i) => ({
        run_key: `us-${tag}-${i}`,
        component: `us-${tag}`,
        source: 'api',
        status: 'succeeded',
        started_at: `${t}Z`,
        ended_at: `${t}Z`,
      }));
      await sql`SELECT mltrace_log_runs(${JSON.stringify(runs)}::text::json, '[]'::json, '[]'::json,
        '[]'::json, '[]'::json, 1::float8)`;
      for (const [i, t] of times.entries()) {
        const run = await store.run(`us-${tag}-${i}`);
        const ms = Date.parse(`${t.slice(0, 23)}Z`);
        expect([run.startedAt.getTime(), run.endedAt?.getTime()]).toEqual([ms, ms]);
      }
    } finally {
      await sql.end();
      await store.close();
    }
  });
});
