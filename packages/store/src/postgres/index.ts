/**
 * `@mltrace/store/postgres`: the lineage store on PostgreSQL, through postgres.js.
 *
 * @example
 * ```ts
 * import { openPostgresStore } from '@mltrace/store/postgres';
 * const store = await openPostgresStore({ url: 'postgres://user@localhost:5432/lineage' });
 * ```
 * @module
 */
import { ConfigError, UnavailableError } from '@mltrace/core';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import type { LineageStore, StoreOptions } from '../api.js';
import { type Drizzle, wrapDrizzle } from '../database.js';
import * as schema from '../schema.js';
import { createStore } from '../store.js';

/** Options of {@link openPostgresStore}. */
export interface PostgresStoreOptions extends StoreOptions {
  /** `postgres://` or `postgresql://` URL. */
  url: string;
  /** Connections in the pool. @default 5 */
  maxConnections?: number;
  /** Seconds to wait for a connection. @default 10 */
  connectTimeoutSeconds?: number;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable URL>';
  }
}

/** Opens (and migrates) a store on PostgreSQL. Throws ConfigError for a bad URL, UnavailableError when unreachable. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<LineageStore> {
  let parsed: URL;
  try {
    parsed = new URL(options.url);
  } catch (cause) {
    throw new ConfigError(`the database URL is not a valid URL: ${redactUrl(options.url)}`, {
      cause,
      hint: 'use postgres://USER:PASSWORD@HOST:PORT/DATABASE, or unset MLTRACE_DATABASE_URL for the embedded store',
    });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError(
      `the database URL must start with postgres:// or postgresql://, got ${parsed.protocol}//`,
    );
  }
  const client = postgres(options.url, {
    max: options.maxConnections ?? 5,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    onnotice: () => {},
  });
  const database = wrapDrizzle(drizzle(client, { schema }) as unknown as Drizzle, () =>
    client.end({ timeout: 5 }),
  );
  try {
    return await createStore(database, options);
  } catch (cause) {
    await client.end({ timeout: 1 }).catch(() => {});
    const code = (cause as { code?: string }).code;
    if (
      code === 'ECONNREFUSED' ||
      code === 'ENOTFOUND' ||
      code === 'CONNECT_TIMEOUT' ||
      code === '3D000' ||
      code === '28P01'
    ) {
      throw new UnavailableError(
        `cannot open the lineage database ${redactUrl(options.url)}: ${(cause as Error).message}`,
        {
          cause,
          hint: 'check that PostgreSQL runs there and that the user, password and database are right',
        },
      );
    }
    throw cause;
  }
}
