import { join, resolve } from 'node:path';
import { type Logger, type PointerInput, silentLogger } from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';
import { DEFAULT_REDACT_KEYS } from './workflow/redact.js';

/** What the component-naming rule sees of an activity attempt. */
export interface ComponentNameInput {
  /** The registered activity type. */
  activityType: string;
  /** The name declared with `component()`, if any. */
  declared: string | undefined;
  workflowType: string | undefined;
  isLocal: boolean;
}

/** What a custom pointer extractor gets. */
export interface PointerExtractionInput {
  /** `inputs` for the arguments, `outputs` for the result. */
  role: 'inputs' | 'outputs';
  activityType: string;
  /** The arguments (for `outputs` too). */
  args: readonly unknown[];
  /** The result (`outputs` only). */
  result?: unknown;
}

/** How pointers are found in arguments and results. */
export interface PointerOptions {
  /**
   * Find URIs and paths in arguments and results automatically (in nested objects too), for
   * activities that declare no extractor of their own.
   * @default true
   */
  auto?: boolean;
  /** At most this many pointers per side (inputs, outputs) of one run. @default 32 */
  maxPointers?: number;
  /** Do not look deeper than this into nested values. @default 6 */
  maxDepth?: number;
  /** Look at most at this many values of one argument list or result. @default 2000 */
  maxNodes?: number;
  /**
   * A custom extractor, used instead of the automatic one (declared `component()` extractors
   * still win). Return pointers, or undefined to fall back to the automatic rule.
   * @default undefined
   */
  extract?: (input: PointerExtractionInput) => Array<string | PointerInput> | undefined;
}

/** Options of the lineage writer (the queue between activities and the store). */
export interface WriterOptions {
  /**
   * Records kept in memory: when the queue is this full, records go to the spool until it has
   * been replayed (without a spool, new records are dropped and counted). @default 10000
   */
  maxQueueSize?: number;
  /** Records per `store.logRuns` call. @default 500 */
  batchSize?: number;
  /** Flush period in milliseconds (a full batch flushes at once). @default 500 */
  flushIntervalMs?: number;
  /** Tries per batch before spilling it to the spool. @default 3 */
  maxAttempts?: number;
  /** First retry delay in milliseconds, doubled each retry. @default 200 */
  initialRetryDelayMs?: number;
  /** Longest retry delay in milliseconds. @default 5000 */
  maxRetryDelayMs?: number;
  /** A store call taking longer than this counts as failed (it may still land; writes are idempotent). @default 15000 */
  writeTimeoutMs?: number;
  /**
   * Directory of the spool: NDJSON files of records the store could not take, replayed when it
   * is back and at the next start. `false` turns spooling off (unwritable records are dropped).
   * @default `$MLTRACE_HOME/spool`, else `.mltrace/spool` under the current directory
   */
  spoolDir?: string | false;
  /** How often to try replaying the spool while the store is away, in milliseconds. @default 5000 */
  spoolReplayIntervalMs?: number;
  /** A spool file is closed and a new one started beyond this size. @default 8388608 (8 MiB) */
  maxSpoolFileBytes?: number;
}

/** Options of {@link createMltracePlugin}. */
export interface MltracePluginOptions extends WriterOptions {
  /**
   * The lineage store, or a function opening it (called once, lazily, and again after a failure).
   * @default opens `MLTRACE_DATABASE_URL` (PostgreSQL), else the embedded PGlite store
   */
  store?: LineageStore | (() => Promise<LineageStore>);
  /**
   * The component name of an attempt.
   * @default the name declared with `component()`, else the activity type
   */
  componentName?: (input: ComponentNameInput) => string;
  /** How pointers are found. @default `{ auto: true, maxPointers: 32, maxDepth: 6, maxNodes: 2000 }` */
  pointers?: PointerOptions;
  /**
   * Keys whose values are never stored nor logged (`[REDACTED]`), and never looked into for
   * pointers; strings match case-insensitively ignoring punctuation, as substrings.
   * @default DEFAULT_REDACT_KEYS (password, secret, token, apiKey, authorization, credential, ...)
   */
  redactKeys?: readonly (string | RegExp)[];
  /**
   * Size cap of the stored copy of the arguments and of the result (JSON characters). Beyond it
   * the copy is cut down (long strings, long arrays, deep objects) and marked `$truncated`.
   * @default 4096
   */
  maxPayloadChars?: number;
  /** Strings longer than this are truncated and stored with their length and sha256. @default 256 */
  maxStringChars?: number;
  /** Store a preview of the arguments and result in the run's metadata. @default true */
  recordValues?: boolean;
  /** Log a `running` record when an attempt starts (then the final one). @default true */
  recordStart?: boolean;
  /** The code snapshot (`fn.toString()`) is cut to this many characters; 0 turns it off. @default 20000 */
  maxCodeSnapshotChars?: number;
  /**
   * The worker's git commit, resolved once when the worker is created.
   * @default `MLTRACE_GIT_COMMIT`, else `git rev-parse HEAD` in the current directory; `false` for none
   */
  gitCommit?: string | false;
  /**
   * What a failing `component()` check does, for components that do not say.
   * @default 'warn'
   */
  onCheckFailure?: 'warn' | 'fail';
  /**
   * Upsert the `MltraceOutputs`, `MltraceInputs`, `MltraceModelVersions` and `MltracePipelineRun`
   * search attributes from workflows. `'auto'`: when the worker's namespace has them (checked once
   * at worker start; register them with `mltrace temporal setup`); `true`: always (they must be
   * registered); `false`: never.
   * @default 'auto'
   */
  searchAttributes?: boolean | 'auto';
  /**
   * Base URL of the mltrace UI (`mltrace serve`) that workflow pages in the Temporal UI link to:
   * the plugin's client hands it to the workflows it starts.
   * @default `MLTRACE_UI_URL`, else workflows link to http://localhost:8000
   */
  uiUrl?: string;
  /** Where library messages go. @default silentLogger */
  logger?: Logger;
  /** Environment (MLTRACE_HOME, MLTRACE_GIT_COMMIT, MLTRACE_DATABASE_URL). @default process.env */
  env?: Record<string, string | undefined>;
  /** Directory relative paths (pointers, spool) are resolved against. @default process.cwd() */
  cwd?: string;
}

/** {@link WriterOptions} with every default applied. */
export interface ResolvedWriterOptions {
  maxQueueSize: number;
  batchSize: number;
  flushIntervalMs: number;
  maxAttempts: number;
  initialRetryDelayMs: number;
  maxRetryDelayMs: number;
  writeTimeoutMs: number;
  spoolDir: string | false;
  spoolReplayIntervalMs: number;
  maxSpoolFileBytes: number;
}

/** {@link MltracePluginOptions} with every default applied. */
export interface ResolvedOptions extends ResolvedWriterOptions {
  store: LineageStore | (() => Promise<LineageStore>);
  componentName: (input: ComponentNameInput) => string;
  pointers: Required<Omit<PointerOptions, 'extract'>> & Pick<PointerOptions, 'extract'>;
  redactKeys: readonly (string | RegExp)[];
  maxPayloadChars: number;
  maxStringChars: number;
  recordValues: boolean;
  recordStart: boolean;
  maxCodeSnapshotChars: number;
  gitCommit: string | false | undefined;
  onCheckFailure: 'warn' | 'fail';
  searchAttributes: boolean | 'auto';
  uiUrl: string | undefined;
  logger: Logger;
  env: Record<string, string | undefined>;
  cwd: string;
}

function positive(name: string, value: number | undefined, fallback: number, min = 1): number {
  const n = value ?? fallback;
  if (!Number.isFinite(n) || n < min)
    throw new RangeError(`${name} must be a number >= ${min}, got ${value}`);
  return n;
}

/** The default spool directory. */
export function defaultSpoolDir(env: Record<string, string | undefined>, cwd: string): string {
  return env.MLTRACE_HOME ? join(resolve(cwd, env.MLTRACE_HOME), 'spool') : join(cwd, '.mltrace', 'spool');
}

/** Applies the writer defaults. */
export function resolveWriterOptions(
  options: WriterOptions,
  env: Record<string, string | undefined> = process.env,
  cwd: string = process.cwd(),
): ResolvedWriterOptions {
  const spoolDir =
    options.spoolDir === false ? false : resolve(cwd, options.spoolDir ?? defaultSpoolDir(env, cwd));
  return {
    maxQueueSize: positive('maxQueueSize', options.maxQueueSize, 10_000),
    batchSize: positive('batchSize', options.batchSize, 500),
    flushIntervalMs: positive('flushIntervalMs', options.flushIntervalMs, 500),
    maxAttempts: positive('maxAttempts', options.maxAttempts, 3),
    initialRetryDelayMs: positive('initialRetryDelayMs', options.initialRetryDelayMs, 200, 0),
    maxRetryDelayMs: positive('maxRetryDelayMs', options.maxRetryDelayMs, 5000, 0),
    writeTimeoutMs: positive('writeTimeoutMs', options.writeTimeoutMs, 15_000),
    spoolDir,
    spoolReplayIntervalMs: positive('spoolReplayIntervalMs', options.spoolReplayIntervalMs, 5000),
    maxSpoolFileBytes: positive('maxSpoolFileBytes', options.maxSpoolFileBytes, 8 * 1024 * 1024, 1024),
  };
}

/** Opens the store the environment names, the default of {@link MltracePluginOptions.store}. */
function defaultStore(env: Record<string, string | undefined>, cwd: string): () => Promise<LineageStore> {
  return async () => {
    const { openStore } = await import('@mltrace/store');
    const url = env.MLTRACE_DATABASE_URL;
    return openStore({ ...(url ? { url } : {}), env, cwd });
  };
}

function searchAttributesMode(value: boolean | 'auto' | undefined): boolean | 'auto' {
  if (value === undefined) return 'auto';
  if (value !== true && value !== false && value !== 'auto') {
    throw new RangeError(`searchAttributes must be true, false or 'auto', got ${String(value)}`);
  }
  return value;
}

function uiUrlOf(value: string | undefined): string | undefined {
  const url = value?.trim().replace(/\/+$/, '');
  if (!url) return undefined;
  if (!/^https?:\/\/[^\s"'<>()[\]`]+$/i.test(url) || url.length > 512) {
    throw new RangeError(`uiUrl (MLTRACE_UI_URL) must be an http(s) URL, got "${value}"`);
  }
  return url;
}

/** Applies every default of {@link MltracePluginOptions}, in one place. */
export function resolveOptions(options: MltracePluginOptions = {}): ResolvedOptions {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const pointers = options.pointers ?? {};
  const onCheckFailure = options.onCheckFailure ?? 'warn';
  if (onCheckFailure !== 'warn' && onCheckFailure !== 'fail') {
    throw new RangeError(`onCheckFailure must be 'warn' or 'fail', got ${String(onCheckFailure)}`);
  }
  return {
    ...resolveWriterOptions(options, env, cwd),
    store: options.store ?? defaultStore(env, cwd),
    componentName: options.componentName ?? ((input) => input.declared ?? input.activityType),
    pointers: {
      auto: pointers.auto ?? true,
      maxPointers: positive('pointers.maxPointers', pointers.maxPointers, 32, 0),
      maxDepth: positive('pointers.maxDepth', pointers.maxDepth, 6),
      maxNodes: positive('pointers.maxNodes', pointers.maxNodes, 2000),
      ...(pointers.extract ? { extract: pointers.extract } : {}),
    },
    redactKeys: options.redactKeys ?? DEFAULT_REDACT_KEYS,
    maxPayloadChars: positive('maxPayloadChars', options.maxPayloadChars, 4096, 64),
    maxStringChars: positive('maxStringChars', options.maxStringChars, 256, 16),
    recordValues: options.recordValues ?? true,
    recordStart: options.recordStart ?? true,
    maxCodeSnapshotChars: positive('maxCodeSnapshotChars', options.maxCodeSnapshotChars, 20_000, 0),
    gitCommit: options.gitCommit,
    onCheckFailure,
    searchAttributes: searchAttributesMode(options.searchAttributes),
    uiUrl: uiUrlOf(options.uiUrl ?? env.MLTRACE_UI_URL),
    logger: options.logger ?? silentLogger,
    env,
    cwd,
  };
}
