/**
 * `@mltrace/store`: the lineage store. Components, ComponentRuns, pointers and their frozen
 * dependency edges; trace (upstream), impact (downstream), history, flag and review.
 *
 * This entry point loads no database driver: `openStore()` loads the one its URL needs, and
 * `@mltrace/store/postgres` and `@mltrace/store/pglite` open one directly.
 *
 * @example
 * ```ts
 * import { openStore } from '@mltrace/store';
 * const store = await openStore({ url: process.env.MLTRACE_DATABASE_URL });
 * await store.logRun({ component: 'clean', startedAt: new Date(), inputs: ['raw.csv'], outputs: ['clean.csv'] });
 * const graph = await store.trace({ uri: 'clean.csv' });
 * ```
 * @module
 */
import { ConfigError, type Logger } from '@mltrace/core';
import type { LineageStore, StoreOptions } from './api.js';
import { defaultDataDir, openSharedStore } from './shared/index.js';

export type {
  GraphOptions,
  HistoryOptions,
  LineageGraph,
  LineageStore,
  LogResult,
  PointerQuery,
  RecentOptions,
  Review,
  RunPage,
  RunSummary,
  StoreOptions,
  Suspect,
} from './api.js';
export { defaultDataDir } from './shared/index.js';
export { MAX_PAGE } from './store.js';
export { type Promotion, type PromotionTimelineOptions, promotionTimeline } from './timeline.js';

/** Options of {@link openStore}. */
export interface OpenStoreOptions extends StoreOptions {
  /** A `postgres://` URL; absent or empty means the embedded PGlite store. */
  url?: string;
  /** For the embedded store: its directory. @default see `openPgliteStore` */
  dataDir?: string;
  /** Where MLTRACE_HOME is read. @default process.env */
  env?: Record<string, string | undefined>;
  /** For the embedded store: where changes of its owner are reported. @default quiet */
  logger?: Logger;
}

/** Opens the store a URL names (PostgreSQL), or the embedded PGlite store when there is none. */
export async function openStore(options: OpenStoreOptions = {}): Promise<LineageStore> {
  const url = options.url?.trim();
  if (!url) {
    const dataDir = options.dataDir ?? defaultDataDir(options.env, options.cwd);
    if (dataDir.startsWith('memory://')) {
      const { openPgliteStore } = await import('./pglite/index.js');
      return openPgliteStore({ ...options, dataDir });
    }
    // The embedded directory, shared: PGlite is loaded only if this process becomes its owner.
    return openSharedStore({ ...options, dataDir });
  }
  if (/^postgres(ql)?:\/\//i.test(url)) {
    const { openPostgresStore } = await import('./postgres/index.js');
    return openPostgresStore({ ...options, url });
  }
  throw new ConfigError(`unsupported database URL "${url.replace(/\/\/[^@/]*@/, '//***@')}"`, {
    hint: 'use postgres://USER:PASSWORD@HOST:PORT/DATABASE, or leave MLTRACE_DATABASE_URL unset for the embedded store',
  });
}
