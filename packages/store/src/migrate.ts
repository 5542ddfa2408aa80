import { readdir, readFile } from 'node:fs/promises';
import { sql } from 'drizzle-orm';
import type { Database } from './database.js';

const MIGRATIONS_DIR = new URL('../migrations/', import.meta.url);
/** Any constant both drivers agree on: the lock that serialises concurrent migrators. */
const MIGRATION_LOCK_KEY = 7_261_930_001;

/** The committed SQL migrations, in order. */
export async function migrationFiles(): Promise<Array<{ id: number; name: string; statements: string[] }>> {
  const names = (await readdir(MIGRATIONS_DIR)).filter((name) => /^\d{4}_.+\.sql$/.test(name)).sort();
  return Promise.all(
    names.map(async (name) => {
      const text = await readFile(new URL(name, MIGRATIONS_DIR), 'utf8');
      // One statement per `;` at the end of a line, outside a function's `$$` body; our
      // migrations keep to that form.
      const statements: string[] = [];
      let pending = '';
      for (const piece of text.split(/;\s*$/m)) {
        pending = pending === '' ? piece : `${pending};${piece}`;
        if ((pending.match(/\$\$/g) ?? []).length % 2 === 1) continue;
        statements.push(pending);
        pending = '';
      }
      if (pending !== '') statements.push(pending);
      return {
        id: Number(name.slice(0, 4)),
        name,
        statements: statements.map((s) => s.replace(/^\s*--.*$/gm, '').trim()).filter((s) => s !== ''),
      };
    }),
  );
}

/**
 * Applies the migrations not yet applied, in one transaction under an advisory lock, so two
 * processes opening the same database at once apply each migration exactly once.
 */
export async function migrate(database: Database): Promise<{ applied: string[] }> {
  const files = await migrationFiles();
  return database.transaction(async (tx) => {
    await tx.rows(sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await tx.rows(sql`CREATE TABLE IF NOT EXISTS mltrace_migrations (
      id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (await tx.rows<{ id: unknown }>(sql`SELECT id FROM mltrace_migrations`)).map((r) => Number(r.id)),
    );
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file.id)) continue;
      for (const statement of file.statements) await tx.rows(sql.raw(statement));
      await tx.rows(sql`INSERT INTO mltrace_migrations (id, name) VALUES (${file.id}, ${file.name})`);
      applied.push(file.name);
    }
    return { applied };
  });
}
