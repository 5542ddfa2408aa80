/**
 * DVC's own schemas for `dvc.lock`, `dvc.yaml` and `.dvc` files, ported from the pinned DVC
 * (3.67: `dvc/schema.py`, `dvc/output.py`, `dvc/dependency/`, `dvc/annotations.py`), with
 * voluptuous's rules and messages: unknown keys are "extra keys not allowed", a missing required
 * key is "required key not provided", a wrong type "expected str" / "expected a dictionary" /
 * "expected a list". An error names its path as DVC prints it (`stages -> train -> params`) and
 * the line and column DVC would show (the nearest collection's first entry).
 */
import { LineCounter, parseDocument } from 'yaml';

/** One schema violation: where (keys and indexes from the top) and what DVC expects there. */
export interface SchemaViolation {
  path: Array<string | number>;
  message: string;
}

type Check = (value: unknown, path: Array<string | number>, out: SchemaViolation[]) => void;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const str: Check = (v, path, out) => {
  if (typeof v !== 'string') out.push({ path, message: 'expected str' });
};
const int: Check = (v, path, out) => {
  if (typeof v !== 'number' || !Number.isInteger(v)) out.push({ path, message: 'expected int' });
};
const bool: Check = (v, path, out) => {
  if (typeof v !== 'boolean') out.push({ path, message: 'expected bool' });
};
const anything: Check = () => {};
const dict: Check = (v, path, out) => {
  if (!isRecord(v)) out.push({ path, message: 'expected dict' });
};
const isNull: Check = (v, path, out) => {
  if (v !== null) out.push({ path, message: 'expected None' });
};

/** voluptuous `Any`: the first alternative that passes; else the error reaching deepest. */
function anyOf(...checks: Check[]): Check {
  return (v, path, out) => {
    let best: SchemaViolation[] | undefined;
    for (const check of checks) {
      const errors: SchemaViolation[] = [];
      check(v, path, errors);
      if (errors.length === 0) return;
      if (!best || (errors[0]?.path.length ?? 0) > (best[0]?.path.length ?? 0)) best = errors;
    }
    if (best) out.push(best[0]!);
  };
}

/** A list whose every item passes `item`. */
function list(item: Check): Check {
  return (v, path, out) => {
    if (!Array.isArray(v)) {
      out.push({ path, message: 'expected a list' });
      return;
    }
    v.forEach((entry, i) => {
      item(entry, [...path, i], out);
    });
  };
}

interface MapSchema {
  /** Known keys and their checks. */
  fields?: Record<string, Check>;
  required?: string[];
  /** The check of every other key's value (a `{str: ...}` schema); without it, other keys are refused. */
  values?: Check;
}

function map(schema: MapSchema): Check {
  return (v, path, out) => {
    if (!isRecord(v)) {
      out.push({ path, message: 'expected a dictionary' });
      return;
    }
    for (const [key, value] of Object.entries(v)) {
      const field = schema.fields?.[key];
      if (field) field(value, [...path, key], out);
      else if (schema.values) schema.values(value, [...path, key], out);
      else out.push({ path: [...path, key], message: 'extra keys not allowed' });
    }
    for (const key of schema.required ?? []) {
      if (!(key in v)) out.push({ path: [...path, key], message: 'required key not provided' });
    }
  };
}

/** `output.CHECKSUM_SCHEMA`: none, empty, or a string (or an integer) of 3 characters or more. */
const checksum: Check = (v, path, out) => {
  if (v === null || v === '') return;
  const text = typeof v === 'number' && Number.isInteger(v) ? String(v) : v;
  if (typeof text !== 'string') out.push({ path, message: 'expected str' });
  else if (text.length < 3) out.push({ path, message: 'length of value must be at least 3' });
};

const CHECKSUMS = { md5: checksum, checksum, etag: checksum };
const META = { size: int, nfiles: int, isexec: bool, version_id: str };
const CLOUD = map({ values: map({ fields: { ...META, ...CHECKSUMS } }) });
const DIR_FILES = map({
  fields: { ...CHECKSUMS, ...META, relpath: str, cloud: CLOUD },
  required: ['relpath'],
});
const ANNOTATION = { desc: str, type: str, labels: list(str), meta: anything };
/** `output.ARTIFACT_SCHEMA`. */
const OUT_ARTIFACT = { ...CHECKSUMS, ...META, path: str, persist: bool, cloud: CLOUD, hash: str };
/** `output.SCHEMA`: an output of a `.dvc` file. */
const OUTPUT = map({
  fields: {
    ...OUT_ARTIFACT,
    ...ANNOTATION,
    cache: bool,
    remote: str,
    push: bool,
    files: list(DIR_FILES),
    fs_config: dict,
  },
});
const REPO = map({
  fields: { url: str, rev: str, rev_lock: str, config: anyOf(str, dict), remote: anyOf(str, dict) },
  required: ['url'],
});
const DB = map({ fields: { query: str, connection: str, file_format: str, table: str } });
/** `dependency.SCHEMA`: a dependency of a `.dvc` file. */
const DEPENDENCY = map({
  fields: { ...OUT_ARTIFACT, repo: REPO, db: DB, files: list(DIR_FILES), fs_config: dict },
});

/** `schema.SINGLE_STAGE_SCHEMA`: a `.dvc` file. */
const DVC_FILE = map({
  fields: {
    md5: checksum,
    wdir: anyOf(str, isNull),
    deps: anyOf(list(DEPENDENCY), isNull),
    outs: anyOf(list(OUTPUT), isNull),
    locked: bool,
    frozen: bool,
    meta: anything,
    always_changed: bool,
    desc: str,
  },
});

/** A pre-2.0 stage file (`.dvc` with `cmd`), which DVC 1 wrote: the same keys plus `cmd`. */
const LEGACY_STAGE_FILE = map({
  fields: {
    md5: checksum,
    cmd: anyOf(str, list(str)),
    wdir: anyOf(str, isNull),
    deps: anyOf(list(DEPENDENCY), isNull),
    outs: anyOf(list(OUTPUT), isNull),
    locked: bool,
    frozen: bool,
    meta: anything,
    always_changed: bool,
    desc: str,
  },
});

/** `schema.DATA_SCHEMA`: a dependency or output entry of a lock file. */
const LOCK_DATA = map({
  fields: {
    ...CHECKSUMS,
    ...META,
    path: str,
    cloud: CLOUD,
    files: list(DIR_FILES),
    hash: str,
    dataset: dict,
  },
  required: ['path'],
});
/** `schema.LOCK_FILE_STAGE_SCHEMA`. */
const LOCK_STAGE = map({
  fields: {
    cmd: anyOf(str, list(anything)),
    deps: list(LOCK_DATA),
    params: map({ values: map({ values: anything }) }),
    outs: list(LOCK_DATA),
  },
  required: ['cmd'],
});
/** `schema.LOCKFILE_SCHEMA`. */
const LOCKFILE = map({
  fields: {
    schema: (v, path, out) => {
      if (v !== '2.0') out.push({ path, message: 'invalid schema version' });
    },
    datasets: anything,
    stages: map({ values: LOCK_STAGE }),
  },
  required: ['schema'],
});
/** A DVC 1 lock file: stage entries at the top level. */
const LEGACY_LOCKFILE = map({ values: LOCK_STAGE });

const OUT_DETAILED_FIELDS = {
  ...ANNOTATION,
  cache: bool,
  persist: bool,
  checkpoint: bool,
  remote: str,
  push: bool,
};
const OUT_DETAILED = map({ values: map({ fields: OUT_DETAILED_FIELDS }) });
const PLOT_PROPS = map({
  fields: {
    ...OUT_DETAILED_FIELDS,
    template: str,
    x: str,
    y: str,
    x_label: str,
    y_label: str,
    title: str,
    header: bool,
  },
});
const PLOT_STAGE = map({ values: anyOf(PLOT_PROPS, list(PLOT_PROPS)) });
const VARS = list(anyOf(str, dict));
/** `schema.STAGE_DEFINITION`. */
const STAGE_DEFINITION = map({
  fields: {
    matrix: map({ values: anyOf(str, list(anything)) }),
    cmd: anyOf(str, list(anything)),
    wdir: str,
    deps: list(str),
    params: list(anyOf(str, dict)),
    vars: VARS,
    frozen: bool,
    meta: anything,
    desc: str,
    always_changed: bool,
    outs: list(anyOf(str, OUT_DETAILED)),
    metrics: list(anyOf(str, OUT_DETAILED)),
    plots: list(anyOf(str, PLOT_STAGE)),
  },
  required: ['cmd'],
});
const FOREACH_IN = map({
  fields: { foreach: anyOf(dict, list(anything), str), do: STAGE_DEFINITION },
  required: ['foreach', 'do'],
});
/** `either_or(STAGE_DEFINITION, FOREACH_IN, [foreach, do])`. */
const PIPELINE_STAGE: Check = (v, path, out) => {
  const generated = isRecord(v) && ('foreach' in v || 'do' in v);
  (generated ? FOREACH_IN : STAGE_DEFINITION)(v, path, out);
};
const PLOT_DEFINITION = map({
  fields: {
    x: anyOf(str, map({ values: str })),
    y: anyOf(str, list(str), map({ values: anyOf(str, list(str)) })),
    x_label: str,
    y_label: str,
    title: str,
    template: str,
  },
});
const SINGLE_PLOT: Check = (v, path, out) => {
  map({ values: anyOf(PLOT_DEFINITION, isNull) })(v, path, out);
  if (isRecord(v) && Object.keys(v).length === 0) out.push({ path, message: 'required key not provided' });
};
/** `schema.MULTI_STAGE_SCHEMA`: a `dvc.yaml`. */
const DVC_YAML = map({
  fields: {
    datasets: anything,
    plots: list(anyOf(str, SINGLE_PLOT)),
    stages: map({ values: PIPELINE_STAGE }),
    vars: VARS,
    params: list(str),
    metrics: list(str),
    artifacts: map({ values: map({ fields: { path: str, ...ANNOTATION }, required: ['path'] }) }),
  },
});

/** Which DVC file a document is. */
export type DvcSchemaKind = 'lock' | 'legacy-lock' | 'dvc-file' | 'legacy-stage-file' | 'dvc-yaml';

const SCHEMAS: Record<DvcSchemaKind, Check> = {
  lock: LOCKFILE,
  'legacy-lock': LEGACY_LOCKFILE,
  'dvc-file': DVC_FILE,
  'legacy-stage-file': LEGACY_STAGE_FILE,
  'dvc-yaml': DVC_YAML,
};

/** Checks a parsed document against DVC's schema for its kind; the violations, in document order. */
export function validateDvcSchema(kind: DvcSchemaKind, document: unknown): SchemaViolation[] {
  const out: SchemaViolation[] = [];
  // An empty file is an empty map to DVC.
  SCHEMAS[kind](document ?? {}, [], out);
  return out;
}

/**
 * The line and column DVC shows for a path (its `determine_linecol`): the position of the nearest
 * collection at or above the path (the first entry of a map or list), stepping up at most 4 times.
 */
export function lineOf(
  text: string,
  path: Array<string | number>,
): { line: number; col: number } | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  let at = [...path];
  for (let step = 1; step < 5; step++) {
    const node = at.length === 0 ? doc.contents : doc.getIn(at, true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    const isCollection = node !== null && typeof node === 'object' && 'items' in node;
    if (range && isCollection) {
      const pos = lineCounter.linePos(range[0]);
      return { line: pos.line, col: pos.col };
    }
    if (at.length === 0) break;
    at = at.slice(0, -1);
  }
  return undefined;
}

/** `expected a dictionary, in stages -> train -> params -> params.yaml, line 72, column 7`, as DVC words it. */
export function describeViolation(violation: SchemaViolation, text: string): string {
  const parts = [violation.message];
  if (violation.path.length > 0) parts.push(`in ${violation.path.join(' -> ')}`);
  const where = lineOf(text, violation.path);
  if (where) parts.push(`line ${where.line}`, `column ${where.col}`);
  return parts.join(', ');
}
