import { createHash } from 'node:crypto';
import {
  type ComponentRunInput,
  InvalidInputError,
  inferPointerType,
  normalizeUri,
  POINTER_TYPES,
  type PointerInput,
  RUN_SOURCES,
  RUN_STATUSES,
  randomRunKey,
} from '@mltrace/core';
import { sql } from 'drizzle-orm';
import type { LogResult } from './api.js';
import type { Database } from './database.js';
import { jsonParam } from './rows.js';

interface PreparedPointer {
  uri: string;
  version: string;
  type: string;
}

interface PreparedRun {
  ord: number;
  run_key: string;
  component: string;
  source: string;
  status: string;
  started_at: string;
  ended_at: string | null;
  attempt: number | null;
  git_commit: string | null;
  code_hash: string | null;
  code_snapshot: string | null;
  error_message: string | null;
  error_type: string | null;
  notes: string;
  namespace: string | null;
  workflow_id: string | null;
  workflow_run_id: string | null;
  workflow_type: string | null;
  task_queue: string | null;
  parent_workflow_id: string | null;
  root_workflow_id: string | null;
  metadata: Record<string, unknown>;
  inputs: PreparedPointer[];
  outputs: PreparedPointer[];
  depends_on: string[];
  infer: boolean;
}

const DAY_MS = 86_400_000;

function validDate(value: unknown, field: string, runKey: string): string {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new InvalidInputError(`run ${runKey}: ${field} must be a valid date`);
  }
  return value.toISOString();
}

function preparePointers(
  list: Array<string | PointerInput> | undefined,
  cwd: string,
  where: string,
): PreparedPointer[] {
  const out = new Map<string, PreparedPointer>();
  for (const item of list ?? []) {
    const pointer = typeof item === 'string' ? { uri: item } : item;
    if (typeof pointer?.uri !== 'string')
      throw new InvalidInputError(`${where}: a pointer needs a string uri`);
    if (pointer.version !== undefined && typeof pointer.version !== 'string') {
      throw new InvalidInputError(`${where}: the version of ${pointer.uri} must be a string`);
    }
    if (pointer.type !== undefined && !POINTER_TYPES.includes(pointer.type)) {
      throw new InvalidInputError(
        `${where}: unknown pointer type "${pointer.type}" (use ${POINTER_TYPES.join(', ')})`,
      );
    }
    const uri = normalizeUri(pointer.uri, { cwd });
    const version = pointer.version ?? '';
    out.set(`${uri}\0${version}`, { uri, version, type: pointer.type ?? inferPointerType(uri) });
  }
  return [...out.values()];
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Field types a caller in plain JavaScript (or JSON) can get wrong, checked before any SQL. */
function checkTypes(run: ComponentRunInput, where: string): void {
  const bad = (field: string, expected: string) => {
    throw new InvalidInputError(`${where}: ${field} must be ${expected}`);
  };
  for (const field of ['gitCommit', 'codeSnapshot', 'notes'] as const) {
    if (run[field] !== undefined && run[field] !== null && typeof run[field] !== 'string')
      bad(field, 'a string');
  }
  if (
    run.attempt !== undefined &&
    run.attempt !== null &&
    !(Number.isInteger(run.attempt) && run.attempt >= 0)
  ) {
    bad('attempt', 'a whole number >= 0');
  }
  if (run.metadata !== undefined && !isPlainObject(run.metadata)) bad('metadata', 'an object');
  if (run.error !== undefined && run.error !== null) {
    if (!isPlainObject(run.error) || typeof run.error.message !== 'string')
      bad('error', 'an object with a string message');
  }
  if (run.workflow !== undefined) {
    if (!isPlainObject(run.workflow)) bad('workflow', 'an object');
    for (const [key, value] of Object.entries(run.workflow ?? {})) {
      if (value !== undefined && value !== null && typeof value !== 'string')
        bad(`workflow.${key}`, 'a string');
    }
  }
  for (const field of ['inputs', 'outputs', 'dependsOn'] as const) {
    if (run[field] !== undefined && !Array.isArray(run[field])) bad(field, 'a list');
  }
  if (run.dependsOn?.some((key) => typeof key !== 'string')) bad('dependsOn', 'a list of run keys (strings)');
}

/** Validates and normalises one run into the row the SQL below reads. */
export function prepareRun(run: ComponentRunInput, ord: number, cwd: string): PreparedRun {
  const runKey = run.runKey ?? randomRunKey();
  const where = `run ${runKey}`;
  if (typeof run.component !== 'string' || run.component.trim() === '') {
    throw new InvalidInputError(`${where}: component must be a non-empty string`);
  }
  const status = run.status ?? 'succeeded';
  if (!RUN_STATUSES.includes(status)) {
    throw new InvalidInputError(`${where}: unknown status "${status}" (use ${RUN_STATUSES.join(', ')})`);
  }
  const source = run.source ?? 'api';
  if (!RUN_SOURCES.includes(source)) {
    throw new InvalidInputError(`${where}: unknown source "${source}" (use ${RUN_SOURCES.join(', ')})`);
  }
  checkTypes(run, where);
  const startedAt = validDate(run.startedAt, 'startedAt', runKey);
  const endedAt = run.endedAt == null ? null : validDate(run.endedAt, 'endedAt', runKey);
  if (endedAt !== null && endedAt < startedAt)
    throw new InvalidInputError(`${where}: endedAt is before startedAt`);
  const wf = run.workflow ?? {};
  return {
    ord,
    run_key: runKey,
    component: run.component.trim(),
    source,
    status,
    started_at: startedAt,
    ended_at: endedAt,
    attempt: run.attempt ?? null,
    git_commit: run.gitCommit ?? null,
    code_hash: run.codeSnapshot ? createHash('sha256').update(run.codeSnapshot).digest('hex') : null,
    code_snapshot: run.codeSnapshot ?? null,
    error_message: run.error?.message ?? null,
    error_type: run.error?.type ?? null,
    notes: run.notes ?? '',
    namespace: wf.namespace ?? null,
    workflow_id: wf.workflowId ?? null,
    workflow_run_id: wf.runId ?? null,
    workflow_type: wf.workflowType ?? null,
    task_queue: wf.taskQueue ?? null,
    parent_workflow_id: wf.parentWorkflowId ?? null,
    root_workflow_id: wf.rootWorkflowId ?? null,
    metadata: run.metadata ?? {},
    inputs: preparePointers(run.inputs, cwd, `${where} inputs`),
    outputs: preparePointers(run.outputs, cwd, `${where} outputs`),
    depends_on: run.dependsOn ?? [],
    infer: run.inferDependencies ?? true,
  };
}

/** Two logs of one key in a batch become one: later fields win, I/O is unioned. */
function mergeDuplicates(runs: PreparedRun[]): PreparedRun[] {
  const byKey = new Map<string, PreparedRun>();
  for (const run of runs) {
    const earlier = byKey.get(run.run_key);
    if (!earlier) {
      byKey.set(run.run_key, run);
      continue;
    }
    const union = (a: PreparedPointer[], b: PreparedPointer[]) => {
      const seen = new Map(a.map((p) => [`${p.uri}\0${p.version}`, p]));
      for (const p of b) seen.set(`${p.uri}\0${p.version}`, p);
      return [...seen.values()];
    };
    byKey.set(run.run_key, {
      ...run,
      ord: earlier.ord,
      metadata: { ...earlier.metadata, ...run.metadata },
      inputs: union(earlier.inputs, run.inputs),
      outputs: union(earlier.outputs, run.outputs),
      depends_on: [...new Set([...earlier.depends_on, ...run.depends_on])],
    });
  }
  return [...byKey.values()].sort((a, b) => a.ord - b.ord);
}

/**
 * Writes a batch of runs in the caller's transaction with a fixed number of statements, whatever
 * the batch size: components, runs, pointers, I/O links, inferred and explicit dependencies,
 * staleness.
 */
export async function writeRuns(
  tx: Database,
  inputs: ComponentRunInput[],
  options: { cwd: string; stalenessThresholdMs: number },
): Promise<LogResult> {
  const prepared = inputs.map((run, i) => prepareRun(run, i, options.cwd));
  const runs = mergeDuplicates(prepared);
  if (runs.length === 0) return { runs: [] };

  await tx.rows(sql`INSERT INTO components (name)
    SELECT DISTINCT value FROM jsonb_array_elements_text(${jsonParam(runs.map((r) => r.component))})
    ON CONFLICT (name) DO NOTHING`);

  // A terminal status is never overwritten by a late 'running' or 'pending' (retried or spooled writes).
  const runRows = await tx.rows<{ id: unknown; run_key: string; created: unknown }>(sql`
    INSERT INTO component_runs (run_key, component, source, status, started_at, ended_at, attempt,
      git_commit, code_hash, code_snapshot, error_message, error_type, notes, namespace, workflow_id,
      workflow_run_id, workflow_type, task_queue, parent_workflow_id, root_workflow_id, metadata)
    SELECT run_key, component, source, status, started_at, ended_at, attempt, git_commit, code_hash,
      code_snapshot, error_message, error_type, notes, namespace, workflow_id, workflow_run_id,
      workflow_type, task_queue, parent_workflow_id, root_workflow_id, coalesce(metadata, '{}')
    FROM jsonb_to_recordset(${jsonParam(runs.map(({ inputs: _i, outputs: _o, depends_on: _d, ...row }) => row))})
      AS r(ord int, run_key text, component text, source text, status text, started_at timestamptz,
        ended_at timestamptz, attempt int, git_commit text, code_hash text, code_snapshot text,
        error_message text, error_type text, notes text, namespace text, workflow_id text,
        workflow_run_id text, workflow_type text, task_queue text, parent_workflow_id text,
        root_workflow_id text, metadata jsonb)
    ORDER BY ord
    ON CONFLICT (run_key) DO UPDATE SET
      component = excluded.component,
      source = excluded.source,
      status = CASE WHEN component_runs.status IN ('succeeded', 'failed', 'cancelled')
                     AND excluded.status IN ('running', 'pending')
                    THEN component_runs.status ELSE excluded.status END,
      started_at = least(component_runs.started_at, excluded.started_at),
      ended_at = coalesce(excluded.ended_at, component_runs.ended_at),
      attempt = coalesce(excluded.attempt, component_runs.attempt),
      git_commit = coalesce(excluded.git_commit, component_runs.git_commit),
      code_hash = coalesce(excluded.code_hash, component_runs.code_hash),
      code_snapshot = coalesce(excluded.code_snapshot, component_runs.code_snapshot),
      error_message = coalesce(excluded.error_message, component_runs.error_message),
      error_type = coalesce(excluded.error_type, component_runs.error_type),
      notes = CASE WHEN excluded.notes <> '' THEN excluded.notes ELSE component_runs.notes END,
      namespace = coalesce(excluded.namespace, component_runs.namespace),
      workflow_id = coalesce(excluded.workflow_id, component_runs.workflow_id),
      workflow_run_id = coalesce(excluded.workflow_run_id, component_runs.workflow_run_id),
      workflow_type = coalesce(excluded.workflow_type, component_runs.workflow_type),
      task_queue = coalesce(excluded.task_queue, component_runs.task_queue),
      parent_workflow_id = coalesce(excluded.parent_workflow_id, component_runs.parent_workflow_id),
      root_workflow_id = coalesce(excluded.root_workflow_id, component_runs.root_workflow_id),
      metadata = component_runs.metadata || excluded.metadata,
      logged_at = now()
    RETURNING id, run_key, (xmax = 0) AS created`);
  const idByKey = new Map(runRows.map((row) => [row.run_key, Number(row.id)]));

  const pointers = new Map<string, PreparedPointer>();
  for (const run of runs)
    for (const p of [...run.inputs, ...run.outputs]) pointers.set(`${p.uri}\0${p.version}`, p);
  const pointerIds = new Map<string, number>();
  if (pointers.size > 0) {
    const list = jsonParam([...pointers.values()]);
    await tx.rows(sql`INSERT INTO io_pointers (uri, version, type)
      SELECT uri, version, type FROM jsonb_to_recordset(${list}) AS p(uri text, version text, type text)
      ORDER BY uri, version
      ON CONFLICT (uri, version) DO NOTHING`);
    const rows = await tx.rows<{ id: unknown; uri: string; version: string }>(sql`
      SELECT p.id, p.uri, p.version FROM jsonb_to_recordset(${list}) AS q(uri text, version text)
      CROSS JOIN LATERAL (
        SELECT id, uri, version FROM io_pointers p WHERE p.uri = q.uri AND p.version = q.version OFFSET 0) p`);
    for (const row of rows) pointerIds.set(`${row.uri}\0${row.version}`, Number(row.id));
  }

  const links = (side: 'inputs' | 'outputs') =>
    runs.flatMap((run) =>
      run[side].map((p) => ({
        run_id: idByKey.get(run.run_key),
        pointer_id: pointerIds.get(`${p.uri}\0${p.version}`),
      })),
    );
  const outputLinks = links('outputs');
  if (outputLinks.length > 0) {
    // A consumer logged before its producer (two workers, a spool replayed late, bridges synced
    // out of order) is linked when the producer arrives, if it has no producer for that URI yet:
    // the inference rules run backwards (same version, or either version unknown), and only a
    // producer that started no later than the consumer. Adding a missing edge is not rewiring:
    // edges already made stay frozen. (The first such producer to arrive wins.)
    await tx.rows(sql`
      WITH new_outputs AS (
        INSERT INTO run_outputs (run_id, pointer_id)
        SELECT run_id, pointer_id FROM jsonb_to_recordset(${jsonParam(outputLinks)}) AS l(run_id bigint, pointer_id bigint)
        ON CONFLICT DO NOTHING
        RETURNING run_id, pointer_id
      )
      INSERT INTO run_dependencies (run_id, depends_on_run_id)
      SELECT DISTINCT ON (c.run_id, c.pointer_id) c.run_id, pr.id
      FROM new_outputs o
      JOIN io_pointers p ON p.id = o.pointer_id
      CROSS JOIN LATERAL (
        SELECT q.id FROM io_pointers q
        WHERE q.uri = p.uri AND (q.version = p.version OR q.version = '' OR p.version = '') OFFSET 0) q
      CROSS JOIN LATERAL (SELECT * FROM run_inputs c WHERE c.pointer_id = q.id OFFSET 0) c
      JOIN component_runs cr ON cr.id = c.run_id
      JOIN component_runs pr ON pr.id = o.run_id
      WHERE cr.id <> pr.id AND pr.started_at <= cr.started_at
        AND NOT EXISTS (
          SELECT 1 FROM run_dependencies d
          JOIN run_outputs o2 ON o2.run_id = d.depends_on_run_id
          JOIN io_pointers p2 ON p2.id = o2.pointer_id
          WHERE d.run_id = c.run_id AND p2.uri = p.uri)
      ORDER BY c.run_id, c.pointer_id, pr.started_at DESC, pr.id DESC
      ON CONFLICT DO NOTHING`);
  }
  const inputLinks = links('inputs');
  const noInference = new Set(runs.filter((run) => !run.infer).map((run) => idByKey.get(run.run_key)));
  // Only inputs new to a run get a dependency: edges once inferred are frozen.
  const newInputs =
    inputLinks.length === 0
      ? []
      : await tx.rows<{
          run_id: unknown;
          pointer_id: unknown;
        }>(sql`INSERT INTO run_inputs (run_id, pointer_id)
          SELECT run_id, pointer_id FROM jsonb_to_recordset(${jsonParam(inputLinks)}) AS l(run_id bigint, pointer_id bigint)
          ON CONFLICT DO NOTHING RETURNING run_id, pointer_id`);

  // What the inference reads of each new input comes from here, not from joins the planner can
  // misjudge (a JSON list is always estimated at 100 rows).
  const pointerById = new Map([...pointerIds].map(([key, id]) => [id, pointers.get(key)!]));
  const startedById = new Map(runs.map((run) => [idByKey.get(run.run_key), run.started_at]));
  const inferInputs = newInputs
    .filter((n) => !noInference.has(Number(n.run_id)))
    .map((n) => {
      const pointer = pointerById.get(Number(n.pointer_id))!;
      return {
        run_id: Number(n.run_id),
        pointer_id: Number(n.pointer_id),
        uri: pointer.uri,
        version: pointer.version,
        started_at: startedById.get(Number(n.run_id)),
      };
    });
  const explicit = runs.flatMap((run) =>
    run.depends_on.map((key) => ({ run_id: idByKey.get(run.run_key), key })),
  );
  const created = new Map(runRows.map((row) => [row.run_key, row.created === true || row.created === 't']));
  const result: LogResult = {
    runs: prepared.map((run) => ({
      id: idByKey.get(run.run_key) ?? 0,
      runKey: run.run_key,
      created: created.get(run.run_key) ?? false,
    })),
  };
  if (newInputs.length === 0 && explicit.length === 0) return result;

  // The producer of an input: of that exact (uri, version) when the version is known, else of the
  // uri at an unknown version; for an input of unknown version, of any version. Always the latest
  // that started no later than the consumer, and never the consumer itself.
  const newEdges = await tx.rows<{
    run_id: unknown;
    depends_on_run_id: unknown;
    dep_component: string;
    age_ms: unknown;
    runs_between: unknown;
  }>(sql`
    WITH candidates AS (
      SELECT n.run_id, prod.run_id AS depends_on_run_id
      FROM jsonb_to_recordset(${jsonParam(inferInputs)})
        AS n(run_id bigint, pointer_id bigint, uri text, version text, started_at timestamptz)
      CROSS JOIN LATERAL (
        SELECT coalesce(
          CASE WHEN n.version <> '' THEN (
            SELECT pr.id
            FROM (SELECT o.run_id FROM run_outputs o WHERE o.pointer_id = n.pointer_id OFFSET 0) o
            JOIN component_runs pr ON pr.id = o.run_id
            WHERE pr.id <> n.run_id AND pr.started_at <= n.started_at
            ORDER BY pr.started_at DESC, pr.id DESC LIMIT 1)
          END,
          (SELECT pr.id
           FROM (SELECT o.run_id FROM io_pointers q JOIN run_outputs o ON o.pointer_id = q.id
                 WHERE q.uri = n.uri AND (n.version = '' OR q.version = '') OFFSET 0) o
           JOIN component_runs pr ON pr.id = o.run_id
           WHERE pr.id <> n.run_id AND pr.started_at <= n.started_at
           ORDER BY pr.started_at DESC, pr.id DESC LIMIT 1)
        ) AS run_id
      ) prod
      WHERE prod.run_id IS NOT NULL
      UNION
      SELECT e.run_id, pr.id
      FROM jsonb_to_recordset(${jsonParam(explicit)}) AS e(run_id bigint, key text)
      JOIN component_runs pr ON pr.run_key = e.key
      WHERE pr.id <> e.run_id
    ),
    inserted AS (
      INSERT INTO run_dependencies (run_id, depends_on_run_id)
      SELECT run_id, depends_on_run_id FROM candidates
      ON CONFLICT DO NOTHING
      RETURNING run_id, depends_on_run_id
    )
    SELECT i.run_id, i.depends_on_run_id, d.component AS dep_component,
      (extract(epoch FROM (me.started_at - d.started_at)) * 1000)::float8 AS age_ms,
      (SELECT count(*) FROM component_runs c
        WHERE c.component = d.component AND c.started_at >= d.started_at
          AND c.started_at <= me.started_at AND c.id <> i.run_id) AS runs_between
    FROM inserted i
    CROSS JOIN LATERAL (SELECT started_at FROM component_runs WHERE id = i.run_id OFFSET 0) me
    CROSS JOIN LATERAL (SELECT component, started_at FROM component_runs WHERE id = i.depends_on_run_id OFFSET 0) d`);

  const missing = explicit.filter((e) => !idByKey.has(e.key));
  if (missing.length > 0) await checkExplicitTargets(tx, missing);

  // mltrace's two staleness rules, computed once, when the edge is made.
  const stale = new Map<number, string[]>();
  for (const edge of newEdges) {
    const messages: string[] = [];
    const age = Number(edge.age_ms);
    const between = Number(edge.runs_between);
    const dep = `${edge.dep_component} (run ${Number(edge.depends_on_run_id)})`;
    if (age > options.stalenessThresholdMs) {
      messages.push(`${dep} was run ${Math.floor(age / DAY_MS)} days ago.`);
    } else if (between > 1) {
      messages.push(`${dep} has ${between - 1} fresher run(s) that began before this component run started.`);
    }
    if (messages.length === 0) continue;
    const runId = Number(edge.run_id);
    stale.set(runId, [...(stale.get(runId) ?? []), ...messages]);
  }
  if (stale.size > 0) {
    await tx.rows(sql`UPDATE component_runs r SET stale = r.stale || s.messages
      FROM (SELECT (value->>'id')::bigint AS id, ARRAY(SELECT jsonb_array_elements_text(value->'messages')) AS messages
            FROM jsonb_array_elements(${jsonParam([...stale].map(([id, messages]) => ({ id, messages })))})) s
      WHERE r.id = s.id`);
  }
  return result;
}

async function checkExplicitTargets(tx: Database, explicit: Array<{ key: string }>): Promise<void> {
  const keys = [...new Set(explicit.map((e) => e.key))];
  const found = await tx.rows<{ run_key: string }>(sql`SELECT run_key FROM component_runs
    WHERE run_key IN (SELECT value FROM jsonb_array_elements_text(${jsonParam(keys)}))`);
  const known = new Set(found.map((r) => r.run_key));
  const unknown = keys.filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new InvalidInputError(`dependsOn names runs that do not exist: ${unknown.slice(0, 5).join(', ')}`, {
      hint: 'log the upstream run first, or drop it from dependsOn',
    });
  }
}
