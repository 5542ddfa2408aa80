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
  UnavailableError,
} from '@mltrace/core';
import { type SQL, sql } from 'drizzle-orm';
import type { LogResult } from './api.js';
import type { Database } from './database.js';
import { isPlainObject, jsonRows } from './rows.js';

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
 * Writes a batch of runs in the caller's transaction in four statements, whatever the batch
 * size: components and runs; pointers; outputs (linking consumers that arrived before their
 * producer); inputs with inferred and explicit dependencies and staleness. Each statement takes
 * its rows as one JSON parameter.
 */
export async function writeRuns(
  tx: Database,
  inputs: ComponentRunInput[],
  options: { cwd: string; stalenessThresholdMs: number },
): Promise<LogResult> {
  const prepared = inputs.map((run, i) => prepareRun(run, i, options.cwd));
  const runs = mergeDuplicates(prepared);
  if (runs.length === 0) return { runs: [] };

  // A terminal status is never overwritten by a late 'running' or 'pending' (retried or spooled
  // writes). The components' foreign key is checked at the end of the statement, so the runs
  // see the components inserted beside them.
  const runRows = await tx.rows<{ id: unknown; run_key: string; created: unknown; started_at: string }>(sql`
    WITH new_components AS (
      INSERT INTO components (name)
      SELECT DISTINCT value FROM json_array_elements_text(${jsonRows(runs.map((r) => r.component))})
      ON CONFLICT (name) DO NOTHING
    )
    INSERT INTO component_runs (run_key, component, source, status, started_at, ended_at, attempt,
      git_commit, code_hash, code_snapshot, error_message, error_type, notes, namespace, workflow_id,
      workflow_run_id, workflow_type, task_queue, parent_workflow_id, root_workflow_id, metadata)
    SELECT run_key, component, source, status, started_at, ended_at, attempt, git_commit, code_hash,
      code_snapshot, error_message, error_type, notes, namespace, workflow_id, workflow_run_id,
      workflow_type, task_queue, parent_workflow_id, root_workflow_id, coalesce(metadata, '{}')
    FROM json_to_recordset(${jsonRows(runs.map(({ inputs: _i, outputs: _o, depends_on: _d, infer: _f, ...row }) => row))})
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
    RETURNING id, run_key, (xmax = 0) AS created, started_at::text AS started_at`);
  const idByKey = new Map(runRows.map((row) => [row.run_key, Number(row.id)]));
  // Inference and staleness use the start as stored: a re-logged run keeps its earliest start.
  // (As the server's text, so a sub-millisecond start written by another tool survives the trip.)
  const startedByKey = new Map(runRows.map((row) => [row.run_key, row.started_at]));
  const created = new Map(runRows.map((row) => [row.run_key, row.created === true || row.created === 't']));
  const result: LogResult = {
    runs: prepared.map((run) => ({
      id: idByKey.get(run.run_key) ?? 0,
      runKey: run.run_key,
      created: created.get(run.run_key) ?? false,
    })),
  };

  const pointerIds = await writePointers(tx, runs);
  const links = (side: 'inputs' | 'outputs') =>
    runs.flatMap((run) =>
      run[side].map((p) => ({
        run_id: idByKey.get(run.run_key),
        pointer_id: pointerIds.get(`${p.uri}\0${p.version}`),
        // What the inference reads of each input comes from here, not from joins the planner
        // can misjudge (a JSON list is always estimated at 100 rows).
        uri: p.uri,
        version: p.version,
        started_at: startedByKey.get(run.run_key),
        infer: run.infer,
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
      WITH output_links AS MATERIALIZED (
        SELECT * FROM json_to_recordset(${jsonRows(outputLinks)})
          AS l(run_id bigint, pointer_id bigint, uri text, version text, started_at timestamptz)
      ),
      new_outputs AS (
        INSERT INTO run_outputs (run_id, pointer_id)
        SELECT run_id, pointer_id FROM output_links
        ON CONFLICT DO NOTHING
        RETURNING run_id, pointer_id
      )
      INSERT INTO run_dependencies (run_id, depends_on_run_id)
      SELECT DISTINCT ON (c.run_id, c.pointer_id) c.run_id, o.run_id
      FROM new_outputs n
      JOIN output_links o ON o.run_id = n.run_id AND o.pointer_id = n.pointer_id
      CROSS JOIN LATERAL (
        SELECT q.id FROM io_pointers q
        WHERE q.uri = o.uri AND (q.version = o.version OR q.version = '' OR o.version = '') OFFSET 0) q
      CROSS JOIN LATERAL (SELECT * FROM run_inputs c WHERE c.pointer_id = q.id OFFSET 0) c
      CROSS JOIN LATERAL (SELECT started_at FROM component_runs cr WHERE cr.id = c.run_id OFFSET 0) cr
      WHERE c.run_id <> o.run_id AND o.started_at <= cr.started_at
        AND NOT EXISTS (
          SELECT 1 FROM run_dependencies d
          JOIN run_outputs o2 ON o2.run_id = d.depends_on_run_id
          JOIN io_pointers p2 ON p2.id = o2.pointer_id
          WHERE d.run_id = c.run_id AND p2.uri = o.uri)
      ORDER BY c.run_id, c.pointer_id, o.started_at DESC, o.run_id DESC
      ON CONFLICT DO NOTHING`);
  }

  const inputLinks = links('inputs');
  const explicit = runs.flatMap((run) =>
    run.depends_on.map((key) => ({
      run_id: idByKey.get(run.run_key),
      key,
      started_at: startedByKey.get(run.run_key),
    })),
  );
  if (inputLinks.length === 0 && explicit.length === 0) return result;
  const missing = explicit.filter((e) => !idByKey.has(e.key));
  if (missing.length > 0) await checkExplicitTargets(tx, missing);

  // Only inputs new to a run get a dependency: edges once inferred are frozen. The producer of an
  // input: of that exact (uri, version) when the version is known, else of the uri at an unknown
  // version; for an input of unknown version, of any version. Always the latest that started no
  // later than the consumer, and never the consumer itself. Then mltrace's two staleness rules,
  // computed once, when the edge is made: the dependency is older than the threshold, or its
  // component has fresher runs that began before this run, re-runs that wrote one of the
  // dependency's outputs again. Every run is read by its id, the
  // primary key (lateral, fenced): a batch reads runs inserted moments ago, which a plan made
  // from the last statistics may think absent, and would then scan for, once per input.
  await tx.rows(sql`
    WITH input_links AS MATERIALIZED (
      SELECT * FROM json_to_recordset(${jsonRows(inputLinks)})
        AS l(run_id bigint, pointer_id bigint, uri text, version text, started_at timestamptz, infer boolean)
    ),
    new_inputs AS (
      INSERT INTO run_inputs (run_id, pointer_id)
      SELECT run_id, pointer_id FROM input_links
      ON CONFLICT DO NOTHING RETURNING run_id, pointer_id
    ),
    candidates AS (
      SELECT n.run_id, n.started_at, pr.id AS depends_on_run_id, pr.component, pr.started_at AS dep_started_at
      FROM (SELECT l.* FROM new_inputs i
            JOIN input_links l ON l.run_id = i.run_id AND l.pointer_id = i.pointer_id
            WHERE l.infer) n
      CROSS JOIN LATERAL (
        SELECT coalesce(
          CASE WHEN n.version <> '' THEN (
            SELECT pr.id
            FROM (SELECT o.run_id FROM run_outputs o WHERE o.pointer_id = n.pointer_id OFFSET 0) o
            CROSS JOIN LATERAL (SELECT id, started_at FROM component_runs pr WHERE pr.id = o.run_id OFFSET 0) pr
            WHERE pr.id <> n.run_id AND pr.started_at <= n.started_at
            ORDER BY pr.started_at DESC, pr.id DESC LIMIT 1)
          END,
          (SELECT pr.id
           FROM (SELECT o.run_id FROM io_pointers q JOIN run_outputs o ON o.pointer_id = q.id
                 WHERE q.uri = n.uri AND (n.version = '' OR q.version = '') OFFSET 0) o
           CROSS JOIN LATERAL (SELECT id, started_at FROM component_runs pr WHERE pr.id = o.run_id OFFSET 0) pr
           WHERE pr.id <> n.run_id AND pr.started_at <= n.started_at
           ORDER BY pr.started_at DESC, pr.id DESC LIMIT 1)
        ) AS id
      ) prod
      CROSS JOIN LATERAL (SELECT id, component, started_at FROM component_runs WHERE id = prod.id OFFSET 0) pr
      UNION
      SELECT e.run_id, e.started_at, pr.id, pr.component, pr.started_at
      FROM json_to_recordset(${jsonRows(explicit)}) AS e(run_id bigint, key text, started_at timestamptz)
      CROSS JOIN LATERAL (
        SELECT id, component, started_at FROM component_runs pr WHERE pr.run_key = e.key OFFSET 0) pr
      WHERE pr.id <> e.run_id
    ),
    inserted AS (
      INSERT INTO run_dependencies (run_id, depends_on_run_id)
      SELECT DISTINCT run_id, depends_on_run_id FROM candidates
      ON CONFLICT DO NOTHING
      RETURNING run_id, depends_on_run_id
    ),
    messages AS (
      SELECT DISTINCT ON (c.run_id, c.depends_on_run_id) c.run_id, c.depends_on_run_id,
        CASE
          WHEN extract(epoch FROM (c.started_at - c.dep_started_at)) * 1000 > ${options.stalenessThresholdMs}::float8
          THEN format('%s (run %s) was run %s days ago.', c.component, c.depends_on_run_id,
                      floor(extract(epoch FROM (c.started_at - c.dep_started_at)) / 86400))
          ELSE (SELECT format('%s (run %s) has %s fresher run(s) that began before this component run started.',
                              c.component, c.depends_on_run_id, count(*) - 1)
                FROM component_runs f
                WHERE f.component = c.component AND f.started_at >= c.dep_started_at
                  AND f.started_at <= c.started_at AND f.id <> c.run_id
                  -- A re-run of the step: it wrote one of the dependency's outputs again (any
                  -- version). Runs of one component over other outputs (versions of a model,
                  -- promotions, tags) are not fresher runs of this one.
                  AND EXISTS (
                    SELECT 1 FROM run_outputs fo
                    JOIN io_pointers fp ON fp.id = fo.pointer_id
                    JOIN io_pointers dp ON dp.uri = fp.uri
                    JOIN run_outputs dout ON dout.pointer_id = dp.id AND dout.run_id = c.depends_on_run_id
                    WHERE fo.run_id = f.id)
                HAVING count(*) > 1)
        END AS message
      FROM inserted i JOIN candidates c USING (run_id, depends_on_run_id)
      -- Runs a bridge read from a versioned history (DVC locks and GTO tags, the MLflow registry)
      -- name the versions they used on purpose: a newer or older version is no staleness there.
      WHERE NOT EXISTS (
        SELECT 1 FROM component_runs cr WHERE cr.id = c.run_id AND cr.source IN ('dvc', 'mlflow'))
    )
    UPDATE component_runs r SET stale = r.stale || s.messages
    FROM (SELECT run_id, array_agg(message ORDER BY depends_on_run_id) AS messages
          FROM messages WHERE message IS NOT NULL GROUP BY run_id) s
    WHERE r.id = s.run_id`);
  return result;
}

/**
 * Ids of every pointer of the batch, inserting the new ones. One statement returns both the
 * inserted and the existing; a pointer another writer committed after this statement's snapshot
 * is in neither, and is read by a second statement.
 */
async function writePointers(tx: Database, runs: PreparedRun[]): Promise<Map<string, number>> {
  const pointers = new Map<string, PreparedPointer>();
  for (const run of runs)
    for (const p of [...run.inputs, ...run.outputs]) pointers.set(`${p.uri}\0${p.version}`, p);
  const ids = new Map<string, number>();
  if (pointers.size === 0) return ids;
  const read = (rows: Array<{ id: unknown; uri: string; version: string }>) => {
    for (const row of rows) ids.set(`${row.uri}\0${row.version}`, Number(row.id));
  };
  const existing = (from: SQL) => sql`
    SELECT p.id, p.uri, p.version FROM ${from}
    CROSS JOIN LATERAL (
      SELECT id, uri, version FROM io_pointers p WHERE p.uri = q.uri AND p.version = q.version OFFSET 0) p`;
  const recordset = (list: PreparedPointer[], alias: string) =>
    sql`json_to_recordset(${jsonRows(list)}) AS ${sql.raw(alias)}(uri text, version text, type text)`;
  read(
    await tx.rows(sql`
      WITH list AS MATERIALIZED (SELECT uri, version, type FROM ${recordset([...pointers.values()], 'p')}),
      inserted AS (
        INSERT INTO io_pointers (uri, version, type)
        SELECT uri, version, type FROM list ORDER BY uri, version
        ON CONFLICT (uri, version) DO NOTHING
        RETURNING id, uri, version
      )
      SELECT id, uri, version FROM inserted
      UNION ALL ${existing(sql`list q`)}`),
  );
  const late = [...pointers].filter(([key]) => !ids.has(key)).map(([, p]) => p);
  if (late.length > 0) read(await tx.rows(existing(recordset(late, 'q'))));
  const missing = [...pointers.keys()].filter((key) => !ids.has(key));
  if (missing.length > 0) {
    throw new UnavailableError(
      `could not insert or read ${missing.length} pointer(s), e.g. ${missing[0]?.replace('\0', '@')}: were they deleted meanwhile?`,
      { hint: 'retry the write' },
    );
  }
  return ids;
}
async function checkExplicitTargets(tx: Database, explicit: Array<{ key: string }>): Promise<void> {
  const keys = [...new Set(explicit.map((e) => e.key))];
  const found = await tx.rows<{ run_key: string }>(sql`SELECT run_key FROM component_runs
    WHERE run_key IN (SELECT value FROM json_array_elements_text(${jsonRows(keys)}))`);
  const known = new Set(found.map((r) => r.run_key));
  const unknown = keys.filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new InvalidInputError(`dependsOn names runs that do not exist: ${unknown.slice(0, 5).join(', ')}`, {
      hint: 'log the upstream run first, or drop it from dependsOn',
    });
  }
}
