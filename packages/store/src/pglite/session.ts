import { Mutex, type PGlite, parse, protocol } from '@electric-sql/pglite';
import { UnavailableError } from '@mltrace/core';
import { type SQL, sql } from 'drizzle-orm';
import type { Database } from '../database.js';
import { type RenderedQuery, render } from '../sql-text.js';

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
 * time). PGlite is one session, so locks keep each statement, and each transaction whole, from
 * interleaving with another caller's. `lock` is that transaction lock, given when something else
 * also uses the session (the sharing server's connections take it for each of their batches).
 */
export function pgliteDatabase(client: PGlite, lock: Mutex = new Mutex()): Database {
  const names = new Map<string, string>();
  let counter = 0;
  // One lock for whole transactions (and lone statements), one for each statement's messages:
  // the second also covers two statements a transaction's callback might run at once.
  const transactions = lock;
  const statements = new Mutex();
  const { serialize } = protocol;

  const send = async (parts: Uint8Array[]) => {
    if (client.closed) {
      throw new UnavailableError('the embedded lineage store is closed', { hint: 'open it again' });
    }
    return (await client.execProtocol(concat(parts))).messages;
  };

  const run = <T>(query: SQL | RenderedQuery): Promise<T[]> =>
    statements.runExclusive(async () => {
      const { sql: text, params } = render(query);
      const known = names.get(text);
      // A name is never reused: a failed first run may or may not have left its statement behind.
      const name = known ?? `mltrace_${++counter}`;
      const parts = known ? [] : [serialize.parse({ name, text })];
      parts.push(
        serialize.bind({ statement: name, values: params.map(toText) }),
        serialize.describe({ type: 'P' }),
        serialize.execute({}),
        serialize.sync(),
      );
      let messages: Awaited<ReturnType<typeof send>>;
      try {
        messages = await send(parts);
      } catch (error) {
        // Closing a statement that was never made is not an error.
        if (!known && !client.closed)
          await send([serialize.close({ type: 'S', name }), serialize.sync()]).catch(() => {});
        throw error;
      }
      if (!known) names.set(text, name);
      const [result] = parse.parseResults(messages, client.parsers, { rowMode: 'object' });
      // COMMIT of a transaction an error already aborted answers ROLLBACK, and succeeds.
      if (result?.command === 'ROLLBACK' && /^\s*COMMIT\b/i.test(text)) {
        throw new UnavailableError('the transaction was aborted by an earlier error and rolled back');
      }
      return (result?.rows ?? []) as T[];
    });

  const session = (inTransaction: boolean, depth: number): Database => ({
    rows: (query) => (inTransaction ? run(query) : transactions.runExclusive(() => run(query))),
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
      return inTransaction ? body() : transactions.runExclusive(body);
    },
    close: () => (inTransaction ? Promise.resolve() : transactions.runExclusive(() => client.close())),
  });
  return session(false, 0);
}
