import type { ComponentRun, IOPointer, PointerType, RunSource, RunStatus } from '@mltrace/core';
import { sql } from 'drizzle-orm';
import type { RunSummary } from './api.js';
import type { Database } from './database.js';

/** The columns every run read selects; timestamps as epoch milliseconds so both drivers agree. */
export const RUN_COLUMNS = sql.raw(`r.id, r.run_key, r.component, r.source, r.status,
  (extract(epoch FROM r.started_at) * 1000)::float8 AS started_ms,
  (extract(epoch FROM r.ended_at) * 1000)::float8 AS ended_ms,
  r.attempt, r.git_commit, r.code_hash, r.error_message, r.error_type, r.notes, r.stale,
  r.namespace, r.workflow_id, r.workflow_run_id, r.workflow_type, r.task_queue,
  r.parent_workflow_id, r.root_workflow_id, r.metadata`);

export interface RunRow {
  id: unknown;
  run_key: string;
  component: string;
  source: string;
  status: string;
  started_ms: unknown;
  ended_ms: unknown;
  attempt: unknown;
  git_commit: string | null;
  code_hash: string | null;
  code_snapshot?: string | null;
  error_message: string | null;
  error_type: string | null;
  notes: string;
  stale: unknown;
  namespace: string | null;
  workflow_id: string | null;
  workflow_run_id: string | null;
  workflow_type: string | null;
  task_queue: string | null;
  parent_workflow_id: string | null;
  root_workflow_id: string | null;
  metadata: unknown;
}

export interface PointerRow {
  id: unknown;
  uri: string;
  version: string;
  type: string;
  flag: unknown;
}

/** JSON text of a list, for `jsonb_array_elements`/`jsonb_to_recordset`: one parameter, any size. */
export const jsonParam = (value: unknown) => sql`${JSON.stringify(value)}::jsonb`;

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

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined)) as T;
}

export function toRunSummary(
  row: RunRow,
  io: { inputs: IOPointer[]; outputs: IOPointer[]; dependsOn: number[] },
): RunSummary {
  return {
    id: Number(row.id),
    runKey: row.run_key,
    component: row.component,
    source: row.source as RunSource,
    status: row.status as RunStatus,
    startedAt: new Date(Number(row.started_ms)),
    endedAt: row.ended_ms === null || row.ended_ms === undefined ? null : new Date(Number(row.ended_ms)),
    attempt: row.attempt === null || row.attempt === undefined ? null : Number(row.attempt),
    gitCommit: row.git_commit,
    codeHash: row.code_hash,
    error: row.error_message === null ? null : { message: row.error_message, type: row.error_type },
    notes: row.notes,
    stale: parseTextArray(row.stale),
    workflow: dropUndefined({
      namespace: row.namespace ?? undefined,
      workflowId: row.workflow_id ?? undefined,
      runId: row.workflow_run_id ?? undefined,
      workflowType: row.workflow_type ?? undefined,
      taskQueue: row.task_queue ?? undefined,
      parentWorkflowId: row.parent_workflow_id ?? undefined,
      rootWorkflowId: row.root_workflow_id ?? undefined,
    }),
    metadata: (parseJson(row.metadata) ?? {}) as Record<string, unknown>,
    ...io,
  };
}

/**
 * Loads runs with their inputs, outputs and dependencies: four queries whatever the number of
 * runs, ids passed as one JSON parameter. Returned in the order of `ids`.
 */
export async function loadRuns(
  db: Database,
  ids: number[],
  options: { withCode?: boolean } = {},
): Promise<Array<RunSummary & { codeSnapshot?: string | null }>> {
  if (ids.length === 0) return [];
  const inIds = anyId(ids);
  const code = options.withCode ? sql`, r.code_snapshot` : sql``;
  const [runRows, inputRows, outputRows, depRows] = await Promise.all([
    db.rows<RunRow>(sql`SELECT ${RUN_COLUMNS}${code} FROM component_runs r WHERE r.id = ${inIds}`),
    db.rows<PointerRow & { run_id: unknown }>(sql`SELECT l.run_id, p.id, p.uri, p.version, p.type, p.flag
      FROM run_inputs l CROSS JOIN LATERAL (SELECT * FROM io_pointers p WHERE p.id = l.pointer_id OFFSET 0) p
      WHERE l.run_id = ${inIds}
      ORDER BY p.uri, p.version`),
    db.rows<PointerRow & { run_id: unknown }>(sql`SELECT l.run_id, p.id, p.uri, p.version, p.type, p.flag
      FROM run_outputs l CROSS JOIN LATERAL (SELECT * FROM io_pointers p WHERE p.id = l.pointer_id OFFSET 0) p
      WHERE l.run_id = ${inIds}
      ORDER BY p.uri, p.version`),
    db.rows<{ run_id: unknown; depends_on_run_id: unknown }>(sql`SELECT run_id, depends_on_run_id
      FROM run_dependencies WHERE run_id = ${inIds} ORDER BY depends_on_run_id`),
  ]);
  const group = <T>(rows: Array<{ run_id: unknown }>, map: (row: never) => T) => {
    const out = new Map<number, T[]>();
    for (const row of rows) {
      const key = Number(row.run_id);
      const list = out.get(key) ?? [];
      list.push(map(row as never));
      out.set(key, list);
    }
    return out;
  };
  const inputs = group(inputRows, toPointer);
  const outputs = group(outputRows, toPointer);
  const deps = group(depRows, (r: { depends_on_run_id: unknown }) => Number(r.depends_on_run_id));
  const byId = new Map(runRows.map((row) => [Number(row.id), row]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    if (!row) return [];
    const summary = toRunSummary(row, {
      inputs: inputs.get(id) ?? [],
      outputs: outputs.get(id) ?? [],
      dependsOn: deps.get(id) ?? [],
    });
    return options.withCode ? [{ ...summary, codeSnapshot: row.code_snapshot ?? null }] : [summary];
  });
}

/** A full run (with its code snapshot) from a summary row. */
export function asComponentRun(run: RunSummary & { codeSnapshot?: string | null }): ComponentRun {
  return { ...run, codeSnapshot: run.codeSnapshot ?? null };
}
