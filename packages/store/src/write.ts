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
import { sql } from 'drizzle-orm';
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
    code_hash: run.codeSnapshot ? codeHash(run.codeSnapshot) : null,
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

/** sha256 of code snapshots by text: a worker sends the same few functions' code with every run. */
const codeHashes = new Map<string, string>();

function codeHash(code: string): string {
  let hash = codeHashes.get(code);
  if (hash === undefined) {
    hash = createHash('sha256').update(code).digest('hex');
    if (codeHashes.size >= 256) codeHashes.clear();
    codeHashes.set(code, hash);
  }
  return hash;
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

/** The SQLSTATEs `mltrace_log_runs` raises (migrations/0003_log_runs_function.sql). */
const UNKNOWN_DEPENDENCY = 'ML001';
const POINTER_VANISHED = 'ML002';

/** The store's own errors for the write function's refusals; any other error as it is. */
function asStoreError(error: unknown): unknown {
  const { code, message, hint } = (error ?? {}) as { code?: string; message?: string; hint?: string };
  if (code === UNKNOWN_DEPENDENCY)
    return new InvalidInputError(message ?? 'unknown dependency', { hint, cause: error });
  if (code === POINTER_VANISHED)
    return new UnavailableError(message ?? 'a pointer vanished', { hint, cause: error });
  return error;
}

/**
 * Writes a batch of runs with one call of the database function `mltrace_log_runs`: one
 * statement (atomic on its own, so no transaction is needed) and one round trip, whatever the
 * batch size. Here the runs are validated and normalised, duplicates merged and pointers listed
 * once; the function does the rest (upsert, pointers, late-producer links, inference,
 * staleness). Each list is one JSON parameter; links name runs and pointers by position.
 */
export async function writeRuns(
  db: Database,
  inputs: ComponentRunInput[],
  options: { cwd: string; stalenessThresholdMs: number },
): Promise<LogResult> {
  const prepared = inputs.map((run, i) => prepareRun(run, i, options.cwd));
  const runs = mergeDuplicates(prepared);
  if (runs.length === 0) return { runs: [] };

  const pointerIndex = new Map<string, number>();
  const pointers: PreparedPointer[] = [];
  const outputs: Array<{ r: number; p: number }> = [];
  const inputsList: Array<{ r: number; p: number }> = [];
  const dependsOn: Array<{ r: number; key: string }> = [];
  const rows = runs.map(({ ord: _o, inputs: i, outputs: o, depends_on: d, infer, ...row }, index) => {
    const r = index + 1;
    for (const [side, list] of [
      [outputs, o],
      [inputsList, i],
    ] as const) {
      for (const pointer of list) {
        const key = `${pointer.uri}\0${pointer.version}`;
        let p = pointerIndex.get(key);
        if (p === undefined) {
          pointers.push(pointer);
          p = pointers.length;
          pointerIndex.set(key, p);
        }
        side.push({ r, p });
      }
    }
    for (const key of d) dependsOn.push({ r, key });
    return infer ? row : { ...row, infer };
  });
  let document: { ids: number[]; created: boolean[] };
  try {
    const [row] = await db.rows<{ result: unknown }>(sql`SELECT mltrace_log_runs(${jsonRows(rows)},
      ${jsonRows(pointers)}, ${jsonRows(outputs)}, ${jsonRows(inputsList)}, ${jsonRows(dependsOn)},
      ${options.stalenessThresholdMs}::float8)::text AS result`);
    document = JSON.parse(String(row?.result));
  } catch (error) {
    throw asStoreError(error);
  }
  const idByKey = new Map(runs.map((run, i) => [run.run_key, i]));
  return {
    runs: prepared.map((run) => {
      const i = idByKey.get(run.run_key) ?? -1;
      return { id: Number(document.ids[i] ?? 0), runKey: run.run_key, created: document.created[i] === true };
    }),
  };
}
