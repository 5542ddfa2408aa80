import type { SQL } from 'drizzle-orm';
import { CasingCache } from 'drizzle-orm/casing';

const casing = new CasingCache();

/**
 * A drizzle `sql` template as PostgreSQL text and `$n` parameters: what drizzle's
 * `PgDialect.sqlToQuery` does, with its escapes, without importing `drizzle-orm/pg-core`
 * (about 70 modules and 40 ms on every CLI call that reaches a store).
 */
export function toQuery(query: SQL): { sql: string; params: unknown[] } {
  return query.toQuery({
    casing,
    escapeName: (name) => `"${name.replace(/"/g, '""')}"`,
    escapeParam: (index) => `$${index + 1}`,
    escapeString: (text) => `'${text.replace(/'/g, "''")}'`,
  });
}
