import { testDatabaseUrl } from '@mltrace/test-helpers';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';

async function withSql<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

describe('PostgreSQL', () => {
  it('answers select 1 on a fresh database from testDatabaseUrl()', async () => {
    const url = await testDatabaseUrl();
    const rows = await withSql(url, (sql) => sql`select 1 as one, current_database() as db`);
    expect(rows).toEqual([{ one: 1, db: new URL(url).pathname.slice(1) }]);
  });

  it('gives each testDatabaseUrl() call its own empty database', async () => {
    const [first, second] = await Promise.all([testDatabaseUrl(), testDatabaseUrl()]);
    expect(first).not.toBe(second);
    await withSql(first, (sql) => sql`create table marker (id int)`);
    const tables = await withSql(
      second,
      (sql) => sql`select table_name from information_schema.tables where table_schema = 'public'`,
    );
    expect(tables).toEqual([]);
  });
});
