/**
 * `@mltrace/store/pglite`: the embedded lineage store (PGlite: PostgreSQL in WebAssembly). The
 * default for a single machine: no server to run. Any number of processes may open one
 * directory at once: the first owns it and serves it to the others on a unix socket.
 *
 * @example
 * ```ts
 * import { openPgliteStore } from '@mltrace/store/pglite';
 * const store = await openPgliteStore(); // .mltrace/lineage under the current directory
 * ```
 * @module
 */
import { PGlite } from '@electric-sql/pglite';
import { type Logger, UnavailableError } from '@mltrace/core';
import type { LineageStore, StoreOptions } from '../api.js';
import { defaultDataDir, openSharedStore } from '../shared/index.js';
import { createStore } from '../store.js';
import { pgliteDatabase } from './session.js';

export { defaultDataDir };

/** Options of {@link openPgliteStore}. */
export interface PgliteStoreOptions extends StoreOptions {
  /**
   * Where the database lives: a directory, or `memory://` for a throwaway store of this process.
   * @default `$MLTRACE_HOME/lineage`, else `.mltrace/lineage` under the current directory
   */
  dataDir?: string;
  /** Read MLTRACE_HOME from here. @default process.env */
  env?: Record<string, string | undefined>;
  /** Where changes of the directory's owner are reported. @default quiet */
  logger?: Logger;
}

/**
 * Opens (and migrates) the embedded store. A directory is shared by every process that opens
 * it: the first to open it owns it (PGlite runs there) and serves it on a unix socket
 * (`<dataDir>.socket/`); the others connect to it through postgres.js. When the owner exits,
 * the next process to use the store takes it over; an owner killed outright leaves a lock
 * (`<dataDir>.lock`) that the next opener recognises as dead and recovers. A directory that
 * cannot be shared (another user's, another machine's, another version's, read-only) fails
 * with an UnavailableError naming the process that holds it; it is never opened twice.
 */
export async function openPgliteStore(options: PgliteStoreOptions = {}): Promise<LineageStore> {
  const dataDir = options.dataDir ?? defaultDataDir(options.env, options.cwd);
  if (!dataDir.startsWith('memory://')) {
    return openSharedStore({
      ...options,
      dataDir,
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }
  let client: PGlite;
  try {
    client = await PGlite.create(dataDir);
    // Generic plans for the session's prepared statements, as on PostgreSQL (postgres/index.ts).
    await client.exec('SET plan_cache_mode = force_generic_plan');
  } catch (cause) {
    throw new UnavailableError(`cannot start an in-memory lineage database: ${(cause as Error).message}`, {
      cause,
    });
  }
  const database = pgliteDatabase(client);
  try {
    return await createStore(database, options);
  } catch (cause) {
    await client.close().catch(() => {});
    throw cause;
  }
}
