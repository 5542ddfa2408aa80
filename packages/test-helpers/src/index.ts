/**
 * The real-service test harness of mltrace (private). The vitest global setup
 * (`@mltrace/test-helpers/global-setup`) starts Temporal, PostgreSQL and MLflow once per run; test
 * files reach them through {@link temporalAddress}, {@link testDatabaseUrl} and
 * {@link mlflowTrackingUri}. DVC workspaces and Chromium are per test.
 *
 * @example
 * import { temporalAddress, testDatabaseUrl } from '@mltrace/test-helpers';
 *
 * const databaseUrl = await testDatabaseUrl(); // a fresh database for this test file
 * const connection = await NativeConnection.connect({ address: temporalAddress() });
 * @module
 */
import { inject } from 'vitest';
import { selectedServices } from './context.js';
import { createTestDatabase } from './postgres.js';

function provided(
  key: 'temporalAddress' | 'temporalUiUrl' | 'postgresAdminUrl' | 'mlflowTrackingUri',
  service: string,
): string {
  const value = inject(key);
  if (value === undefined) {
    const selection = process.env.MLTRACE_TEST_SERVICES;
    const why =
      selection === undefined
        ? 'is the vitest globalSetup `@mltrace/test-helpers/global-setup` configured?'
        : `MLTRACE_TEST_SERVICES=${selection} selects ${selectedServices().join(', ') || 'none'}; add ${service}.`;
    throw new Error(`${key}: the global setup did not start ${service} for this run (${why})`);
  }
  return value;
}

/** gRPC address (`host:port`) of the run's Temporal server (namespace `default`). */
export function temporalAddress(): string {
  return provided('temporalAddress', 'temporal');
}

/**
 * Base URL of the run's Temporal Web UI, e.g. `http://127.0.0.1:8233` (the dev server serves it on a
 * free port; with an external `TEMPORAL_ADDRESS`, set `TEMPORAL_UI_URL` to its UI).
 */
export function temporalUiUrl(): string {
  return provided('temporalUiUrl', 'temporal (with its UI)');
}

/** Base URL of the run's MLflow tracking server, e.g. `http://127.0.0.1:5123`. */
export function mlflowTrackingUri(): string {
  return provided('mlflowTrackingUri', 'mlflow');
}

/**
 * Creates a fresh, empty database on the run's PostgreSQL server and returns its URL. Every call
 * makes a new one; call it once per test file (e.g. in `beforeAll`) for isolation. The databases
 * go away with the server at the end of the run (on an external server, the teardown drops them).
 */
export async function testDatabaseUrl(): Promise<string> {
  const adminUrl = provided('postgresAdminUrl', 'postgres');
  const prefix = inject('testDatabasePrefix');
  const database = await createTestDatabase(adminUrl, prefix === undefined ? {} : { prefix });
  return database.url;
}

export { CHROMIUM_ARGS, type LaunchBrowserOptions, launchBrowser } from './browser.js';
// Also brings the `ProvidedContext` keys (`inject('temporalAddress')`...) into the importer's types.
export type { ServiceName } from './context.js';
export { type CreateDvcWorkspaceOptions, createDvcWorkspace, type DvcWorkspace } from './dvc.js';
export { eventually } from './eventually.js';
export { type MlflowServer, type StartMlflowOptions, startMlflowServer } from './mlflow.js';
export {
  type CreateTestDatabaseOptions,
  createTestDatabase,
  type PostgresServer,
  type StartPostgresOptions,
  startPostgres,
  type TestDatabase,
} from './postgres.js';
export {
  freePort,
  type ManagedProcess,
  type ManagedProcessOptions,
  type ProcessExit,
  ServiceStartError,
  startManagedProcess,
  type WaitUntilOptions,
} from './process.js';
export { type StaticFile, type StaticServer, serveStatic } from './serve.js';
export {
  MLTRACE_SEARCH_ATTRIBUTES,
  type SearchAttributeTypeName,
  startTemporalDevServer,
  type TemporalDevServer,
  type TemporalDevServerOptions,
} from './temporal.js';
export { chromiumPath, repoRoot, type ToolName, ToolNotFoundError, toolPath } from './tools.js';
export {
  chainLineage,
  type DrawnNode,
  type DrawnTracePage,
  fanInLineage,
  type GeneratedRun,
  nodesOutsideView,
  readTracePage,
} from './trace-page.js';
