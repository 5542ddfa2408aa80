import { Mutex, type PGlite, parse, protocol } from '@electric-sql/pglite';
import { type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Database } from '../database.js';

const dialect = new PgDialect();

/** A parameter as the text the server parses; the store passes only these kinds. */
function toText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (value instanceof Date) return value.toISOString();
  throw new TypeError(`a query parameter of type ${typeof value} has no text form here`);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * The store's statements on one PGlite instance as named prepared statements, each parsed and
 * planned once: PGlite's `query` re-plans every call, and for one run planning the write
 * statements cost more than running them (one `logRun` ~6.6 -> ~2.5 ms).
 *
 * Built on PGlite's public protocol API (`execProtocol`, `protocol.serialize`,
 * `parse.parseResults`): one call sends Bind, Describe, Execute and Sync (and Parse the first
 * time). PGlite is one session, so a mutex keeps each statement, and each transaction whole,
 * from interleaving with another caller's.
 */
export function pgliteDatabase(client: PGlite): Database {
  const names = new Map<string, string>();
  let counter = 0;
  const mutex = new Mutex();

  const run = async <T>(query: SQL): Promise<T[]> => {
    const { sql: text, params } = dialect.sqlToQuery(query);
    const known = names.get(text);
    // A name is never reused: a failed first run may or may not have left its statement behind.
    const name = known ?? `mltrace_${++counter}`;
    const { serialize } = protocol;
    const parts = known ? [] : [serialize.parse({ name, text })];
    parts.push(
      serialize.bind({ statement: name, values: params.map(toText) }),
      serialize.describe({ type: 'P' }),
      serialize.execute({}),
      serialize.sync(),
    );
    const { messages } = await client.execProtocol(concat(parts));
    if (!known) names.set(text, name);
    return (parse.parseResults(messages, client.parsers, { rowMode: 'object' })[0]?.rows ?? []) as T[];
  };

  const session = (inTransaction: boolean, depth: number): Database => ({
    rows: (query) => (inTransaction ? run(query) : mutex.runExclusive(() => run(query))),
    async transaction(fn) {
      const body = async () => {
        const savepoint = sql.raw(`mltrace_savepoint_${depth}`);
        await run(depth === 0 ? sql`BEGIN` : sql`SAVEPOINT ${savepoint}`);
        try {
          const result = await fn(session(true, depth + 1));
          await run(depth === 0 ? sql`COMMIT` : sql`RELEASE SAVEPOINT ${savepoint}`);
          return result;
        } catch (error) {
          await run(depth === 0 ? sql`ROLLBACK` : sql`ROLLBACK TO SAVEPOINT ${savepoint}`).catch(() => {});
          throw error;
        }
      };
      return inTransaction ? body() : mutex.runExclusive(body);
    },
    close: () => (inTransaction ? Promise.resolve() : mutex.runExclusive(() => client.close())),
  });
  return session(false, 0);
}
