import { InvalidInputError } from './errors.js';
import { stripUriCredentials } from './redact.js';
import type { PointerInput, PointerType } from './types.js';

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;
const WINDOWS_DRIVE = /^[a-zA-Z]:[\\/]/;

const DATA_EXTENSIONS = new Set(['csv', 'pq', 'parquet', 'txt', 'md', 'rtf', 'tsv', 'xml', 'pdf', 'mlt']);
const MODEL_EXTENSIONS = new Set(['h5', 'hdf5', 'joblib', 'pkl', 'pickle', 'ckpt', 'mlmodel']);
/** Extensions that make a bare name a file path, beyond the data and model ones above. */
const OTHER_FILE_EXTENSIONS = new Set([
  'json',
  'jsonl',
  'ndjson',
  'yaml',
  'yml',
  'npy',
  'npz',
  'onnx',
  'pt',
  'pth',
  'bin',
  'feather',
  'arrow',
  'avro',
  'orc',
  'xlsx',
  'zip',
  'gz',
  'tar',
  'tgz',
  'lock',
  'dvc',
]);
const MODEL_SCHEMES = new Set(['models', 'runs', 'mlflow-artifacts']);
const ENDPOINT_SCHEMES = new Set(['http', 'https', 'grpc', 'grpcs']);

function extensionOf(uri: string): string {
  const last = uri.split(/[/\\]/).pop() ?? '';
  const dot = last.lastIndexOf('.');
  return dot > 0 ? last.slice(dot + 1).toLowerCase() : '';
}

/**
 * Infers a pointer's type from its URI: the scheme first (`models:/` is a model, `http:` an
 * endpoint), then mltrace's rules in order ("data" in the name, "model" in the name, data file
 * extensions, model file extensions), then "metric" in the name; else `unknown`.
 */
export function inferPointerType(uri: string): PointerType {
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
  if (scheme && !WINDOWS_DRIVE.test(uri)) {
    if (MODEL_SCHEMES.has(scheme)) return 'model';
    if (ENDPOINT_SCHEMES.has(scheme)) return 'endpoint';
  }
  const lower = uri.toLowerCase();
  if (lower.includes('data')) return 'data';
  if (lower.includes('model')) return 'model';
  const ext = extensionOf(uri);
  if (DATA_EXTENSIONS.has(ext)) return 'data';
  if (MODEL_EXTENSIONS.has(ext)) return 'model';
  if (lower.includes('metric')) return 'metric';
  return 'unknown';
}

/** Whether a string without a scheme names a local file rather than an opaque identifier. */
function looksLikePath(value: string): boolean {
  if (value.startsWith('/') || value.startsWith('./') || value.startsWith('../') || value.startsWith('~/')) {
    return true;
  }
  if (value === '.' || value === '..' || WINDOWS_DRIVE.test(value)) return true;
  if (value.includes('/') || value.includes('\\')) return true;
  const ext = extensionOf(value);
  return DATA_EXTENSIONS.has(ext) || MODEL_EXTENSIONS.has(ext) || OTHER_FILE_EXTENSIONS.has(ext);
}

/** Resolves `.` and `..` segments of an absolute POSIX path. */
function normalizeAbsolutePath(path: string): string {
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return `/${out.join('/')}`;
}

function decodePath(path: string, original: string): string {
  try {
    return decodeURIComponent(path);
  } catch (cause) {
    throw new InvalidInputError(`"${original}" is not a valid file URI: bad percent-encoding`, { cause });
  }
}

/** Options of {@link normalizeUri}. */
export interface NormalizeOptions {
  /** The directory relative paths are resolved against (absolute, POSIX or Windows form). */
  cwd: string;
  /** The home directory `~/` expands to. @default cwd */
  home?: string;
}

/**
 * The one canonical form of a pointer URI, so that every source names the same thing alike:
 * - local paths (relative, absolute, Windows-style, `file:` URIs) become `file:///abs/path`,
 *   with `.`/`..` resolved and percent-encoding decoded;
 * - other URIs keep their text, with the scheme lowercased (`S3://b/k` is `s3://b/k`) and their
 *   credentials removed (`s3://KEY:SECRET@b/k` is `s3://b/k`, see {@link stripUriCredentials});
 * - anything else (a prediction id, a table name) is an opaque name and is kept as given.
 */
export function normalizeUri(input: string, options: NormalizeOptions): string {
  const value = input.trim();
  if (value === '') throw new InvalidInputError('a pointer URI must not be empty');
  if (/[\0\n\r]/.test(value)) {
    throw new InvalidInputError(`pointer URI ${JSON.stringify(value)} contains a control character`);
  }
  const scheme = SCHEME.exec(value)?.[1];
  if (scheme && !WINDOWS_DRIVE.test(value)) {
    const lower = scheme.toLowerCase();
    if (lower === 'file') {
      // file:///p, file://localhost/p and file:/p all name the local path /p.
      let rest = value.slice(scheme.length + 1);
      if (rest.startsWith('//')) {
        rest = rest.slice(2);
        const slash = rest.indexOf('/');
        const host = slash === -1 ? rest : rest.slice(0, slash);
        if (host !== '' && host !== 'localhost')
          return `file://${host}${normalizeAbsolutePath(rest.slice(host.length))}`;
        rest = slash === -1 ? '/' : rest.slice(slash);
      }
      return `file://${normalizeAbsolutePath(decodePath(rest, value))}`;
    }
    return stripUriCredentials(lower + value.slice(scheme.length));
  }
  if (!looksLikePath(value)) return value;
  let path = value.replace(/\\/g, '/');
  if (WINDOWS_DRIVE.test(value)) path = `/${path[0]?.toLowerCase()}:${path.slice(2)}`;
  else if (path.startsWith('~/'))
    path = `${(options.home ?? options.cwd).replace(/\\/g, '/')}/${path.slice(2)}`;
  else if (!path.startsWith('/')) path = `${options.cwd.replace(/\\/g, '/')}/${path}`;
  return `file://${normalizeAbsolutePath(path)}`;
}

/** GTO's semver with its `v` (gto/constants.py): what follows `@` in `gto:NAME@vX.Y.Z`. */
const GTO_SEMVER =
  /^v(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/** Options of {@link parsePointerSpec}. */
export interface PointerSpecOptions {
  /** The content version, given apart (`--version`): the whole spec is then the URI, `@` and all. */
  version?: string;
}

/**
 * Reads a pointer as users type it. The registry names resolve as their tools write them:
 * - `gto:NAME@vX.Y.Z` (a GTO version) and `gto:NAME#STAGE` (a GTO stage) are URIs; a content
 *   version follows as a further `@`: `gto:NAME@v1.2.0@<md5>`, `gto:NAME#prod@v1.2.0` (the
 *   version the stage held);
 * - `models:/NAME/3` and `models:/NAME@ALIAS` are URIs; `models:/NAME@ALIAS@3` is the alias
 *   when it held version 3;
 * - anything else is `uri@version`: the version is the text after the last `@` when it has no
 *   `/` (so `ssh://git@host/repo` keeps its `@`).
 * With `options.version` the spec is the URI as given and nothing is split, for a URI whose own
 * text holds an `@`.
 */
export function parsePointerSpec(spec: string, options: PointerSpecOptions = {}): PointerInput {
  if (options.version !== undefined) {
    return options.version === '' ? { uri: spec } : { uri: spec, version: options.version };
  }
  if (/^gto:/i.test(spec)) return parseGtoSpec(spec);
  const at = spec.lastIndexOf('@');
  if (at <= 0) return { uri: spec };
  const uri = spec.slice(0, at);
  const version = spec.slice(at + 1);
  if (version.includes('/') || version === '') return { uri: spec };
  if (/^models:\//i.test(spec) && !uri.includes('@')) return { uri: spec };
  return { uri, version };
}

/** `gto:NAME@vX.Y.Z[@version]`, `gto:NAME#STAGE[@version]`, else `gto:NAME[@version]`. */
function parseGtoSpec(spec: string): PointerInput {
  const [head = spec, ...rest] = spec.split('@');
  if (head.includes('#')) {
    return rest.length === 0 || rest.join('@') === ''
      ? { uri: spec }
      : { uri: head, version: rest.join('@') };
  }
  const [first, ...more] = rest;
  if (first !== undefined && GTO_SEMVER.test(first)) {
    const uri = `${head}@${first}`;
    return more.length === 0 || more.join('@') === '' ? { uri } : { uri, version: more.join('@') };
  }
  return rest.length === 0 || rest.join('@') === '' ? { uri: spec } : { uri: head, version: rest.join('@') };
}

/** The display form of a pointer: `uri` or `uri@version`. */
export function formatPointer(pointer: { uri: string; version?: string }): string {
  return pointer.version ? `${pointer.uri}@${pointer.version}` : pointer.uri;
}
