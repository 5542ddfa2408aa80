/**
 * Parsers of DVC's files as git holds them: `.dvc` files (`dvc add`, `dvc import`,
 * `dvc import-url`, pre-2.0 stage files), `dvc.lock` (schema 2.0 and DVC 1 lock files) and the
 * parts of `dvc.yaml` a lock file does not repeat (`wdir`, `cache`, `remote`, `artifacts`).
 * Pure: text in, normalised entries out, {@link DvcFileError} on bad input.
 */
import { posix } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { DvcFileError } from './errors.js';
import { parseDvcYamlFast } from './fast-yaml.js';
import { type DvcSchemaKind, describeViolation, validateDvcSchema } from './schema.js';

/**
 * How a hash was computed: `md5` (DVC 3, `hash: md5`: the plain md5 of the bytes),
 * `md5-dos2unix` (DVC 2 and older entries with no `hash` key: CRLF turned into LF in text files
 * before hashing), `etag`/`checksum` (external paths), or what the entry's `hash` key says.
 */
export type HashAlgorithm = 'md5' | 'md5-dos2unix' | 'etag' | 'checksum' | (string & {});

/** One dependency or output of a DVC file, normalised. */
export interface DvcEntry {
  /** The path as written in the file, with `\` turned into `/`. */
  path: string;
  /** The path relative to the repository root (POSIX), or undefined when it is external (absolute, a URL, outside the repo). */
  repoPath: string | undefined;
  /** The DVC hash value (`.dir` suffix kept for directories); undefined when the entry has none. */
  hash: string | undefined;
  /** How {@link DvcEntry.hash} was computed; undefined when there is no hash. */
  algorithm: HashAlgorithm | undefined;
  /** Size in bytes (the sum of the files for a directory), when recorded. */
  size?: number;
  /** Number of files, for a directory. */
  nfiles?: number;
  /** A directory output (`.dir` hash). */
  isDir: boolean;
  /** `false` for outputs kept out of the cache (`cache: false`, `dvc stage add -M/-O`). */
  cache?: false;
  /** The output's own remote (`remote:` in the `.dvc` file or in `dvc.yaml`). */
  remote?: string;
  /** `false` when the output is never pushed. */
  push?: false;
  /** A cloud-versioned entry (`files:` list with per-file version ids) instead of one hash. */
  cloudVersioned?: boolean;
}

/** Where an imported `.dvc` file came from (`dvc import`). */
export interface DvcImport {
  /** The source repository (git URL or local path). */
  url: string;
  /** The path inside the source repository. */
  path: string;
  /** The revision asked for (`--rev`), when one was. */
  rev?: string;
  /** The exact source commit the data was imported at. */
  revLock?: string;
}

/** A parsed `.dvc` file. */
export interface DvcFile {
  /** Repo-relative path of the `.dvc` file. */
  file: string;
  /**
   * `add` (`dvc add`), `import` (`dvc import` from a DVC repo), `import-url` (`dvc import-url`),
   * or `stage` (a pre-2.0 pipeline stage file with `cmd`).
   */
  kind: 'add' | 'import' | 'import-url' | 'stage';
  outs: DvcEntry[];
  deps: DvcEntry[];
  /** For `import`. */
  import?: DvcImport;
  /** For a pre-2.0 stage file. */
  cmd?: string;
  /** Whether the file is frozen (imports). */
  frozen?: boolean;
  /** Canonical form of the data it declares: two versions of the file differ in data iff these differ. */
  fingerprint: string;
}

/** One stage execution recorded in a lock file. */
export interface LockStage {
  /** The name in the lock file (`train`, `train@0`, `build@linux-x64`). */
  name: string;
  /** DVC's address: the name for the root `dvc.yaml`, else `sub/dir/dvc.yaml:name`. */
  address: string;
  cmd: string;
  deps: DvcEntry[];
  outs: DvcEntry[];
  /** Param values by params file, as recorded (`{'params.yaml': {'train.lr': 0.01}}`). */
  params: Record<string, unknown>;
  /** Canonical form of the whole lock entry: the stage changed iff this changed. */
  fingerprint: string;
}

/** A parsed lock file. */
export interface LockFile {
  /** Repo-relative path of the lock file. */
  file: string;
  /** `2.0`, or `1` for a DVC 1 lock file (stage names at the top level). */
  schema: '2.0' | '1';
  stages: LockStage[];
}

/** What `dvc.yaml` says about one stage that its lock entry does not repeat. */
export interface StageDefinition {
  wdir?: string;
  /** Output flags by path (as written; may hold `${...}` templates for foreach/matrix stages). */
  outs: Array<{ path: string; cache?: false; remote?: string; push?: false }>;
  /** The dependency paths as written (`deps:`); may hold templates. */
  deps?: string[];
  /** The params files the stage reads (`params.yaml` for bare keys), and the keys named in each (undefined: the whole file). */
  params?: Map<string, string[] | undefined>;
  /** Whether the definition is templated (foreach, matrix, or `${...}` in a list): lists are compared by pattern. */
  templated?: boolean;
  /** The paths declared under `metrics:` (as written, relative to the stage's directory and `wdir`). */
  metrics?: string[];
}

/** What is read from a `dvc.yaml`. */
export interface DvcYaml {
  /** Stage definitions by stage name (foreach/matrix stages by their base name). */
  stages: Map<string, StageDefinition>;
  /** `artifacts:` declarations by name. */
  artifacts: Map<string, { path: string; type?: string; desc?: string }>;
}

/** Where a text was read, for error messages. */
export interface Origin {
  /** Repo-relative path. */
  file: string;
  /** Full commit sha, or `workspace`. */
  commit: string;
}

const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//;
const WINDOWS_DRIVE = /^[a-zA-Z]:\//;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON with keys sorted at every level: equal data gives equal text, whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isRecord(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** Parses YAML text, turning syntax errors into a {@link DvcFileError} with the line. */
export function parseYamlText(text: string, origin: Origin): unknown {
  const fast = parseDvcYamlFast(text);
  if (fast !== undefined) return fast;
  try {
    return parseYaml(text, { uniqueKeys: true });
  } catch (cause) {
    const where =
      cause instanceof YAMLParseError && cause.linePos?.[0]
        ? ` (line ${cause.linePos[0].line}, column ${cause.linePos[0].col})`
        : '';
    const first = String((cause as Error).message)
      .split('\n')[0]
      ?.replace(/ at line \d+, column \d+:?$/, '');
    throw new DvcFileError(origin.file, origin.commit, `malformed YAML${where}: ${first}`, {
      cause,
      hint: 'fix the file in a later commit; the commits where it is broken are skipped for this file',
    });
  }
}

/**
 * Refuses a document DVC's own schema refuses (see schema.ts), with DVC's words: the first
 * violation with its path, line and column, and how many more there are.
 */
export function checkDvcSchema(kind: DvcSchemaKind, document: unknown, text: string, origin: Origin): void {
  const violations = validateDvcSchema(kind, document);
  const first = violations[0];
  if (!first) return;
  const more = violations.length > 1 ? ` (and ${violations.length - 1} more)` : '';
  throw new DvcFileError(
    origin.file,
    origin.commit,
    `validation failed, as DVC checks it: ${describeViolation(first, text)}${more}`,
    { hint: 'DVC refuses this file too (`dvc status` says so); nothing of it is recorded at this commit' },
  );
}

/** Joins a repo-relative directory and a path as written in a DVC file. */
export function resolveEntryPath(
  written: string,
  baseDir: string,
): { path: string; repoPath: string | undefined } {
  const path = written.replace(/\\/g, '/');
  if (SCHEME.test(path) || path.startsWith('/') || WINDOWS_DRIVE.test(path))
    return { path, repoPath: undefined };
  const joined = posix.normalize(posix.join(baseDir || '.', path)).replace(/\/+$/, '');
  if (joined === '..' || joined.startsWith('../')) return { path, repoPath: undefined };
  return { path, repoPath: joined === '' ? '.' : joined };
}

function entryError(origin: Origin, where: string, problem: string): DvcFileError {
  return new DvcFileError(origin.file, origin.commit, `${where}: ${problem}`);
}

function optionalNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

/** Normalises one `deps`/`outs` entry. */
function parseEntry(raw: unknown, baseDir: string, origin: Origin, where: string): DvcEntry {
  if (typeof raw === 'string') raw = { path: raw };
  if (!isRecord(raw)) throw entryError(origin, where, 'an entry must be a map with a path');
  if (typeof raw.path !== 'string' || raw.path === '')
    throw entryError(origin, where, 'an entry has no path');
  const { path, repoPath } = resolveEntryPath(raw.path, baseDir);
  let hash: string | undefined;
  let algorithm: HashAlgorithm | undefined;
  for (const key of ['md5', 'etag', 'checksum'] as const) {
    const value = raw[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') {
      throw entryError(
        origin,
        `${where} ${path}`,
        `${key} must be a quoted string, got ${JSON.stringify(value)}`,
      );
    }
    hash = value;
    if (key === 'md5') algorithm = typeof raw.hash === 'string' ? raw.hash : 'md5-dos2unix';
    else algorithm = key;
    break;
  }
  const entry: DvcEntry = {
    path,
    repoPath,
    hash,
    algorithm,
    isDir: hash?.endsWith('.dir') === true || raw.nfiles !== undefined,
  };
  const size = optionalNumber(raw.size);
  if (size !== undefined) entry.size = size;
  const nfiles = optionalNumber(raw.nfiles);
  if (nfiles !== undefined) entry.nfiles = nfiles;
  if (raw.cache === false) entry.cache = false;
  if (typeof raw.remote === 'string') entry.remote = raw.remote;
  if (raw.push === false) entry.push = false;
  if (Array.isArray(raw.files)) {
    entry.cloudVersioned = true;
    entry.isDir = true;
    if (algorithm === undefined && typeof raw.hash === 'string') algorithm = raw.hash;
  }
  return entry;
}

function parseEntries(raw: unknown, baseDir: string, origin: Origin, where: string): DvcEntry[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw entryError(origin, where, 'must be a list');
  return raw.map((item, i) => parseEntry(item, baseDir, origin, `${where}[${i}]`));
}

const ANNOTATIONS = new Set(['desc', 'type', 'labels', 'meta']);

function withoutAnnotations(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  return value.map((entry) =>
    isRecord(entry) ? Object.fromEntries(Object.entries(entry).filter(([k]) => !ANNOTATIONS.has(k))) : entry,
  );
}

/** Parses a `.dvc` file. `origin.file` is its repo-relative path. */
export function parseDvcFile(text: string, origin: Origin): DvcFile {
  const doc = parseYamlText(text, origin);
  if (!isRecord(doc))
    throw new DvcFileError(origin.file, origin.commit, 'not a DVC file: expected a map with `outs`');
  checkDvcSchema('cmd' in doc ? 'legacy-stage-file' : 'dvc-file', doc, text, origin);
  const dir = posix.dirname(origin.file) === '.' ? '' : posix.dirname(origin.file);
  const wdir = typeof doc.wdir === 'string' ? doc.wdir.replace(/\\/g, '/') : '';
  const baseDir = posix.normalize(posix.join(dir || '.', wdir || '.')).replace(/^\.$/, '');
  if (doc.outs === undefined && doc.cmd === undefined) {
    throw new DvcFileError(origin.file, origin.commit, 'not a DVC file: no `outs`');
  }
  const outs = parseEntries(doc.outs, baseDir, origin, 'outs');
  const depsRaw = Array.isArray(doc.deps) ? doc.deps : [];
  const deps = parseEntries(doc.deps, baseDir, origin, 'deps');
  const fingerprint = canonicalJson({
    outs: withoutAnnotations(doc.outs),
    deps: withoutAnnotations(doc.deps),
    cmd: doc.cmd,
    wdir: doc.wdir,
  });
  if (typeof doc.cmd === 'string') {
    return { file: origin.file, kind: 'stage', outs, deps, cmd: doc.cmd, fingerprint };
  }
  const file: DvcFile = { file: origin.file, kind: 'add', outs, deps, fingerprint };
  if (doc.frozen === true) file.frozen = true;
  const firstDep = depsRaw[0];
  if (isRecord(firstDep) && isRecord(firstDep.repo)) {
    const repo = firstDep.repo;
    if (typeof repo.url !== 'string') {
      throw new DvcFileError(origin.file, origin.commit, 'deps[0].repo has no url');
    }
    file.kind = 'import';
    file.import = { url: repo.url, path: String(firstDep.path ?? '').replace(/\\/g, '/') };
    if (typeof repo.rev === 'string') file.import.rev = repo.rev;
    if (typeof repo.rev_lock === 'string') file.import.revLock = repo.rev_lock;
  } else if (deps.length > 0) {
    file.kind = 'import-url';
  }
  return file;
}

function parseStage(
  name: string,
  raw: unknown,
  lockDir: string,
  lockFile: string,
  origin: Origin,
  definitions: Map<string, StageDefinition> | undefined,
): LockStage {
  if (!isRecord(raw)) throw new DvcFileError(origin.file, origin.commit, `stage ${name}: expected a map`);
  const cmd = Array.isArray(raw.cmd) ? raw.cmd.map(String).join('\n') : raw.cmd;
  if (typeof cmd !== 'string') throw new DvcFileError(origin.file, origin.commit, `stage ${name}: no cmd`);
  const definition = definitionOf(name, definitions);
  const wdir = definition?.wdir && !definition.wdir.includes('${') ? definition.wdir.replace(/\\/g, '/') : '';
  const baseDir = posix.normalize(posix.join(lockDir || '.', wdir || '.')).replace(/^\.$/, '');
  const deps = parseEntries(raw.deps, baseDir, origin, `stage ${name} deps`);
  const outs = parseEntries(raw.outs, baseDir, origin, `stage ${name} outs`);
  if (definition) for (const out of outs) applyOutputFlags(out, definition);
  const params = raw.params === undefined || raw.params === null ? {} : raw.params;
  if (!isRecord(params))
    throw new DvcFileError(origin.file, origin.commit, `stage ${name}: params must be a map`);
  const yamlFile = posix.join(posix.dirname(lockFile), 'dvc.yaml');
  return {
    name,
    address: lockDir === '' ? name : `${yamlFile}:${name}`,
    cmd,
    deps,
    outs,
    params,
    fingerprint: canonicalJson(raw),
  };
}

function definitionOf(name: string, definitions: Map<string, StageDefinition> | undefined) {
  if (!definitions) return undefined;
  const exact = definitions.get(name);
  if (exact) return exact;
  const at = name.indexOf('@');
  return at > 0 ? definitions.get(name.slice(0, at)) : undefined;
}

function templateRegex(path: string): RegExp {
  const parts = path.split(/\$\{[^}]*\}/).map((part) => part.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&'));
  return new RegExp(`^${parts.join('.+')}$`);
}

function applyOutputFlags(out: DvcEntry, definition: StageDefinition): void {
  const flags = definition.outs.find((o) =>
    o.path.includes('${') ? templateRegex(o.path).test(out.path) : o.path === out.path,
  );
  if (!flags) return;
  if (flags.cache === false) out.cache = false;
  if (flags.remote !== undefined && out.remote === undefined) out.remote = flags.remote;
  if (flags.push === false) out.push = false;
}

/**
 * Parses a `dvc.lock`. `definitions` (from the sibling `dvc.yaml`, see {@link parseDvcYaml}) adds
 * what the lock file does not record: each stage's `wdir` and its outputs' `cache`/`remote` flags.
 */
export function parseLockFile(
  text: string,
  origin: Origin,
  definitions?: Map<string, StageDefinition>,
): LockFile {
  const doc = parseYamlText(text, origin);
  if (doc === null || doc === undefined) return { file: origin.file, schema: '2.0', stages: [] };
  if (!isRecord(doc)) throw new DvcFileError(origin.file, origin.commit, 'not a lock file: expected a map');
  const lockDir = posix.dirname(origin.file) === '.' ? '' : posix.dirname(origin.file);
  if (doc.schema === undefined && doc.stages === undefined) {
    // DVC 1: stage names at the top level, each with a cmd.
    const entries = Object.entries(doc);
    if (!entries.every(([, value]) => isRecord(value) && 'cmd' in value)) {
      throw new DvcFileError(origin.file, origin.commit, 'not a lock file: no `schema` and no stages', {
        hint: "DVC 2 and 3 lock files start with `schema: '2.0'`",
      });
    }
    checkDvcSchema('legacy-lock', doc, text, origin);
    const stages = entries.map(([name, raw]) =>
      parseStage(name, raw, lockDir, origin.file, origin, definitions),
    );
    for (const stage of stages) checkStageComplete(stage, doc[stage.name], definitions, origin, text);
    return { file: origin.file, schema: '1', stages };
  }
  const schema = doc.schema === 2 ? '2.0' : doc.schema;
  if (schema !== '2.0') {
    throw new DvcFileError(
      origin.file,
      origin.commit,
      schema === undefined
        ? 'lock file without a `schema` key'
        : `unknown lock file schema ${JSON.stringify(doc.schema)} (this bridge reads schema '2.0' and DVC 1 lock files)`,
      { hint: 'written by a newer or older DVC? Regenerate it with `dvc repro` or `dvc commit`' },
    );
  }
  checkDvcSchema('lock', doc, text, origin);
  const stages = doc.stages ?? {};
  if (!isRecord(stages)) throw new DvcFileError(origin.file, origin.commit, '`stages` must be a map');
  const parsed = Object.entries(stages).map(([name, raw]) =>
    parseStage(name, raw, lockDir, origin.file, origin, definitions),
  );
  for (const stage of parsed)
    checkStageComplete(stage, stages[stage.name], definitions, origin, text, ['stages']);
  return { file: origin.file, schema: '2.0', stages: parsed };
}

function samePath(a: string, b: string): boolean {
  const norm = (p: string) => posix.normalize(p.replace(/\\/g, '/')).replace(/\/+$/, '');
  return norm(a) === norm(b);
}

function matches(written: string, defined: string): boolean {
  return defined.includes('${') ? templateRegex(defined).test(written) : samePath(written, defined);
}

/**
 * What DVC writes for a stage it ran, checked on a lock entry: every dependency and output has its
 * hash (and, for DVC 3 `hash: md5` entries, its size, and a directory its file count), and the
 * entry lists the paths and params files its `dvc.yaml` definition names. A lock entry that falls
 * short of that is no record of a run (a file cut short, a hand edit): DVC would re-run the stage.
 */
function checkStageComplete(
  stage: LockStage,
  raw: unknown,
  definitions: Map<string, StageDefinition> | undefined,
  origin: Origin,
  text: string,
  prefix: string[] = [],
): void {
  const fail = (path: Array<string | number>, problem: string) => {
    throw new DvcFileError(
      origin.file,
      origin.commit,
      `stage ${stage.name} is not a complete record of a run: ${describeViolation({ path: [...prefix, stage.name, ...path], message: problem }, text)}`,
      {
        hint: 'DVC sees this stage as changed (`dvc status`); run `dvc repro` and commit the lock file it writes',
      },
    );
  };
  const entry = isRecord(raw) ? raw : {};
  for (const kind of ['deps', 'outs'] as const) {
    const list = Array.isArray(entry[kind]) ? (entry[kind] as unknown[]) : [];
    list.forEach((item, i) => {
      if (!isRecord(item)) return;
      const has = (key: string) => item[key] !== undefined && item[key] !== null && item[key] !== '';
      if (has('dataset') || has('files')) return;
      if (!has('md5') && !has('etag') && !has('checksum'))
        fail(
          [kind, i],
          `no hash for ${String(item.path)} (DVC records one for every dependency and output of a stage it ran)`,
        );
      if (item.hash === 'md5' && has('md5') && !has('size'))
        fail([kind, i], `no size for ${String(item.path)} (DVC 3 records it with every md5)`);
      if (typeof item.md5 === 'string' && item.md5.endsWith('.dir') && !has('nfiles'))
        fail(
          [kind, i],
          `no nfiles for the directory ${String(item.path)} (DVC records it with every directory hash)`,
        );
    });
  }
  const definition = definitionOf(stage.name, definitions);
  if (!definition) return;
  const compare = (kind: 'deps' | 'outs', written: DvcEntry[], defined: string[] | undefined) => {
    if (defined === undefined) return;
    if (definition.templated && defined.some((d) => /^\$\{[^}]*\}$/.test(d))) return; // a list from a variable
    for (const path of defined) {
      if (!written.some((w) => matches(w.path, path)))
        fail([kind], `${path} is in its dvc.yaml ${kind} but not in dvc.lock`);
    }
    written.forEach((w, i) => {
      if (!defined.some((path) => matches(w.path, path)))
        fail([kind, i], `${w.path} is in dvc.lock but not in its dvc.yaml ${kind}`);
    });
  };
  compare('deps', stage.deps, definition.deps);
  compare(
    'outs',
    stage.outs,
    definition.outs.map((o) => o.path),
  );
  if (definition.params) {
    for (const [file, keys] of definition.params) {
      if (file.includes('${')) continue;
      const recorded = Object.entries(stage.params).find(([f]) => samePath(f, file))?.[1];
      if (recorded === undefined) {
        fail(['params'], `params file ${file} is in its dvc.yaml params but not in dvc.lock`);
        continue;
      }
      for (const key of keys ?? []) {
        if (key.includes('${')) continue;
        if (!isRecord(recorded) || !(key in recorded))
          fail(['params', file], `param ${key} of ${file} is in its dvc.yaml params but not in dvc.lock`);
      }
    }
  }
}

function outputFlags(raw: unknown): StageDefinition['outs'] {
  if (!Array.isArray(raw)) return [];
  const out: StageDefinition['outs'] = [];
  for (const item of raw) {
    if (typeof item === 'string') out.push({ path: item.replace(/\\/g, '/') });
    else if (isRecord(item)) {
      for (const [path, flags] of Object.entries(item)) {
        const entry: StageDefinition['outs'][number] = { path: path.replace(/\\/g, '/') };
        if (isRecord(flags)) {
          if (flags.cache === false) entry.cache = false;
          if (typeof flags.remote === 'string') entry.remote = flags.remote;
          if (flags.push === false) entry.push = false;
        }
        out.push(entry);
      }
    }
  }
  return out;
}

/** Parses the parts of a `dvc.yaml` the bridge needs: stage `wdir` and output flags, and `artifacts`. */
export function parseDvcYaml(text: string, origin: Origin): DvcYaml {
  const doc = parseYamlText(text, origin);
  const result: DvcYaml = { stages: new Map(), artifacts: new Map() };
  if (doc === null || doc === undefined) return result;
  if (!isRecord(doc)) throw new DvcFileError(origin.file, origin.commit, 'not a dvc.yaml: expected a map');
  checkDvcSchema('dvc-yaml', doc, text, origin);
  if (isRecord(doc.stages)) {
    for (const [name, raw] of Object.entries(doc.stages)) {
      if (!isRecord(raw)) continue;
      // foreach stages keep their body under `do`; matrix stages keep it beside `matrix`.
      const body = isRecord(raw.do) ? raw.do : raw;
      const definition: StageDefinition = {
        outs: [...outputFlags(body.outs), ...outputFlags(body.metrics), ...outputFlags(body.plots)],
      };
      if (typeof body.wdir === 'string') definition.wdir = body.wdir;
      const metrics = outputFlags(body.metrics).map((o) => o.path);
      if (metrics.length > 0) definition.metrics = metrics;
      if (Array.isArray(body.deps))
        definition.deps = body.deps.filter((d): d is string => typeof d === 'string');
      definition.params = paramsOf(body.params);
      definition.templated =
        isRecord(raw.do) ||
        isRecord(raw.matrix) ||
        raw.foreach !== undefined ||
        JSON.stringify(body).includes('${');
      result.stages.set(name, definition);
    }
  }
  if (isRecord(doc.artifacts)) {
    for (const [name, raw] of Object.entries(doc.artifacts)) {
      if (!isRecord(raw) || typeof raw.path !== 'string') continue;
      const artifact: { path: string; type?: string; desc?: string } = { path: raw.path.replace(/\\/g, '/') };
      if (typeof raw.type === 'string') artifact.type = raw.type;
      if (typeof raw.desc === 'string') artifact.desc = raw.desc;
      result.artifacts.set(name, artifact);
    }
  }
  return result;
}

/** A stage's `params:` list: bare keys read `params.yaml`; `{file: [keys]}` names them; `{file: }` the whole file. */
function paramsOf(raw: unknown): Map<string, string[] | undefined> {
  const out = new Map<string, string[] | undefined>();
  if (!Array.isArray(raw)) return out;
  for (const item of raw) {
    if (typeof item === 'string') {
      const keys = out.get('params.yaml') ?? [];
      keys.push(item);
      out.set('params.yaml', keys);
    } else if (isRecord(item)) {
      for (const [file, keys] of Object.entries(item)) {
        out.set(
          file,
          Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : undefined,
        );
      }
    }
  }
  return out;
}

/** Parses GTO's standalone `artifacts.yaml` (`{name: {path, type, ...}}`). */
export function parseArtifactsYaml(text: string, origin: Origin): DvcYaml['artifacts'] {
  const doc = parseYamlText(text, origin);
  const artifacts: DvcYaml['artifacts'] = new Map();
  if (!isRecord(doc)) return artifacts;
  for (const [name, raw] of Object.entries(doc)) {
    if (!isRecord(raw) || typeof raw.path !== 'string') continue;
    const artifact: { path: string; type?: string; desc?: string } = { path: raw.path.replace(/\\/g, '/') };
    if (typeof raw.type === 'string') artifact.type = raw.type;
    if (typeof raw.desc === 'string') artifact.desc = raw.desc;
    artifacts.set(name, artifact);
  }
  return artifacts;
}

/** Whether a repo-relative path is a DVC file the bridge reads (`*.dvc` or `dvc.lock`), outside `.dvc/`. */
export function dvcFileKind(path: string): 'dvc' | 'lock' | undefined {
  if (path === '.dvc' || path.startsWith('.dvc/') || path.includes('/.dvc/')) return undefined;
  if (path === 'dvc.lock' || path.endsWith('/dvc.lock')) return 'lock';
  if (path.endsWith('.dvc') && !path.endsWith('/.dvc')) return 'dvc';
  return undefined;
}
