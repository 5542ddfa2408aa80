import { createHash } from 'node:crypto';
import {
  type ComponentRunInput,
  POINTER_TYPES,
  type PointerInput,
  RUN_SOURCES,
  RUN_STATUSES,
  type RunSource,
  type RunStatus,
  type WorkflowContext,
} from '@mltrace/core';
import { parseIsoDate } from './options.js';

/** The fields of one NDJSON import line (see the README for the schema). */
const FIELDS = new Set([
  'component',
  'startedAt',
  'endedAt',
  'runKey',
  'source',
  'status',
  'inputs',
  'outputs',
  'notes',
  'gitCommit',
  'attempt',
  'error',
  'metadata',
  'dependsOn',
  'workflow',
  'codeSnapshot',
]);
const WORKFLOW_FIELDS = new Set([
  'namespace',
  'workflowId',
  'runId',
  'workflowType',
  'taskQueue',
  'parentWorkflowId',
  'rootWorkflowId',
]);
/** Common misspellings, to say what was meant. */
const SUGGESTIONS: Record<string, string> = {
  started_at: 'startedAt',
  start: 'startedAt',
  startTime: 'startedAt',
  ended_at: 'endedAt',
  end: 'endedAt',
  endTime: 'endedAt',
  run_key: 'runKey',
  git_commit: 'gitCommit',
  git_hash: 'gitCommit',
  depends_on: 'dependsOn',
  code_snapshot: 'codeSnapshot',
  component_name: 'component',
};

/** The result of checking one line: a run to write, or what is wrong with it. */
export type ParsedLine = { ok: true; run: ComponentRunInput } | { ok: false; error: string };

class LineError extends Error {}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function fail(message: string): never {
  throw new LineError(message);
}

function optionalString(line: Record<string, unknown>, key: string): string | undefined {
  const value = line[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(`${key} must be a string, got ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function date(line: Record<string, unknown>, key: string): Date | undefined {
  const value = line[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(`${key} must be an ISO 8601 date string, got ${describe(value)}`);
  const parsed = parseIsoDate(value);
  if (!parsed) fail(`${key} ${describe(value)} is not an ISO 8601 date (e.g. 2024-05-01T10:00:00Z)`);
  return parsed;
}

function pointers(line: Record<string, unknown>, key: 'inputs' | 'outputs'): Array<string | PointerInput> {
  const value = line[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(`${key} must be an array of URIs or {uri, version?, type?} objects`);
  return value.map((item, i) => {
    const where = `${key}[${i}]`;
    if (typeof item === 'string') {
      if (item.trim() === '') fail(`${where} is an empty URI`);
      return item;
    }
    if (!isObject(item)) fail(`${where} must be a URI string or a {uri, version?, type?} object`);
    for (const k of Object.keys(item)) {
      if (k !== 'uri' && k !== 'version' && k !== 'type') fail(`${where} has an unknown field "${k}"`);
    }
    if (typeof item.uri !== 'string' || item.uri.trim() === '')
      fail(`${where}.uri must be a non-empty string`);
    const pointer: PointerInput = { uri: item.uri };
    if (item.version !== undefined && item.version !== null) {
      if (typeof item.version !== 'string') fail(`${where}.version must be a string`);
      pointer.version = item.version;
    }
    if (item.type !== undefined && item.type !== null) {
      if (typeof item.type !== 'string' || !(POINTER_TYPES as readonly string[]).includes(item.type)) {
        fail(`${where}.type ${describe(item.type)} is not one of ${POINTER_TYPES.join(', ')}`);
      }
      pointer.type = item.type as PointerInput['type'];
    }
    return pointer;
  });
}

function checkRun(line: Record<string, unknown>, canonical: string): ComponentRunInput {
  for (const key of Object.keys(line)) {
    if (!FIELDS.has(key)) {
      const meant = SUGGESTIONS[key];
      fail(`unknown field "${key}"${meant ? ` (did you mean "${meant}"?)` : ''}`);
    }
  }
  if (line.component === undefined || line.component === null) fail('missing required field "component"');
  if (typeof line.component !== 'string' || line.component.trim() === '') {
    fail(`component must be a non-empty string, got ${describe(line.component)}`);
  }
  if (line.startedAt === undefined || line.startedAt === null) fail('missing required field "startedAt"');
  const startedAt = date(line, 'startedAt') as Date;
  const endedAt = date(line, 'endedAt');
  if (endedAt && endedAt < startedAt) fail('endedAt is before startedAt');

  const status = optionalString(line, 'status');
  if (status !== undefined && !(RUN_STATUSES as readonly string[]).includes(status)) {
    fail(`unknown status ${describe(status)} (use ${RUN_STATUSES.join(', ')})`);
  }
  const source = optionalString(line, 'source');
  if (source !== undefined && !(RUN_SOURCES as readonly string[]).includes(source)) {
    fail(`unknown source ${describe(source)} (use ${RUN_SOURCES.join(', ')})`);
  }
  const runKey = optionalString(line, 'runKey');
  if (runKey !== undefined && runKey.trim() === '') fail('runKey must not be empty');

  const run: ComponentRunInput = {
    component: line.component,
    startedAt,
    // Without a run key, a key derived from the line's content: importing a file twice is idempotent.
    runKey: runKey ?? `import:${createHash('sha256').update(canonical).digest('hex').slice(0, 32)}`,
    inputs: pointers(line, 'inputs'),
    outputs: pointers(line, 'outputs'),
  };
  if (endedAt) run.endedAt = endedAt;
  if (status !== undefined) run.status = status as RunStatus;
  if (source !== undefined) run.source = source as RunSource;
  const notes = optionalString(line, 'notes');
  if (notes !== undefined) run.notes = notes;
  const gitCommit = optionalString(line, 'gitCommit');
  if (gitCommit !== undefined) run.gitCommit = gitCommit;
  const codeSnapshot = optionalString(line, 'codeSnapshot');
  if (codeSnapshot !== undefined) run.codeSnapshot = codeSnapshot;

  if (line.attempt !== undefined && line.attempt !== null) {
    if (typeof line.attempt !== 'number' || !Number.isInteger(line.attempt) || line.attempt < 1) {
      fail(`attempt must be a positive integer, got ${describe(line.attempt)}`);
    }
    run.attempt = line.attempt;
  }
  if (line.error !== undefined && line.error !== null) {
    const error = line.error;
    if (!isObject(error) || typeof error.message !== 'string') {
      fail('error must be an object {message, type?} with a string message');
    }
    if (error.type !== undefined && error.type !== null && typeof error.type !== 'string') {
      fail('error.type must be a string');
    }
    run.error =
      typeof error.type === 'string'
        ? { message: error.message, type: error.type }
        : { message: error.message };
  }
  if (line.metadata !== undefined && line.metadata !== null) {
    if (!isObject(line.metadata)) fail(`metadata must be an object, got ${describe(line.metadata)}`);
    run.metadata = line.metadata;
  }
  if (line.dependsOn !== undefined && line.dependsOn !== null) {
    const deps = line.dependsOn;
    if (!Array.isArray(deps) || deps.some((key) => typeof key !== 'string' || key.trim() === '')) {
      fail('dependsOn must be an array of run keys (non-empty strings)');
    }
    run.dependsOn = deps as string[];
  }
  if (line.workflow !== undefined && line.workflow !== null) {
    const workflow = line.workflow;
    if (!isObject(workflow)) fail('workflow must be an object');
    for (const [key, value] of Object.entries(workflow)) {
      if (!WORKFLOW_FIELDS.has(key)) fail(`workflow has an unknown field "${key}"`);
      if (typeof value !== 'string') fail(`workflow.${key} must be a string`);
    }
    run.workflow = workflow as WorkflowContext;
  }
  return run;
}

/**
 * Checks one NDJSON line and turns it into a run: JSON syntax, required fields, types, dates
 * (ISO 8601; no offset = UTC), statuses, sources, pointer types. Unknown fields are errors, so a
 * typo (`started_at`) does not silently drop data.
 */
export function parseRunLine(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `invalid JSON: ${(error as Error).message}` };
  }
  if (!isObject(value)) return { ok: false, error: `expected a JSON object, got ${describe(value)}` };
  try {
    return { ok: true, run: checkRun(value, JSON.stringify(value)) };
  } catch (error) {
    if (error instanceof LineError) return { ok: false, error: error.message };
    throw error;
  }
}
