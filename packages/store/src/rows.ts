import type { ComponentRun, IOPointer, PointerType, RunSource, RunStatus } from '@mltrace/core';
import { type SQL, sql } from 'drizzle-orm';
import type { RunSummary } from './api.js';
import type { Database } from './database.js';

export interface PointerRow {
  id: unknown;
  uri: string;
  version: string;
  type: string;
  flag: unknown;
}

/**
 * JSON text of a value, cast to `jsonb`: for values stored as jsonb (a policy, a sync cursor)
 * and short lists read with `jsonb_array_elements_text` (tags, reasons, ids). Sent as text and
 * cast in SQL, so no driver's own jsonb serializer encodes it a second time.
 */
export const jsonParam = (value: unknown) => sql`${JSON.stringify(value)}::text::jsonb`;

/**
 * The write path's bulk parameter: a list of rows (or of plain values) as JSON text, for
 * `json_to_recordset`/`json_array_elements_text`. `json`, not `jsonb`: each list is read once,
 * so jsonb's binary conversion would be wasted work. Each row's own null fields are left out,
 * since the recordset reads a missing field as null; values nested in a field (a run's
 * metadata) are kept as they are.
 */
export const jsonRows = (rows: unknown[]) =>
  sql`${JSON.stringify(rows.map((row) => (isPlainObject(row) ? withoutNulls(row) : row)))}::text::json`;

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function withoutNulls(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in row) if (row[key] !== null) out[key] = row[key];
  return out;
}

/**
 * `WHERE` with the conditions given, `AND`ed; absent ones are left out. Optional filters are
 * written this way, not as `($1 IS NULL OR col = $1)`, so a prepared statement's generic plan
 * still sees each filter it has (and the index it can use).
 */
export function where(conditions: Array<SQL | false | undefined | null>): SQL {
  const present = conditions.filter((c): c is SQL => Boolean(c));
  return present.length ? sql`WHERE ${sql.join(present, sql` AND `)}` : sql``;
}

/**
 * `= anyId(ids)`: membership in a list of ids, one parameter whatever its size. An array built
 * once (an InitPlan) keeps the comparison indexable, where `IN (SELECT ... jsonb)` lets a planner
 * without statistics hash-join a full table scan.
 */
export const anyId = (ids: number[]) =>
  sql`ANY(ARRAY(SELECT value::bigint FROM jsonb_array_elements_text(${jsonParam(ids)})))`;

/** A jsonb value from either driver (parsed already, or text). */
export const parseJson = (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : value);

/** A `text[]` from either driver: parsed already, or a one-dimensional array literal such as `{a,"b c"}`. */
export function parseTextArray(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string' || value.length < 2) return [];
  const out: string[] = [];
  let i = 1;
  while (i < value.length - 1) {
    let item = '';
    if (value[i] === '"') {
      for (i++; value[i] !== '"'; i++) item += value[i] === '\\' ? value[++i] : value[i];
      i++;
    } else {
      while (value[i] !== ',' && i < value.length - 1) item += value[i++];
    }
    out.push(item);
    i++; // the comma
  }
  return out;
}

export function toPointer(row: PointerRow): IOPointer {
  return {
    id: Number(row.id),
    uri: row.uri,
    version: row.version,
    type: row.type as PointerType,
    flag: row.flag === true || row.flag === 't',
  };
}

/**
 * One SELECT returning a set of runs as a single JSON text value: the runs with their inputs,
 * outputs, dependencies and the pointers these name. `ids` selects the run ids; `ctes` are
 * common table expressions it may read (the statement is `WITH RECURSIVE`); `extra` adds fields.
 * One value rather than rows of four queries: the drivers' per-row decoding and the round trips
 * were most of a trace's time, on PGlite above all. Runs and links are arrays, not objects, to
 * keep the document small; `readRunsDocument` names them.
 */
export function runsDocument(ids: SQL, options: { withCode?: boolean; ctes?: SQL; extra?: SQL } = {}): SQL {
  // An array built once and compared with `= ANY`: one index scan per table, whatever the
  // planner guesses of the set's size. (The cast keeps `ANY((SELECT ...))` an expression.)
  const inIds = sql`ANY((SELECT ids FROM run_set)::bigint[])`;
  // Times as float8 milliseconds (`epochMs` reads them), cut to the millisecond first (as a Date
  // holds them): `date_part`, not `extract`, whose numeric arithmetic took about 40% of the
  // runs' share of a 1k-run trace (~10 -> ~5.6 ms, best of 40, interleaved).
  const code = options.withCode ? sql`, r.code_snapshot` : sql``;
  const ctes = options.ctes ? sql`${options.ctes},` : sql``;
  const extra = options.extra ? sql`, ${options.extra}` : sql``;
  // Links as two parallel arrays (run ids, then pointer ids), not an array of pairs: a pair per
  // row cost the server a json_build_array call and the client an array to parse and drop. The
  // links are read once, for both their lists and the set of pointers they name.
  return sql`WITH RECURSIVE ${ctes} run_set AS MATERIALIZED (SELECT ARRAY(${ids}) AS ids),
  links AS MATERIALIZED (
    SELECT l.run_id, l.pointer_id, false AS output FROM run_inputs l WHERE l.run_id = ${inIds}
    UNION ALL SELECT l.run_id, l.pointer_id, true FROM run_outputs l WHERE l.run_id = ${inIds})
  SELECT json_build_object(
    'runs', (SELECT json_agg(json_build_array(r.id, r.run_key, r.component, r.source, r.status,
        date_part('epoch', date_trunc('milliseconds', r.started_at)) * 1000,
        date_part('epoch', date_trunc('milliseconds', r.ended_at)) * 1000,
        r.attempt, r.git_commit, r.code_hash, r.error_message, r.error_type, r.notes, r.stale,
        r.namespace, r.workflow_id, r.workflow_run_id, r.workflow_type, r.task_queue,
        r.parent_workflow_id, r.root_workflow_id, r.metadata${code}))
      FROM component_runs r WHERE r.id = ${inIds}),
    'inputs', (SELECT json_build_array(json_agg(run_id), json_agg(pointer_id)) FROM links WHERE NOT output),
    'outputs', (SELECT json_build_array(json_agg(run_id), json_agg(pointer_id)) FROM links WHERE output),
    'dependencies', (SELECT json_build_array(json_agg(d.run_id), json_agg(d.depends_on_run_id))
      FROM run_dependencies d WHERE d.run_id = ${inIds}),
    'pointers', (SELECT json_agg(json_build_array(p.id, p.uri, p.version, p.type, p.flag)) FROM io_pointers p
      WHERE p.id = ANY(ARRAY(SELECT DISTINCT pointer_id FROM links)))${extra}
  )::text AS document`;
}

type RunTuple = [
  id: number,
  runKey: string,
  component: string,
  source: RunSource,
  status: RunStatus,
  startedMs: number,
  endedMs: number | null,
  attempt: number | null,
  gitCommit: string | null,
  codeHash: string | null,
  errorMessage: string | null,
  errorType: string | null,
  notes: string,
  stale: string[],
  namespace: string | null,
  workflowId: string | null,
  workflowRunId: string | null,
  workflowType: string | null,
  taskQueue: string | null,
  parentWorkflowId: string | null,
  rootWorkflowId: string | null,
  metadata: Record<string, unknown>,
  codeSnapshot?: string | null,
];

/** Two lists of the same length (`json_agg` of each column of the same rows); null when no rows. */
export type Columns<A, B> = [A[] | null, B[] | null];

/** The fields of {@link runsDocument}, as JSON gives them (absent when the set is empty). */
export interface RunsDocument {
  runs: RunTuple[] | null;
  inputs: Columns<number, number> | null;
  outputs: Columns<number, number> | null;
  dependencies: Columns<number, number> | null;
  pointers: Array<[number, string, string, PointerType, boolean]> | null;
}

export type LoadedRun = RunSummary & { codeSnapshot?: string | null };

/** Pointers by uri, then version, in code-unit order (the same whatever the server's collation). */
export const byUriVersion = (a: IOPointer, b: IOPointer) =>
  a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : 0;

/**
 * A time from `date_part('epoch', date_trunc('milliseconds', t)) * 1000`: a whole number of
 * milliseconds, which the float arithmetic misses by far less than 0.5, so rounding gives it back
 * exactly (the millisecond the stored microseconds fall in).
 */
const epochMs = (ms: number) => new Date(Math.round(ms));

/** The workflow fields of a run tuple that are set, in their order (none set: an empty object). */
function workflowOf(t: RunTuple): RunSummary['workflow'] {
  const workflow: RunSummary['workflow'] = {};
  if (t[14] !== null) workflow.namespace = t[14];
  if (t[15] !== null) workflow.workflowId = t[15];
  if (t[16] !== null) workflow.runId = t[16];
  if (t[17] !== null) workflow.workflowType = t[17];
  if (t[18] !== null) workflow.taskQueue = t[18];
  if (t[19] !== null) workflow.parentWorkflowId = t[19];
  if (t[20] !== null) workflow.rootWorkflowId = t[20];
  return workflow;
}

/** Sorts a run's pointer list in place; most hold one pointer. */
const sortPointers = (list: IOPointer[]) => {
  if (list.length > 1) list.sort(byUriVersion);
};

/**
 * Runs by id from a {@link runsDocument}, inputs and outputs sorted by uri and version. Written
 * for speed (a 10k-run trace reads 10,000 of them): plain assignments, no intermediate objects.
 */
export function readRunsDocument(document: RunsDocument): {
  runs: Map<number, LoadedRun>;
  pointers: Map<number, IOPointer>;
} {
  const pointers = new Map<number, IOPointer>();
  for (const [id, uri, version, type, flag] of document.pointers ?? [])
    pointers.set(id, { id, uri, version, type, flag });
  const runs = new Map<number, LoadedRun>();
  for (const t of document.runs ?? []) {
    const run: LoadedRun = {
      id: t[0],
      runKey: t[1],
      component: t[2],
      source: t[3],
      status: t[4],
      startedAt: epochMs(t[5]),
      endedAt: t[6] === null ? null : epochMs(t[6]),
      attempt: t[7],
      gitCommit: t[8],
      codeHash: t[9],
      error: t[10] === null ? null : { message: t[10], type: t[11] },
      notes: t[12],
      stale: t[13],
      workflow: workflowOf(t),
      metadata: t[21] ?? {},
      inputs: [],
      outputs: [],
      dependsOn: [],
    };
    if (t.length > 22) run.codeSnapshot = t[22] ?? null;
    runs.set(run.id, run);
  }
  for (const [side, links] of [
    ['inputs', document.inputs],
    ['outputs', document.outputs],
  ] as const) {
    const [runIds, pointerIds] = links ?? [null, null];
    if (!runIds || !pointerIds) continue;
    for (let i = 0; i < runIds.length; i++) {
      const pointer = pointers.get(pointerIds[i]!);
      if (pointer) runs.get(runIds[i]!)?.[side].push(pointer);
    }
  }
  const [runIds, dependsOn] = document.dependencies ?? [null, null];
  if (runIds && dependsOn)
    for (let i = 0; i < runIds.length; i++) runs.get(runIds[i]!)?.dependsOn.push(dependsOn[i]!);
  for (const run of runs.values()) {
    sortPointers(run.inputs);
    sortPointers(run.outputs);
    if (run.dependsOn.length > 1) run.dependsOn.sort((a, b) => a - b);
  }
  return { runs, pointers };
}

/** Loads runs with their inputs, outputs and dependencies in one statement, in the order of `ids`. */
export async function loadRuns(
  db: Database,
  ids: number[],
  options: { withCode?: boolean } = {},
): Promise<LoadedRun[]> {
  if (ids.length === 0) return [];
  const [row] = await db.rows<{ document: string }>(
    runsDocument(sql`SELECT value::bigint FROM jsonb_array_elements_text(${jsonParam(ids)})`, options),
  );
  const { runs } = readRunsDocument(JSON.parse(row?.document ?? '{}'));
  return ids.flatMap((id) => runs.get(id) ?? []);
}

/** A full run (with its code snapshot) from a loaded run. */
export function asComponentRun(run: LoadedRun): ComponentRun {
  return { ...run, codeSnapshot: run.codeSnapshot ?? null };
}
