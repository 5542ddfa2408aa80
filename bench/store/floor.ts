/**
 * The engine's floor: what each engine can do on the store's own schema when nothing else is
 * done, to show how far a target is from the engine itself. Not a system under test.
 *
 * - Insert: one statement per batch writes the rows ours writes for a chain (components, runs,
 *   pointers, input and output links, the edge), with each edge named by the client: no
 *   inference, upsert, staleness or validation. With and without the schema's foreign keys.
 * - Walk: a recursive query that only counts the chain's runs, and returns none of their content.
 */

import { median } from '../lib/report.js';

/** Runs one SQL statement with parameters on a raw connection. */
export type Exec = (text: string, params?: unknown[]) => Promise<Array<Record<string, unknown>>>;

const INSERT_CHAIN = `
  WITH x AS MATERIALIZED (
    SELECT * FROM json_to_recordset($1::text::json)
      AS x(k text, c text, s timestamptz, e timestamptz, i text, o text, p text)),
  new_components AS (INSERT INTO components (name) SELECT DISTINCT c FROM x ON CONFLICT DO NOTHING),
  runs AS (
    INSERT INTO component_runs (run_key, component, source, status, started_at, ended_at)
    SELECT k, c, 'api', 'succeeded', s, e FROM x RETURNING id, run_key),
  outs AS (INSERT INTO io_pointers (uri, type) SELECT o, 'data' FROM x RETURNING id, uri),
  output_links AS (
    INSERT INTO run_outputs (run_id, pointer_id)
    SELECT r.id, p.id FROM x JOIN runs r ON r.run_key = x.k JOIN outs p ON p.uri = x.o),
  input_links AS (
    INSERT INTO run_inputs (run_id, pointer_id)
    SELECT r.id, coalesce(p.id, (SELECT q.id FROM io_pointers q WHERE q.uri = x.i AND q.version = ''))
    FROM x JOIN runs r ON r.run_key = x.k LEFT JOIN outs p ON p.uri = x.i)
  INSERT INTO run_dependencies (run_id, depends_on_run_id)
  SELECT r.id, coalesce(u.id, (SELECT q.id FROM component_runs q WHERE q.run_key = x.p))
  FROM x JOIN runs r ON r.run_key = x.k LEFT JOIN runs u ON u.run_key = x.p
  WHERE x.p IS NOT NULL`;

// Each step reads one run's edges by index, as the store's walk does: joined as a whole, a
// planner that guesses the walk small hash-joins the whole edge table once per level.
const WALK = `
  WITH RECURSIVE w(id) AS (
    SELECT id FROM component_runs WHERE run_key = $1
    UNION
    SELECT d.depends_on_run_id FROM w
    CROSS JOIN LATERAL (SELECT depends_on_run_id FROM run_dependencies d WHERE d.run_id = w.id OFFSET 0) d)
  SELECT count(*)::int AS n FROM w`;

/** Drops every foreign key of the database's schema. */
export async function dropForeignKeys(exec: Exec): Promise<void> {
  const fks = await exec(
    `SELECT conrelid::regclass::text AS t, format('%I', conname) AS c FROM pg_constraint WHERE contype = 'f'`,
  );
  for (const { t, c } of fks) await exec(`ALTER TABLE ${t} DROP CONSTRAINT ${c}`);
}

/**
 * Inserts an `n`-run chain in batches of `batch` on a database with the store's schema; runs/s.
 * `withoutForeignKeys` drops every foreign key first.
 */
export async function floorInsert(
  exec: Exec,
  n: number,
  batch: number,
  withoutForeignKeys: boolean,
): Promise<number> {
  if (withoutForeignKeys) await dropForeignKeys(exec);
  await exec(`INSERT INTO io_pointers (uri, type) VALUES ('s3://floor/raw.csv', 'data')`);
  const base = Date.UTC(2024, 0, 1);
  const out = (i: number) => `s3://floor/out-${i}.parquet`;
  const rows = Array.from({ length: n }, (_, i) => ({
    k: `floor-${i}`,
    c: `step-${i % 10}`,
    s: new Date(base + i * 1000).toISOString(),
    e: new Date(base + i * 1000 + 500).toISOString(),
    i: i === 0 ? 's3://floor/raw.csv' : out(i - 1),
    o: out(i),
    p: i === 0 ? null : `floor-${i - 1}`,
  }));
  const start = performance.now();
  for (let i = 0; i < n; i += batch) await exec(INSERT_CHAIN, [JSON.stringify(rows.slice(i, i + batch))]);
  return (n / (performance.now() - start)) * 1000;
}

/** Walks the chain {@link floorInsert} wrote, after ANALYZE; ms per walk, median of `repeats`. */
export async function floorWalk(exec: Exec, n: number, repeats: number): Promise<number> {
  await exec('ANALYZE');
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    const [row] = await exec(WALK, [`floor-${n - 1}`]);
    times.push(performance.now() - start);
    if (row?.n !== n) throw new Error(`floor walk returned ${String(row?.n)} runs, expected ${n}`);
  }
  return median(times);
}
