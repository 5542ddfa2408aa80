import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from './schema.js';

/** drizzle over either driver, with the store's schema. */
export type Drizzle = PgDatabase<PgQueryResultHKT, typeof schema>;

/**
 * What the store needs of a driver: rows for its SQL (written with drizzle's `sql`), a
 * transaction and a close. Each driver folder (`postgres/`, `pglite/`) implements it.
 */
export interface Database {
  /** Runs one parameterised statement and returns its rows as plain objects. */
  rows<T = Record<string, unknown>>(query: SQL): Promise<T[]>;
  /** Runs `fn` in one transaction; a throw rolls everything back. */
  transaction<T>(fn: (tx: Database) => Promise<T>): Promise<T>;
  /** Ends the connection (a no-op inside a transaction). */
  close(): Promise<void>;
}

/** Wraps a drizzle database or transaction; `rowsOf` reads the driver's result shape. */
export function wrapDrizzle(drizzle: Drizzle, close: () => Promise<void>): Database {
  const rowsOf = (result: unknown): unknown[] =>
    Array.isArray(result) ? result : ((result as { rows?: unknown[] }).rows ?? []);
  const database: Database = {
    async rows<T>(query: SQL) {
      return rowsOf(await drizzle.execute(query)) as T[];
    },
    transaction(fn) {
      return drizzle.transaction((tx) => fn(wrapDrizzle(tx as unknown as Drizzle, async () => {})));
    },
    close,
  };
  return database;
}
