/**
 * Automatic pointer discovery in activity arguments and results, shared by the worker and the
 * workflow sandbox (pure: no Node APIs, deterministic). A string is a pointer when it is a URI
 * (`s3://b/k`, `models:/taxi/3`, `file:///data/x.csv`, `https://...`), a path (`/data/x.csv`,
 * `./out/model.pkl`, `data/clean.parquet`), a bare file name with a data or model extension
 * (`clean.csv`), or any single-token string under a key that names a location (`path`, `uri`,
 * `outputDir`, `model_uri`...). Keys that look like secrets are never looked into.
 */
import { type SecretKeyTest, scrubUri } from './redact.js';

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
  const found = new Set<string>();
  const seen = new Set<object>();
  let nodes = 0;
  const visit = (node: unknown, key: string | undefined, depth: number): void => {
    if (found.size >= options.maxPointers || nodes >= options.maxNodes) return;
    nodes++;
    if (typeof node === 'string') {
      const trimmed = node.trim();
      if (looksLikePointer(trimmed, key)) found.add(scrubUri(trimmed, options.isSecretKey));
      return;
    }
    if (node === null || typeof node !== 'object' || depth >= options.maxDepth) return;
    if (seen.has(node) || ArrayBuffer.isView(node) || node instanceof ArrayBuffer || node instanceof Date)
      return;
    seen.add(node);
    if (Array.isArray(node) || node instanceof Set) {
      for (const item of node) visit(item, key, depth + 1);
      return;
    }
    const entries = node instanceof Map ? node.entries() : Object.entries(node);
    for (const [k, v] of entries) {
      const name = typeof k === 'string' ? k : undefined;
      if (name !== undefined && options.isSecretKey(name)) continue;
      visit(v, name, depth + 1);
    }
  };
  visit(value, undefined, 0);
  return [...found];
}
