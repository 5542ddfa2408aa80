/**
 * What the global setup hands to test files: the `ProvidedContext` keys, and which services run.
 * @module
 */

declare module 'vitest' {
  export interface ProvidedContext {
    /** gRPC address of the Temporal server (`host:port`), when `temporal` is started. */
    temporalAddress?: string;
    /** Base URL of the Temporal Web UI, when `temporal` is started (or `TEMPORAL_UI_URL` names an external one). */
    temporalUiUrl?: string;
    /** Admin URL of the PostgreSQL server, when `postgres` is started. */
    postgresAdminUrl?: string;
    /** Name prefix of this run's test databases. */
    testDatabasePrefix?: string;
    /** Base URL of the MLflow tracking server, when `mlflow` is started. */
    mlflowTrackingUri?: string;
  }
}

/** A service the global setup can start. */
export type ServiceName = 'temporal' | 'postgres' | 'mlflow';

const ALL_SERVICES: readonly ServiceName[] = ['temporal', 'postgres', 'mlflow'];

/** The services `MLTRACE_TEST_SERVICES` selects: unset or `all` = all, `none` = none. */
export function selectedServices(env: NodeJS.ProcessEnv = process.env): ServiceName[] {
  const raw = env.MLTRACE_TEST_SERVICES?.trim();
  if (!raw || raw === 'all') return [...ALL_SERVICES];
  if (raw === 'none') return [];
  const names = raw.split(',').map((name) => name.trim().toLowerCase());
  const unknown = names.filter((name) => !(ALL_SERVICES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new Error(
      `MLTRACE_TEST_SERVICES=${raw}: unknown service ${unknown.join(', ')}; use a comma list of ` +
        `${ALL_SERVICES.join(', ')}, or 'all' or 'none'`,
    );
  }
  return ALL_SERVICES.filter((name) => names.includes(name));
}
