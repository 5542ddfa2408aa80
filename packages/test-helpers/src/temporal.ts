import { join } from 'node:path';
import { freePort, makeTempDir, removeDir, ServiceStartError, startManagedProcess } from './process.js';
import { toolPath } from './tools.js';

/** The value types a Temporal search attribute can have, as the CLI spells them. */
export type SearchAttributeTypeName =
  | 'Text'
  | 'Keyword'
  | 'Int'
  | 'Double'
  | 'Bool'
  | 'Datetime'
  | 'KeywordList';

/** The custom search attributes the mltrace Temporal plugin writes; the dev server registers them. */
export const MLTRACE_SEARCH_ATTRIBUTES = {
  MltraceOutputs: 'KeywordList',
  MltraceModelVersions: 'KeywordList',
  MltraceInputs: 'KeywordList',
  MltracePipelineRun: 'Keyword',
} as const satisfies Record<string, SearchAttributeTypeName>;

/** `temporal.api.enums.v1.IndexedValueType` codes, as `operatorService` returns them. */
const INDEXED_VALUE_TYPE: Record<SearchAttributeTypeName, number> = {
  Text: 1,
  Keyword: 2,
  Int: 3,
  Double: 4,
  Bool: 5,
  Datetime: 6,
  KeywordList: 7,
};

const SERVICE = 'Temporal dev server';

/** Options of {@link startTemporalDevServer}. */
export interface TemporalDevServerOptions {
  /** Namespace created at start and checked for readiness. @default 'default' */
  namespace?: string;
  /** Search attributes to register. @default MLTRACE_SEARCH_ATTRIBUTES */
  searchAttributes?: Record<string, SearchAttributeTypeName>;
  /** Serve the Web UI: `true` for a free port, or a port number. @default false (headless) */
  ui?: boolean | number;
  /** Extra arguments appended to `temporal server start-dev`. @default [] */
  extraArgs?: readonly string[];
  /** Readiness deadline in milliseconds. @default 60000 */
  timeoutMs?: number;
  /** Environment: `TEMPORAL_ADDRESS` selects an external server, `MLTRACE_TOOLS_DIR` the tools. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** A running (or external) Temporal server. */
export interface TemporalDevServer {
  /** gRPC address, `host:port`. */
  address: string;
  /** The namespace that was checked. */
  namespace: string;
  /** Web UI URL when the UI is on. */
  uiUrl: string | undefined;
  /** True when `TEMPORAL_ADDRESS` pointed at a server we did not start. */
  external: boolean;
  /** The server's log file (undefined when external). */
  logFile: string | undefined;
  /** Stops the server and removes its temp dir; a no-op for an external server. Idempotent. */
  stop(): Promise<void>;
}

async function checkServer(address: string, namespace: string, connectTimeoutMs: number): Promise<boolean> {
  const { Connection } = await import('@temporalio/client');
  const connection = await Connection.connect({ address, connectTimeout: connectTimeoutMs });
  try {
    await connection.workflowService.getSystemInfo({});
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } finally {
    await connection.close();
  }
}

/** Registers the search attributes an external server lacks (the dev server gets them as flags). */
async function ensureSearchAttributes(
  address: string,
  namespace: string,
  wanted: Record<string, SearchAttributeTypeName>,
): Promise<void> {
  const { Connection } = await import('@temporalio/client');
  const connection = await Connection.connect({ address, connectTimeout: 5000 });
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing: Record<string, number> = {};
    for (const [name, type] of Object.entries(wanted)) {
      if (existing.customAttributes?.[name] === undefined) missing[name] = INDEXED_VALUE_TYPE[type];
    }
    if (Object.keys(missing).length > 0) {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
    }
  } finally {
    await connection.close();
  }
}

/**
 * Starts `temporal server start-dev` on a free port of 127.0.0.1 with a SQLite file in a temp dir and
 * the {@link MLTRACE_SEARCH_ATTRIBUTES} registered; resolves when the frontend answers
 * `getSystemInfo` and knows the namespace. With `TEMPORAL_ADDRESS` set it starts nothing: it checks
 * that server and registers any missing search attributes there.
 *
 * @throws {ServiceStartError} naming the log file, when the server exits or is not ready in time
 */
export async function startTemporalDevServer(
  options: TemporalDevServerOptions = {},
): Promise<TemporalDevServer> {
  const env = options.env ?? process.env;
  const namespace = options.namespace ?? 'default';
  const searchAttributes = options.searchAttributes ?? MLTRACE_SEARCH_ATTRIBUTES;
  const timeoutMs = options.timeoutMs ?? 60_000;

  const externalAddress = env.TEMPORAL_ADDRESS;
  if (externalAddress) {
    try {
      await checkServer(externalAddress, namespace, 10_000);
      await ensureSearchAttributes(externalAddress, namespace, searchAttributes);
    } catch (error) {
      throw new ServiceStartError(
        `${SERVICE}: the external server TEMPORAL_ADDRESS=${externalAddress} did not answer for namespace ` +
          `'${namespace}': ${(error as Error).message}. Unset TEMPORAL_ADDRESS to let the tests start their own.`,
        { service: SERVICE, cause: error },
      );
    }
    const stop = async () => {};
    return {
      address: externalAddress,
      namespace,
      uiUrl: env.TEMPORAL_UI_URL?.replace(/\/+$/, '') || undefined,
      external: true,
      logFile: undefined,
      stop,
    };
  }

  const temporal = toolPath('temporal', env);
  const port = await freePort();
  const uiPort =
    options.ui === true ? await freePort() : typeof options.ui === 'number' ? options.ui : undefined;
  const address = `127.0.0.1:${port}`;
  const dir = await makeTempDir('temporal');
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
    '--db-filename',
    join(dir, 'temporal.db'),
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
    ...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort), '--ui-disable-news-fetch']),
    ...Object.entries(searchAttributes).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
    ...(options.extraArgs ?? []),
  ];
  const proc = await startManagedProcess({
    name: SERVICE,
    command: temporal,
    args,
    env,
    dir,
    removeDirOnExit: true,
  });
  const stop = async () => {
    await proc.stop();
    await removeDir(dir);
  };
  try {
    await proc.waitUntil(() => checkServer(address, namespace, 2000), {
      timeoutMs,
      what: `gRPC getSystemInfo on ${address} and namespace '${namespace}'`,
      intervalMs: 200,
    });
  } catch (error) {
    // Keep the temp dir: the error names the log file in it.
    await proc.stop();
    throw error;
  }
  return {
    address,
    namespace,
    uiUrl: uiPort === undefined ? undefined : `http://127.0.0.1:${uiPort}`,
    external: false,
    logFile: proc.logFile,
    stop,
  };
}
