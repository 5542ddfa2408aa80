import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { examples, type Register } from '../command.js';
import type { CommandContext } from '../context.js';
import { plural } from '../render/format.js';

/** What `mltrace migrate --json` prints. */
export interface MigrateResult {
  /** The PostgreSQL URL (password redacted) or the embedded store's directory. */
  database: string;
  /** The migrations this run applied, by file name, in order (empty when the schema was current). */
  applied: string[];
  /** Every migration the store ships, in order. */
  migrations: string[];
}

/** The store's committed migrations, by file name, in order (shipped in `@mltrace/store/migrations`). */
async function migrationNames(): Promise<string[]> {
  const entry = createRequire(import.meta.url).resolve('@mltrace/store');
  const names = await readdir(join(dirname(entry), '..', 'migrations'));
  return names.filter((name) => /^\d{4}_.+\.sql$/.test(name)).sort();
}

async function migrate(ctx: CommandContext): Promise<MigrateResult> {
  // Opening the store applies what is pending, and says which (on either driver).
  const store = await ctx.store();
  const migrations = await migrationNames();
  const url = ctx.databaseUrl;
  let database: string;
  if (url) {
    const { redactUrl } = await import('@mltrace/store/postgres');
    database = redactUrl(url);
  } else {
    const { defaultDataDir } = await import('@mltrace/store');
    database = defaultDataDir(ctx.io.env, ctx.io.cwd);
  }
  return { database, applied: [...store.migrated], migrations };
}

/** `mltrace migrate`: opens the store, which applies any pending migration, and says which. */
export const registerMigrate: Register = (program, wrap) => {
  program
    .command('migrate')
    .description(
      'create or upgrade the lineage database (every command does it too; this one says what it did)',
    )
    .option('--json', 'print {"database", "applied": string[], "migrations": string[]}')
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
        for (const name of result.applied) ctx.out(`applied ${name}`);
        const latest = result.migrations[result.migrations.length - 1] ?? 'none';
        ctx.out(
          `${result.database} is up to date: ${plural(result.migrations.length, 'migration')}, the latest ${latest}` +
            (result.applied.length === 0 ? ' (nothing to apply)' : ''),
        );
        return 0;
      }),
    );
};
