import { readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import postgres from 'postgres';
import { examples, type Register } from '../command.js';
import type { CommandContext } from '../context.js';
import { plural } from '../render/format.js';
import { redactUrl } from './mltrace-import.js';

/** The store's committed migrations, by file name, in order (shipped in `@mltrace/store/migrations`). */
async function migrationNames(): Promise<string[]> {
  const entry = createRequire(import.meta.url).resolve('@mltrace/store');
  const names = await readdir(join(dirname(entry), '..', 'migrations'));
  return names.filter((name) => /^\d{4}_.+\.sql$/.test(name)).sort();
}

/** Migrations recorded as applied in a PostgreSQL database; undefined when it cannot be read. */
async function appliedOn(url: string): Promise<string[] | undefined> {
  const sql = postgres(url, { max: 1, connect_timeout: 10, onnotice: () => {} });
  try {
    const rows = await sql<{ name: string }[]>`SELECT name FROM mltrace_migrations ORDER BY id`;
    return rows.map((row) => row.name);
  } catch (error) {
    // No table yet: nothing applied. Anything else: let opening the store report it.
    return (error as { code?: string }).code === '42P01' ? [] : undefined;
  } finally {
    await sql.end({ timeout: 5 }).catch(() => {});
  }
}

async function isEmptyDir(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isDirectory()) return false;
    return (await readdir(path)).length === 0;
  } catch {
    return true;
  }
}

async function migrate(
  ctx: CommandContext,
): Promise<{ database: string; applied: string[] | null; migrations: string[] }> {
  const migrations = await migrationNames();
  const url = ctx.databaseUrl;
  if (url && /^postgres(ql)?:\/\//i.test(url)) {
    const before = await appliedOn(url);
    await ctx.store();
    const after = (await appliedOn(url)) ?? [];
    return {
      database: redactUrl(url),
      applied: before === undefined ? null : after.filter((name) => !before.includes(name)),
      migrations,
    };
  }
  if (url) {
    await ctx.store(); // reports the unsupported URL
  }
  const { defaultDataDir } = await import('@mltrace/store/pglite');
  const dir = defaultDataDir(ctx.io.env, ctx.io.cwd);
  const fresh = await isEmptyDir(dir);
  await ctx.store();
  // PGlite is only reachable through the store, which does not say what it applied: a fresh
  // directory got every migration; an existing one is up to date, but what changed is unknown.
  return { database: dir, applied: fresh ? migrations : null, migrations };
}

/** `mltrace migrate`: opens the store, which applies any pending migration, and says which. */
export const registerMigrate: Register = (program, wrap) => {
  program
    .command('migrate')
    .description(
      'create or upgrade the lineage database (every command does it too; this one says what it did)',
    )
    .option('--json', 'print {"database", "applied": string[] | null, "migrations": string[]}')
    .addHelpText(
      'after',
      examples('mltrace migrate', 'mltrace --db postgres://mltrace@db:5432/lineage migrate'),
    )
    .action(
      wrap(async (ctx, options: { json?: boolean }) => {
        const result = await migrate(ctx);
        if (options.json) {
          ctx.json(result);
          return 0;
        }
        for (const name of result.applied ?? []) ctx.out(`applied ${name}`);
        const latest = result.migrations[result.migrations.length - 1] ?? 'none';
        ctx.out(
          `${result.database} is up to date: ${plural(result.migrations.length, 'migration')}, the latest ${latest}` +
            (result.applied?.length === 0 ? ' (nothing to apply)' : ''),
        );
        return 0;
      }),
    );
};
