/**
 * Vitest global setup: starts the real services once per test run, in parallel, and hands their
 * addresses to the test files through `provide`/`inject`. Each service honours its environment
 * override (`TEMPORAL_ADDRESS`, `MLTRACE_TEST_DATABASE_URL`, `MLFLOW_TRACKING_URI`);
 * `MLTRACE_TEST_SERVICES` (comma list of `temporal,postgres,mlflow`, or `none`) limits what starts.
 *
 * @example
 * // vitest.config.ts
 * export default defineConfig({ test: { globalSetup: ['packages/test-helpers/dist/global-setup.js'] } });
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { type ServiceName, selectedServices } from './context.js';
import { startMlflowServer } from './mlflow.js';
import { dropTestDatabases, startPostgres, TEST_DATABASE_PREFIX } from './postgres.js';
import { startTemporalDevServer } from './temporal.js';

interface Started {
  name: ServiceName;
  label: string;
  ms: number;
  stop: () => Promise<void>;
}

/** Starts the selected services; returns the teardown that stops them. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const services = selectedServices();
  const runStarted = performance.now();
  const testDatabasePrefix = `${TEST_DATABASE_PREFIX}_${randomBytes(3).toString('hex')}`;
  let postgresCleanup: (() => Promise<void>) | undefined;

  const timed = async (
    name: ServiceName,
    start: () => Promise<{ stop(): Promise<void>; external: boolean }>,
  ) => {
    const t0 = performance.now();
    const service = await start();
    return {
      name,
      label: service.external ? 'external' : 'started',
      ms: performance.now() - t0,
      stop: service.stop,
    };
  };

  const starters: Record<ServiceName, () => Promise<Started>> = {
    temporal: () =>
      timed('temporal', async () => {
        // With its Web UI on a free port, for the tests that open Temporal's pages in Chromium.
        const server = await startTemporalDevServer({ ui: true });
        project.provide('temporalAddress', server.address);
        if (server.uiUrl) project.provide('temporalUiUrl', server.uiUrl);
        return server;
      }),
    postgres: () =>
      timed('postgres', async () => {
        const server = await startPostgres();
        project.provide('postgresAdminUrl', server.adminUrl);
        project.provide('testDatabasePrefix', testDatabasePrefix);
        if (server.external) {
          // Nothing else removes databases from a server we do not own.
          postgresCleanup = async () => {
            await dropTestDatabases(server.adminUrl, `${testDatabasePrefix}_`);
          };
        }
        return server;
      }),
    mlflow: () =>
      timed('mlflow', async () => {
        const server = await startMlflowServer();
        project.provide('mlflowTrackingUri', server.trackingUri);
        return server;
      }),
  };

  const results = await Promise.allSettled(services.map((name) => starters[name]()));
  const started = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failures = results.flatMap((result) =>
    result.status === 'rejected' ? [result.reason as unknown] : [],
  );

  const teardown = async () => {
    await postgresCleanup?.().catch((error: unknown) => {
      console.warn(`[mltrace test services] could not drop the test databases: ${(error as Error).message}`);
    });
    const stops = await Promise.allSettled(started.map((service) => service.stop()));
    for (const [index, stop] of stops.entries()) {
      if (stop.status === 'rejected') {
        console.warn(
          `[mltrace test services] stopping ${started[index]?.name} failed: ${String(stop.reason)}`,
        );
      }
    }
  };

  if (failures.length > 0) {
    await teardown();
    if (failures.length === 1) throw failures[0];
    const message = failures
      .map((error) => (error instanceof Error ? error.message : String(error)))
      .join('\n\n');
    throw new AggregateError(failures, `${failures.length} test services failed to start:\n\n${message}`);
  }

  if (services.length > 0) {
    const parts = started.map(
      (service) => `${service.name} ${(service.ms / 1000).toFixed(1)} s (${service.label})`,
    );
    const total = ((performance.now() - runStarted) / 1000).toFixed(1);
    console.log(`[mltrace test services] ${parts.join(', ')}; ready in ${total} s`);
  }
  return teardown;
}
