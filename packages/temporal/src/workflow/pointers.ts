/**
 * Automatic pointer discovery in activity arguments and results, shared by the worker and the
 * workflow sandbox (pure: no Node APIs, deterministic). A string is a pointer when it is a URI
 * (`s3://b/k`, `models:/taxi/3`, `file:///data/x.csv`, `https://...`), a path (`/data/x.csv`,
 * `./out/model.pkl`, `data/clean.parquet`), a bare file name with a data or model extension
 * (`clean.csv`), or any single-token string under a key that names a location (`path`, `uri`,
 * `outputDir`, `model_uri`...). Keys that look like secrets are never looked into.
 */
import { type SecretKeyTest, scrubUri } from './redact.js';

// Builtins read once: in the workflow sandbox (a `vm` context) every read of a global goes
// through the context's interceptors, which cost more than the rest of a small value's walk.
const { isArray } = Array;
const { hasOwn } = Object;
const { isView } = ArrayBuffer;
const SetClass = Set;
const MapClass = Map;
const DateClass = Date;
const ArrayBufferClass = ArrayBuffer;

/** Limits of {@link findPointers}. */
export interface FindPointersOptions {
  /** Stop after this many pointers. */
  maxPointers: number;
  /** Do not descend deeper than this into nested objects and arrays. */
  maxDepth: number;
  /** Visit at most this many values in all. */
  maxNodes: number;
  /** Keys whose values are never looked into. */
  isSecretKey: SecretKeyTest;
}

const URI = /^([a-zA-Z][a-zA-Z0-9+.-]*):(\/\/?)\S+$/;
/** Schemes that are not locations: inline data, scripts, mail, URNs. */
const NOT_LOCATIONS = new Set(['data', 'javascript', 'mailto', 'urn', 'about', 'blob', 'tel']);
/** Single-slash schemes that are locations (MLflow's `models:/name/1`, `runs:/id/path`). */
const SINGLE_SLASH_SCHEMES = new Set(['models', 'runs', 'file', 'mlflow-artifacts', 'dbfs']);
const FILE_EXTENSIONS = new Set([
  'csv',
  'tsv',
  'pq',
  'parquet',
  'txt',
  'json',
  'jsonl',
  'ndjson',
  'xml',
  'yaml',
  'yml',
  'feather',
  'arrow',
  'avro',
  'orc',
  'xlsx',
  'npy',
  'npz',
  'h5',
  'hdf5',
  'joblib',
  'pkl',
  'pickle',
  'ckpt',
  'pt',
  'pth',
  'onnx',
  'mlmodel',
  'safetensors',
  'bin',
  'zip',
  'gz',
  'tar',
  'tgz',
  'dvc',
  'lock',
  'md',
  'pdf',
  'png',
  'jpg',
  'jpeg',
  'mlt',
]);
const LOCATION_KEY =
  /(^|[_-])(path|paths|uri|uris|url|urls|file|files|filename|dir|directory|location|dest|destination|artifact|artifacts)$|[a-z](Path|Paths|Uri|Uris|URI|Url|Urls|URL|File|Files|Dir|Directory|Location)$/;

function extensionOf(value: string): string {
  const last = value.split(/[/\\]/).pop() ?? '';
  const dot = last.lastIndexOf('.');
  return dot > 0 ? last.slice(dot + 1).toLowerCase() : '';
}

/**
 * Whether a string names a location (see the module comment). `key` is the object key the string
 * was found under, if any.
 */
export function looksLikePointer(value: string, key?: string): boolean {
  if (value.length < 2 || value.length > 2048 || /[\0\n\r\t]/.test(value)) return false;
  const locationKey = key !== undefined && LOCATION_KEY.test(key);
  if (/^[A-Za-z]:[\\/]/.test(value)) return locationKey || !/\s/.test(value); // C:\data\x.csv
  const uri = URI.exec(value);
  if (uri) {
    const scheme = (uri[1] ?? '').toLowerCase();
    if (NOT_LOCATIONS.has(scheme)) return false;
    return uri[2] === '//' || SINGLE_SLASH_SCHEMES.has(scheme);
  }
  if (/\s/.test(value)) return false;
  if (locationKey) return true;
  if (/^(\/|\.\/|\.\.\/|~\/)./.test(value)) return true;
  const ext = extensionOf(value);
  if (value.includes('/')) return /^[A-Za-z0-9]{1,10}$/.test(ext) && !/^\d+$/.test(ext);
  return FILE_EXTENSIONS.has(ext);
}

/**
 * The pointers in a value: strings that {@link looksLikePointer}, found in nested objects,
 * arrays, maps and sets, in order of discovery, deduplicated, with credentials scrubbed from URIs.
 */
export function findPointers(value: unknown, options: FindPointersOptions): string[] {
  return walk(value, options, undefined);
}

/** Keys whose string value, next to a pointer, is that pointer's content version. */
const VERSION_KEYS = ['version', 'md5', 'digest', 'etag', 'sha256', 'checksum', 'contentHash'];
/** Keys whose string value is the pointer an object describes. */
const POINTER_KEYS = ['uri', 'url', 'path', 'localPath', 'file', 'location'];
/** The deepest object whose version is read. */
const MAX_VERSION_DEPTH = 6;

/**
 * The pointers in a value ({@link findPointers}) and the content versions the value gives them,
 * in one walk (the workflow interceptors' hot path): an object holding a pointer (`uri`, `path`,
 * `localPath`...) and a version (`version`, `md5`, `digest`, `etag`...) versions that pointer, as
 * DVC files, MLflow model versions and the retraining workflow's `{ uri, version }` records do.
 */
export function scanPointers(
  value: unknown,
  options: FindPointersOptions,
): { uris: string[]; versions: Map<string, string> | undefined } {
  const versions = { map: undefined as Map<string, string> | undefined };
  const uris = walk(value, options, versions);
  return { uris, versions: versions.map };
}

/** Notes the version an object gives the pointer it holds (see {@link scanPointers}). */
function noteVersion(
  record: Record<string, unknown>,
  versions: { map: Map<string, string> | undefined },
): void {
  let version: string | undefined;
  for (const key of VERSION_KEYS) {
    const v = record[key];
    if (typeof v === 'string' && v !== '') {
      version = v;
      break;
    }
  }
  if (version === undefined) return;
  for (const key of POINTER_KEYS) {
    const pointer = record[key];
    if (typeof pointer !== 'string') continue;
    const trimmed = pointer.trim();
    if (!trimmed) continue;
    versions.map ??= new MapClass();
    if (!versions.map.has(trimmed)) versions.map.set(trimmed, version);
  }
}

/**
 * The walk of {@link findPointers}; with `versions`, also notes versions in plain objects and
 * arrays (not below maps or sets) down to depth 6. Allocates nothing for a value with no object
 * seen twice and no pointer (the common argument: one small object).
 */
function walk(
  value: unknown,
  options: FindPointersOptions,
  versions: { map: Map<string, string> | undefined } | undefined,
): string[] {
  const found: string[] = [];
  let seen: Set<object> | undefined;
  let nodes = 0;
  const visit = (node: unknown, key: string | undefined, depth: number, versioned: boolean): void => {
    if (found.length >= options.maxPointers || nodes >= options.maxNodes) return;
    nodes++;
    if (typeof node === 'string') {
      const trimmed = node.trim();
      if (looksLikePointer(trimmed, key)) {
        const pointer = scrubUri(trimmed, options.isSecretKey);
        if (!found.includes(pointer)) found.push(pointer);
      }
      return;
    }
    if (node === null || typeof node !== 'object') return;
    if (isView(node) || node instanceof ArrayBufferClass || node instanceof DateClass) return;
    if (depth >= options.maxDepth) {
      // Too deep to look into; its own version is still read, down to MAX_VERSION_DEPTH.
      if (versioned && versions && depth <= MAX_VERSION_DEPTH && !isArray(node)) {
        noteVersion(node as Record<string, unknown>, versions);
      }
      return;
    }
    seen ??= new SetClass();
    if (seen.has(node)) return;
    seen.add(node);
    if (isArray(node)) {
      for (const item of node) visit(item, key, depth + 1, versioned);
      return;
    }
    if (node instanceof SetClass) {
      for (const item of node) visit(item, key, depth + 1, false);
      return;
    }
    if (node instanceof MapClass) {
      for (const [k, v] of node) {
        const name = typeof k === 'string' ? k : undefined;
        if (name !== undefined && options.isSecretKey(name)) continue;
        visit(v, name, depth + 1, false);
      }
      return;
    }
    const record = node as Record<string, unknown>;
    if (versioned && versions) noteVersion(record, versions);
    for (const name in record) {
      if (!hasOwn(record, name) || options.isSecretKey(name)) continue;
      visit(record[name], name, depth + 1, versioned);
    }
  };
  visit(value, undefined, 0, true);
  return found;
}
