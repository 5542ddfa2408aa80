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
import postgres from 'postgres';
import type { LineageStore, StoreOptions } from '../api.js';
import { createStore } from '../store.js';
import { postgresDatabase } from './session.js';

/** Options of {@link openPostgresStore}. */
export interface PostgresStoreOptions extends StoreOptions {
  /** `postgres://` or `postgresql://` URL. */
  url: string;
  /** Connections in the pool. @default 5 */
  maxConnections?: number;
  /** Seconds to wait for a connection. @default 10 */
  connectTimeoutSeconds?: number;
  /**
   * Use named prepared statements, so each connection plans a statement once. Turn off behind a
   * pooler that cannot keep them (PgBouncer in transaction mode before 1.21), here or with
   * `?prepare=false` on the URL. @default true, or the URL's `prepare`
   */
  prepare?: boolean;
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

/** postgres.js leaves `?prepare=0` or `PGPREPARE=off` as strings; read them as the words they are. */
function isOn(value: unknown): boolean {
  return !(value === false || ['false', 'disable', '0', 'off', 'no'].includes(String(value).toLowerCase()));
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
  // As postgres.js reads it: the option, else the URL's `prepare`, else PGPREPARE.
  const prepare =
    options.prepare ?? isOn(parsed.searchParams.get('prepare') ?? process.env.PGPREPARE ?? true);
  const client = postgres(options.url, {
    max: options.maxConnections ?? 5,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    onnotice: () => {},
    // Generic plans for the prepared statements: the store's statements are written to plan the
    // same whatever their parameters (fenced lookups by index), and planning a custom plan took
    // most of a small trace's time (a 20-run lineage: ~3 -> ~1 ms). Not sent without prepared
    // statements (a pooler in transaction mode may refuse unknown startup parameters); the URL's
    // `?plan_cache_mode=auto` overrides it.
    connection: prepare ? { plan_cache_mode: 'force_generic_plan' } : {},
  });
  const database = postgresDatabase(client, prepare, () => client.end({ timeout: 5 }));
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
