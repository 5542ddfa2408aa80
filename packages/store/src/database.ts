import type { SQL } from 'drizzle-orm';
import type { RenderedQuery } from './sql-text.js';

/**
 * What the store needs of a driver: rows for its SQL (written with drizzle's `sql`), a
 * transaction and a close. Each driver folder (`postgres/`, `pglite/`) implements it.
 */
export interface Database {
  /** Runs one parameterised statement (drizzle's, or rendered already) and returns its rows as plain objects. */
  rows<T = Record<string, unknown>>(query: SQL | RenderedQuery): Promise<T[]>;
  /** Runs `fn` in one transaction; a throw rolls everything back. */
  transaction<T>(fn: (tx: Database) => Promise<T>): Promise<T>;
  /** Ends the connection (a no-op inside a transaction). */
  close(): Promise<void>;
}
