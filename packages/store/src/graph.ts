import { type IOPointer, NotFoundError, normalizeUri } from '@mltrace/core';
import { sql } from 'drizzle-orm';
import type { GraphOptions, LineageGraph, PointerQuery } from './api.js';
import type { Database } from './database.js';
import { anyId, jsonParam, loadRuns, type PointerRow, toPointer } from './rows.js';

/** The default depth limit: deep enough for a 10,000-run chain. */
export const DEFAULT_MAX_DEPTH = 10_000;

/** Pointers matching a query: one (uri, version), or every version of the uri. */
export async function findPointers(db: Database, query: PointerQuery, cwd: string): Promise<IOPointer[]> {
  const uri = normalizeUri(query.uri, { cwd });
  const rows = await db.rows<PointerRow>(
    query.version === undefined
      ? sql`SELECT id, uri, version, type, flag FROM io_pointers WHERE uri = ${uri} ORDER BY id DESC`
      : sql`SELECT id, uri, version, type, flag FROM io_pointers WHERE uri = ${uri} AND version = ${query.version}`,
  );
  return rows.map(toPointer);
}

function describe(query: PointerQuery): string {
  return query.version === undefined ? query.uri : `${query.uri}@${query.version}`;
}

/**
 * Walks the frozen dependency edges from a set of start runs in one recursive query. `UNION`
 * keeps each (run, depth) pair once, so shared ancestors are not re-expanded per path: a
 * 12-level diamond is 37 runs, not 16,381 entries.
 */
async function walk(
  db: Database,
  startIds: number[],
  direction: 'upstream' | 'downstream',
  maxDepth: number,
): Promise<{ depths: Map<number, number>; truncated: boolean }> {
  const [from, to] =
    direction === 'upstream' ? ['run_id', 'depends_on_run_id'] : ['depends_on_run_id', 'run_id'];
  const rows = await db.rows<{ run_id: unknown; depth: unknown; more: unknown }>(sql`
    WITH RECURSIVE walk(run_id, depth) AS (
      SELECT value::bigint, 0 FROM jsonb_array_elements_text(${jsonParam(startIds)})
      UNION
      SELECT d.${sql.raw(to)}, w.depth + 1
      FROM walk w JOIN run_dependencies d ON d.${sql.raw(from)} = w.run_id
      WHERE w.depth < ${maxDepth}
    )
    , visited AS (SELECT run_id, min(depth) AS depth FROM walk GROUP BY run_id)
    -- Only a run first reached at the limit was not expanded; it cuts the walk short when one of
    -- its edges leads outside what was visited.
    SELECT v.run_id, v.depth, v.depth = ${maxDepth} AND EXISTS (
        SELECT 1 FROM run_dependencies d
        WHERE d.${sql.raw(from)} = v.run_id AND d.${sql.raw(to)} NOT IN (SELECT run_id FROM visited)) AS more
    FROM visited v`);
  const depths = new Map<number, number>();
  let truncated = false;
  for (const row of rows) {
    depths.set(Number(row.run_id), Number(row.depth));
    if (row.more === true || row.more === 't') truncated = true;
  }
  return { depths, truncated };
}

async function graphOf(
  db: Database,
  roots: IOPointer[],
  depths: Map<number, number>,
  truncated: boolean,
): Promise<LineageGraph> {
  const ids = [...depths.keys()].sort((a, b) => (depths.get(a) ?? 0) - (depths.get(b) ?? 0) || b - a);
  const runs = (await loadRuns(db, ids)).map((run) => ({ ...run, depth: depths.get(run.id) ?? 0 }));
  const pointers = new Map<number, IOPointer>();
  const dependencies: LineageGraph['dependencies'] = [];
  for (const run of runs) {
    for (const p of [...run.inputs, ...run.outputs]) pointers.set(p.id, p);
    for (const dep of run.dependsOn) if (depths.has(dep)) dependencies.push({ run: run.id, dependsOn: dep });
  }
  return { roots, runs, pointers: [...pointers.values()], dependencies, truncated };
}

/** Upstream lineage of a pointer, from its latest producer (of that version, when given). */
export async function trace(
  db: Database,
  query: PointerQuery,
  options: GraphOptions & { cwd: string },
): Promise<LineageGraph> {
  const roots = await findPointers(db, query, options.cwd);
  const producer = roots.length
    ? // The fence (OFFSET 0) makes the planner read the few producers by pointer first, rather
      // than walk every run newest first looking for one.
      await db.rows<{ id: unknown }>(sql`SELECT r.id
        FROM (SELECT o.run_id FROM run_outputs o
              WHERE o.pointer_id = ${anyId(roots.map((p) => p.id))}
              OFFSET 0) o
        JOIN component_runs r ON r.id = o.run_id
        ORDER BY r.started_at DESC, r.id DESC LIMIT 1`)
    : [];
  const start = producer[0];
  if (!start) {
    throw new NotFoundError(`no run produced ${describe(query)}`, {
      hint: roots.length
        ? 'it was only ever used as an input; try `impact` for what was derived from it'
        : 'check the URI (relative paths are resolved against the current directory), or list pointers with `recent`',
    });
  }
  const { depths, truncated } = await walk(
    db,
    [Number(start.id)],
    'upstream',
    options.maxDepth ?? DEFAULT_MAX_DEPTH,
  );
  return graphOf(db, roots, depths, truncated);
}

/** Downstream lineage of a pointer: its consumers (of that version, when given) and all they led to. */
export async function impact(
  db: Database,
  query: PointerQuery,
  options: GraphOptions & { cwd: string },
): Promise<LineageGraph> {
  const roots = await findPointers(db, query, options.cwd);
  const consumers = roots.length
    ? await db.rows<{ run_id: unknown }>(sql`SELECT DISTINCT run_id FROM run_inputs
        WHERE pointer_id = ${anyId(roots.map((p) => p.id))}`)
    : [];
  if (consumers.length === 0) {
    throw new NotFoundError(`no run used ${describe(query)} as an input`, {
      hint: roots.length ? 'it was only ever produced; try `trace` for where it came from' : 'check the URI',
    });
  }
  const { depths, truncated } = await walk(
    db,
    consumers.map((row) => Number(row.run_id)),
    'downstream',
    options.maxDepth ?? DEFAULT_MAX_DEPTH,
  );
  return graphOf(db, roots, depths, truncated);
}
