import type postgres from 'postgres';
import type { Database } from '../database.js';
import { render } from '../sql-text.js';

/**
 * The store's statements, rendered by drizzle and run by postgres.js as named prepared
 * statements (drizzle's `execute` never prepares): each connection parses and plans a statement
 * once, not on every call. For one run, planning the write statements cost more than running
 * them: preparing took one `logRun` from ~5 to ~2 ms.
 */
export function postgresDatabase(
  sql: postgres.Sql | postgres.TransactionSql,
  prepare: boolean,
  close: () => Promise<void>,
): Database {
  return {
    async rows<T>(query: Parameters<Database['rows']>[0]) {
      const { sql: text, params } = render(query);
      return (await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare })) as T[];
    },
    transaction(fn) {
      const run = (tx: postgres.TransactionSql) => fn(postgresDatabase(tx, prepare, async () => {}));
      return ('savepoint' in sql ? sql.savepoint(run) : sql.begin(run)) as ReturnType<typeof fn>;
    },
    close,
  };
}
