/**
 * `@mltrace/store/pglite`: the embedded lineage store (PGlite: PostgreSQL in WebAssembly, in
 * this process). The default for a single machine: no server to run.
 *
 * @example
 * ```ts
 * import { openPgliteStore } from '@mltrace/store/pglite';
 * const store = await openPgliteStore(); // .mltrace/lineage under the current directory
 * ```
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { UnavailableError } from '@mltrace/core';
import type { LineageStore, StoreOptions } from '../api.js';
import { createStore } from '../store.js';
import { pgliteDatabase } from './session.js';

/** Options of {@link openPgliteStore}. */
export interface PgliteStoreOptions extends StoreOptions {
  /**
   * Where the database lives: a directory, or `memory://` for a throwaway store.
   * @default `$MLTRACE_HOME/lineage`, else `.mltrace/lineage` under the current directory
   */
  dataDir?: string;
  /** Read MLTRACE_HOME from here. @default process.env */
  env?: Record<string, string | undefined>;
}

/** The default embedded database directory. */
export function defaultDataDir(
  env: Record<string, string | undefined> = process.env,
  cwd = process.cwd(),
): string {
  return join(env.MLTRACE_HOME ? resolve(cwd, env.MLTRACE_HOME) : join(cwd, '.mltrace'), 'lineage');
}

/**
 * Opens (and migrates) the embedded store. One process at a time may open a directory: PGlite
 * is single-user, so a worker and the CLI share lineage through PostgreSQL instead.
 */
export async function openPgliteStore(options: PgliteStoreOptions = {}): Promise<LineageStore> {
  const dataDir = options.dataDir ?? defaultDataDir(options.env, options.cwd);
  let client: PGlite;
  try {
    if (!dataDir.startsWith('memory://')) await mkdir(dataDir, { recursive: true });
    client = await PGlite.create(dataDir);
    // Generic plans for the session's prepared statements, as on PostgreSQL (postgres/index.ts).
    await client.exec('SET plan_cache_mode = force_generic_plan');
  } catch (cause) {
    throw new UnavailableError(
      `cannot open the embedded lineage database in ${dataDir}: ${(cause as Error).message}`,
      {
        cause,
        hint: 'is another mltrace process using it? Set MLTRACE_HOME to use another directory',
      },
    );
  }
  const database = pgliteDatabase(client);
  try {
    return await createStore(database, options);
  } catch (cause) {
    await client.close().catch(() => {});
    throw cause;
  }
}
