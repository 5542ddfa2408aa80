import { type IOPointer, NotFoundError, normalizeUri, type PointerType } from '@mltrace/core';
import { sql } from 'drizzle-orm';
import type { GraphOptions, LineageGraph, PointerQuery } from './api.js';
import type { Database } from './database.js';
import {
  byUriVersion,
  type Columns,
  type LoadedRun,
  type PointerRow,
  type RunsDocument,
  readRunsDocument,
  runsDocument,
  toPointer,
  where,
} from './rows.js';
import { preparedShape } from './sql-text.js';

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

/** What a graph statement's text depends on; everything else is a parameter. */
type GraphShape = `${'upstream' | 'downstream'} ${'uri' | 'version'} ${'all' | 'limit'}`;

/**
 * A lineage graph in one statement: the roots (the pointers matching the query), the start runs
 * `starts` selects from them, a walk of the frozen dependency edges, and the runs it reached as
 * one JSON document. `UNION` keeps each (run, depth) pair once, so shared ancestors are not
 * re-expanded per path: a 12-level diamond is 37 runs, not 16,381 entries. Each step reads the
 * edges of one run by index (the lateral fence): joined as a whole, a planner that misjudges the
 * walk's size hash-joins the whole edge table once per level, which on a deep chain is quadratic.
 *
 * Rendered once per shape; the values `uri`, `version`, `maxDepth` and `maxRuns` are
 * placeholders, filled per call.
 */
const graphStatement = preparedShape((shape: GraphShape) => {
  const [direction, by, runs] = shape.split(' ');
  const uri = sql.placeholder('uri');
  const maxDepth = sql.placeholder('maxDepth');
  const maxRuns = sql.placeholder('maxRuns');
  const [from, to] =
    direction === 'upstream' ? ['run_id', 'depends_on_run_id'] : ['depends_on_run_id', 'run_id'];
  const starts =
    direction === 'upstream'
      ? // The latest producer of the roots. The fence makes the planner read the few producers by
        // pointer first, rather than walk every run newest first looking for one.
        sql`SELECT r.id FROM (SELECT o.run_id FROM run_outputs o
              WHERE o.pointer_id = ANY(ARRAY(SELECT id FROM roots)) OFFSET 0) o
            JOIN component_runs r ON r.id = o.run_id
            ORDER BY r.started_at DESC, r.id DESC LIMIT 1`
      : sql`SELECT DISTINCT run_id AS id FROM run_inputs WHERE pointer_id = ANY(ARRAY(SELECT id FROM roots))`;
  // Upstream of a URI without a version, the roots are what the start run made: the current
  // holder of an alias, not every version that ever held it (the earlier holders are upstream).
  const shownRoots =
    direction === 'upstream' && by === 'uri'
      ? sql`WHERE id IN (SELECT pointer_id FROM run_outputs WHERE run_id IN (SELECT id FROM starts))`
      : sql``;
  const edges = (alias: string) =>
    sql`(SELECT d.${sql.raw(to)} AS next FROM run_dependencies d WHERE d.${sql.raw(from)} = ${sql.raw(alias)}.run_id OFFSET 0)`;
  const limited = runs === 'limit';
  return runsDocument(sql`SELECT run_id FROM visited`, {
    ctes: sql`roots AS MATERIALIZED (
          SELECT id, uri, version, type, flag FROM io_pointers
          ${where([sql`uri = ${uri}`, by === 'version' && sql`version = ${sql.placeholder('version')}`])}),
        starts AS MATERIALIZED (${starts}),
        walk(run_id, depth) AS (
          SELECT id, 0 FROM starts
          UNION
          SELECT d.next, w.depth + 1 FROM walk w CROSS JOIN LATERAL ${edges('w')} d
          WHERE w.depth < ${maxDepth}),
        visited AS MATERIALIZED (SELECT run_id, min(depth) AS depth FROM walk GROUP BY run_id
          ${limited ? sql`ORDER BY 2, 1 DESC LIMIT ${maxRuns}::int + 1` : sql``})`,
    extra: sql`'roots', (SELECT json_agg(json_build_array(id, uri, version, type, flag) ORDER BY id DESC) FROM roots ${shownRoots}),
        'rootsFound', EXISTS (SELECT 1 FROM roots),
        'depths', (SELECT json_build_array(json_agg(run_id), json_agg(depth)) FROM visited),
        -- Only a run first reached at the depth limit was not expanded: its edges, for the
        -- client to see whether one leads outside what was visited.
        'frontier', (SELECT json_build_array(json_agg(v.run_id), json_agg(d.next))
          FROM visited v CROSS JOIN LATERAL ${edges('v')} d WHERE v.depth = ${maxDepth})`,
  });
});

async function graph(
  db: Database,
  query: PointerQuery,
  options: GraphOptions & { cwd: string },
  direction: 'upstream' | 'downstream',
): Promise<{ graph: LineageGraph; rootsFound: boolean }> {
  const uri = normalizeUri(query.uri, { cwd: options.cwd });
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxRuns = options.maxRuns;
  const shape: GraphShape = `${direction} ${query.version === undefined ? 'uri' : 'version'} ${maxRuns === undefined ? 'all' : 'limit'}`;
  const [row] = await db.rows<{ document: string }>(
    graphStatement(shape, { uri, version: query.version, maxDepth, maxRuns }),
  );
  const document = JSON.parse(row?.document ?? '{}') as RunsDocument & {
    roots: Array<[number, string, string, PointerType, boolean]> | null;
    depths: Columns<number, number> | null;
    frontier: Columns<number, number> | null;
    rootsFound?: boolean;
  };
  const roots = (document.roots ?? []).map(([id, uri, version, type, flag]) => ({
    id,
    uri,
    version,
    type,
    flag,
  }));
  const [depthIds, depthValues] = document.depths ?? [null, null];
  const depths = new Map<number, number>();
  if (depthIds && depthValues)
    for (let i = 0; i < depthIds.length; i++) depths.set(depthIds[i]!, depthValues[i]!);
  const { runs, pointers } = readRunsDocument(document);
  // With a run limit the statement keeps one run more than asked: its presence says the walk
  // went further, and it goes (the farthest: deepest, then lowest id). Counting in SQL instead
  // (`count(DISTINCT)` of the walk, and a hashed NOT IN for the depth) was ~30% of the
  // statement's CPU on a 20-run trace.
  let truncated = false;
  let extra: number | undefined;
  if (maxRuns !== undefined && depths.size > maxRuns) {
    truncated = true;
    let extraDepth = -1;
    for (const [id, depth] of depths) {
      if (depth > extraDepth || (depth === extraDepth && extra !== undefined && id < extra)) {
        extra = id;
        extraDepth = depth;
      }
    }
    if (extra !== undefined) {
      depths.delete(extra);
      runs.delete(extra);
    }
  }
  const [from, next] = document.frontier ?? [null, null];
  if (from && next)
    for (let i = 0; i < from.length; i++) if (depths.has(from[i]!) && !depths.has(next[i]!)) truncated = true;
  // Each run gets its depth in place (no copy of 10,000 runs), as its last field.
  const ordered = [...runs.values()] as Array<LoadedRun & { depth: number }>;
  for (const run of ordered) run.depth = depths.get(run.id) ?? 0;
  ordered.sort((a, b) => a.depth - b.depth || b.id - a.id);
  const dependencies: LineageGraph['dependencies'] = [];
  for (const run of ordered)
    for (const dep of run.dependsOn) if (depths.has(dep)) dependencies.push({ run: run.id, dependsOn: dep });
  // Every pointer a run of the graph read or wrote (the dropped run's own left out).
  let shown = [...pointers.values()];
  if (extra !== undefined) {
    const used = new Set<number>();
    for (const run of ordered) for (const p of [...run.inputs, ...run.outputs]) used.add(p.id);
    shown = shown.filter((p) => used.has(p.id));
  }
  return {
    graph: {
      roots,
      runs: ordered,
      pointers: shown.sort(byUriVersion),
      dependencies,
      truncated,
    },
    rootsFound: document.rootsFound ?? roots.length > 0,
  };
}

/** Upstream lineage of a pointer, from its latest producer (of that version, when given). */
export async function trace(
  db: Database,
  query: PointerQuery,
  options: GraphOptions & { cwd: string },
): Promise<LineageGraph> {
  const { graph: lineage, rootsFound } = await graph(db, query, options, 'upstream');
  if (lineage.runs.length === 0) {
    throw new NotFoundError(`no run produced ${describe(query)}`, {
      hint: rootsFound
        ? 'it was only ever used as an input; try `impact` for what was derived from it'
        : 'check the URI (relative paths are resolved against the current directory), or list pointers with `recent`',
    });
  }
  return lineage;
}

/** Downstream lineage of a pointer: its consumers (of that version, when given) and all they led to. */
export async function impact(
  db: Database,
  query: PointerQuery,
  options: GraphOptions & { cwd: string },
): Promise<LineageGraph> {
  const { graph: lineage, rootsFound } = await graph(db, query, options, 'downstream');
  if (lineage.runs.length === 0) {
    throw new NotFoundError(`no run used ${describe(query)} as an input`, {
      hint: rootsFound ? 'it was only ever produced; try `trace` for where it came from' : 'check the URI',
    });
  }
  return lineage;
}
