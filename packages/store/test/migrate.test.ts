import { ConfigError, UnavailableError } from '@mltrace/core';
import { testDatabaseUrl } from '@mltrace/test-helpers';
import { getTableConfig } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { openStore } from '../src/index.js';
import { migrationFiles } from '../src/migrate.js';
import { openPostgresStore } from '../src/postgres/index.js';
import * as schema from '../src/schema.js';

describe('migrations', () => {
  it('apply exactly once when three stores open a fresh database at the same moment', async () => {
    const url = await testDatabaseUrl();
    const stores = await Promise.all([
      openPostgresStore({ url }),
      openPostgresStore({ url }),
      openPostgresStore({ url }),
    ]);
    await Promise.all(stores.map((s) => s.close()));
    const sql = postgres(url, { onnotice: () => {} });
    try {
      const rows = await sql`SELECT id, name FROM mltrace_migrations ORDER BY id`;
      const files = await migrationFiles();
      expect(rows.map((r) => r.name)).toEqual(files.map((f) => f.name));
    } finally {
      await sql.end();
    }
  });

  it('create exactly the tables and columns the drizzle schema declares', async () => {
    const url = await testDatabaseUrl();
    await (await openPostgresStore({ url })).close();
    const sql = postgres(url, { onnotice: () => {} });
    try {
      const rows = await sql<{ table_name: string; column_name: string; is_nullable: string }[]>`
        SELECT table_name, column_name, is_nullable FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> 'mltrace_migrations'`;
      const actual = rows
        .map((r) => `${r.table_name}.${r.column_name}${r.is_nullable === 'NO' ? ' not null' : ''}`)
        .sort();
      const declared = Object.values(schema)
        .map((table) => getTableConfig(table))
        .flatMap((config) =>
          config.columns.map(
            (c) =>
              `${config.name}.${c.name}${c.notNull || c.primary || config.primaryKeys.some((pk) => pk.columns.includes(c)) ? ' not null' : ''}`,
          ),
        )
        .sort();
      expect(actual).toEqual(declared);
    } finally {
      await sql.end();
    }
  });
});

describe('opening a store', () => {
  it('names an unsupported database URL without a stack of driver errors', async () => {
    await expect(openStore({ url: 'mysql://u:secret@host/db' })).rejects.toThrow(ConfigError);
    const err = await openStore({ url: 'mysql://u:secret@host/db' }).then(
      () => new Error('opened'),
      (e: Error) => e,
    );
    expect(err.message).toBe('unsupported database URL "mysql://***@host/db"');
  });

  it('says which database could not be reached, without its password', async () => {
    const err = await openStore({ url: 'postgres://u:hunter2@127.0.0.1:1/lineage' }).then(
      () => new Error('opened'),
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toMatch(
      /^cannot open the lineage database postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/lineage/,
    );
    expect(err.message).not.toContain('hunter2');
  });

  it('opens the embedded store by default under MLTRACE_HOME', async () => {
    const { mkdtemp, readdir, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const home = await mkdtemp(join(tmpdir(), 'mltrace-home-'));
    try {
      const store = await openStore({ env: { MLTRACE_HOME: home } });
      await store.logRun({ component: 'c', startedAt: new Date() });
      await store.close();
      expect(await readdir(join(home, 'lineage'))).toContain('PG_VERSION');
      const again = await openStore({ env: { MLTRACE_HOME: home } });
      expect((await again.recent()).runs).toHaveLength(1);
      await again.close();
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
