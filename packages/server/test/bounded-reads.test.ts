/**
 * Bounded reads on a store of 100,000 runs, on PostgreSQL (the server's own process memory then
 * measures the server, not the database). One output fans in to every run: without bounds one
 * trace was 63 MB of JSON and four at once took the server past 1 GB. Asserts behaviour only:
 * the truncated marker, bounded bytes and runs, memory under a stated bound, and /health
 * answered while the heavy requests are still in flight (no timing thresholds).
 */
import type { LineageStore } from '@mltrace/store';
import { openPostgresStore } from '@mltrace/store/postgres';
import { testDatabaseUrl } from '@mltrace/test-helpers';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type MltraceServer } from '../src/server.js';

const TOKEN = 'bounded-reads-token-0123456789';
const RUNS = 100_000;
const GROUPS = 100;
const OUTPUT = 's3://lineage-test/model/final.pkl';
/** The stated bound: the server process grows by less than this while answering four at once. */
const MEMORY_BOUND_BYTES = 384 * 1024 * 1024;

describe('bounded reads on a 100k-run store', { timeout: 900_000 }, () => {
  let store: LineageStore;
  let server: MltraceServer;

  beforeAll(async () => {
    const url = await testDatabaseUrl();
    store = await openPostgresStore({ url });
    // The fixture is loaded in bulk SQL (seconds, where 100,000 single writes take many minutes
    // on this machine): 100,000 shard runs, each making a part; 100 merges of 1,000 parts each;
    // one training run over the 100 merges. The store then answers as for any lineage.
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await sql.begin(async (tx) => {
        await tx`INSERT INTO components (name) VALUES ('shard'), ('merge'), ('train') ON CONFLICT DO NOTHING`;
        await tx`INSERT INTO component_runs (run_key, component, source, status, started_at, metadata)
          SELECT 'bounded:shard/' || n, 'shard', 'api', 'succeeded', timestamptz '2026-03-01' + n * interval '1 ms',
                 jsonb_build_object('shard', n, 'note', repeat('x', 200))
          FROM generate_series(0, ${RUNS - 1}) n`;
        await tx`INSERT INTO component_runs (run_key, component, source, status, started_at)
          SELECT 'bounded:merge/' || g, 'merge', 'api', 'succeeded', timestamptz '2026-03-02' + g * interval '1 s'
          FROM generate_series(0, ${GROUPS - 1}) g`;
        await tx`INSERT INTO component_runs (run_key, component, source, status, started_at)
          VALUES ('bounded:train', 'train', 'api', 'succeeded', timestamptz '2026-03-03')`;
        await tx`INSERT INTO io_pointers (uri, version, type)
          SELECT 's3://lineage-test/part/' || n || '.parquet', '', 'data' FROM generate_series(0, ${RUNS - 1}) n
          UNION ALL SELECT 's3://lineage-test/merged/' || g || '.parquet', '', 'data' FROM generate_series(0, ${GROUPS - 1}) g
          UNION ALL SELECT ${OUTPUT}, '', 'model'`;
        await tx`CREATE TEMP TABLE ids ON COMMIT DROP AS
          SELECT r.id AS run, p.id AS part, (split_part(r.run_key, '/', 2))::int AS n
          FROM component_runs r JOIN io_pointers p ON p.uri = 's3://lineage-test/part/' || split_part(r.run_key, '/', 2) || '.parquet'
          WHERE r.component = 'shard'`;
        await tx`CREATE TEMP TABLE merges ON COMMIT DROP AS
          SELECT r.id AS run, p.id AS out, (split_part(r.run_key, '/', 2))::int AS g
          FROM component_runs r JOIN io_pointers p ON p.uri = 's3://lineage-test/merged/' || split_part(r.run_key, '/', 2) || '.parquet'
          WHERE r.component = 'merge'`;
        await tx`INSERT INTO run_outputs (run_id, pointer_id) SELECT run, part FROM ids`;
        await tx`INSERT INTO run_outputs (run_id, pointer_id) SELECT run, out FROM merges`;
        await tx`INSERT INTO run_inputs (run_id, pointer_id)
          SELECT m.run, i.part FROM ids i JOIN merges m ON m.g = i.n / ${RUNS / GROUPS}`;
        await tx`INSERT INTO run_dependencies (run_id, depends_on_run_id)
          SELECT m.run, i.run FROM ids i JOIN merges m ON m.g = i.n / ${RUNS / GROUPS}`;
        const [train] = await tx`SELECT id FROM component_runs WHERE run_key = 'bounded:train'`;
        const [model] = await tx`SELECT id FROM io_pointers WHERE uri = ${OUTPUT}`;
        await tx`INSERT INTO run_outputs (run_id, pointer_id) VALUES (${train!.id}, ${model!.id})`;
        await tx`INSERT INTO run_inputs (run_id, pointer_id) SELECT ${train!.id}, out FROM merges`;
        await tx`INSERT INTO run_dependencies (run_id, depends_on_run_id) SELECT ${train!.id}, run FROM merges`;
      });
      await sql`ANALYZE`;
    } finally {
      await sql.end();
    }
    expect((await store.countRuns()).reduce((n, c) => n + c.count, 0)).toBe(RUNS + GROUPS + 1);
    server = await createServer({ store, port: 0, token: TOKEN });
  }, 600_000);
  afterAll(async () => {
    await server?.close();
    await store?.close();
  });

  it('caps what one trace may cost, marks it truncated, and keeps /health answering under four at once', async () => {
    const heavy = () =>
      fetch(`${server.url}/api/v1/trace?uri=${encodeURIComponent(OUTPUT)}&maxDepth=10000`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      }).then(async (response) => ({ status: response.status, body: await response.text() }));
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    let settled = 0;
    const requests = [heavy(), heavy(), heavy(), heavy()].map((p) =>
      p.finally(() => {
        settled++;
      }),
    );
    // /health is never queued behind the heavy queries: it answers while they are in flight.
    const health = await fetch(`${server.url}/api/v1/health`);
    const inFlightAtHealth = 4 - settled;
    const answers = await Promise.all(requests);
    clearInterval(sampler);
    console.log(
      `bounded reads: rss grew ${((peak - baseline) / 1048576).toFixed(0)} MB; bodies ${answers.map((a) => (Buffer.byteLength(a.body) / 1048576).toFixed(1)).join(', ')} MB`,
    );
    expect(health.status).toBe(200);
    expect(inFlightAtHealth).toBeGreaterThan(0);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(Buffer.byteLength(answer.body)).toBeLessThanOrEqual(8 * 1024 * 1024);
      const graph = JSON.parse(answer.body);
      expect(graph.truncated).toBe(true);
      // Over 2,000 runs, and the merges' 1,000 inputs each make the answer too big: both cut it.
      expect(graph.truncatedBy).toEqual(['runs', 'bytes']);
      expect(graph.runs.length).toBeLessThanOrEqual(2_000);
      expect(graph.limits).toMatchObject({ maxRuns: 2_000, maxDepth: 10_000 });
      // The nearest runs are the ones kept: the trained model's run first, then the merges.
      expect(graph.runs[0].component).toBe('train');
      const depths = graph.runs.map((r: { depth: number }) => r.depth);
      expect(depths).toEqual([...depths].sort((a, b) => a - b));
      expect(graph.reachedDepth).toBe(depths[depths.length - 1]);
      expect(graph.runs.filter((r: { depth: number }) => r.depth === 1).length).toBeGreaterThan(0);
      // Every edge and pointer of the answer belongs to a run it holds.
      const ids = new Set(graph.runs.map((r: { id: number }) => r.id));
      for (const d of graph.dependencies) expect(ids.has(d.run) && ids.has(d.dependsOn)).toBe(true);
    }
    expect(peak - baseline).toBeLessThan(MEMORY_BOUND_BYTES);

    // Narrowing: a smaller maxRuns is honoured, and the depth says where to go on from.
    const narrow = await fetch(`${server.url}/api/v1/trace?uri=${encodeURIComponent(OUTPUT)}&maxRuns=20`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const small = await narrow.json();
    expect(small.runs).toHaveLength(20);
    expect(small).toMatchObject({ truncated: true, reachedDepth: 1 });
    const tooMany = await fetch(`${server.url}/api/v1/trace?uri=${encodeURIComponent(OUTPUT)}&maxRuns=2001`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(tooMany.status).toBe(400);
  });
});
