import {
  type ComponentRun,
  NotFoundError,
  RUN_SOURCES,
  RUN_STATUSES,
  type RunSource,
  type RunStatus,
} from '@mltrace/core';
import type { LineageStore, RecentOptions, RunSummary } from '@mltrace/store';
import { Option } from 'commander';
import { examples, type Register } from '../command.js';
import { dateOption, positiveInt } from '../options.js';
import { runCard } from '../render/card.js';
import { displayUri, formatTime, plural, runDuration } from '../render/format.js';
import { runJson } from '../render/json.js';
import { renderTable } from '../render/table.js';

/** A run by id (digits) or run key; digits that are no id are tried as a key. */
export async function findRun(store: LineageStore, ref: string): Promise<ComponentRun> {
  const trimmed = ref.trim();
  if (/^\d+$/.test(trimmed)) {
    try {
      return await store.run(Number(trimmed));
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      try {
        return await store.run(trimmed);
      } catch {
        throw error;
      }
    }
  }
  return store.run(trimmed);
}

/** Loads the runs a run depends on, to name them on its card; `cache` shares them across cards. */
async function dependenciesOf(
  store: LineageStore,
  run: RunSummary,
  cache = new Map<number, Promise<ComponentRun | undefined>>(),
): Promise<RunSummary[]> {
  const found = await Promise.all(
    run.dependsOn.map((id) => {
      let dep = cache.get(id);
      if (!dep) {
        dep = store.run(id).catch(() => undefined);
        cache.set(id, dep);
      }
      return dep;
    }),
  );
  return found.filter((dep): dep is ComponentRun => dep !== undefined);
}

function outputsCell(run: RunSummary, cwd: string): string {
  const [first, ...rest] = run.outputs;
  if (!first) return '-';
  const name = displayUri(first.uri, cwd) + (first.version ? `@${first.version}` : '');
  return rest.length ? `${name} (+${rest.length})` : name;
}

/** The runs as a table, newest first. */
function runTable(runs: RunSummary[], cwd: string): string[] {
  return renderTable(
    ['ID', 'STARTED', 'DURATION', 'STATUS', 'COMPONENT', 'OUTPUTS'],
    runs.map((run) => [
      String(run.id),
      formatTime(run.startedAt),
      runDuration(run),
      `${run.status}${run.stale.length ? ' ⚠' : ''}`,
      run.component,
      outputsCell(run, cwd),
    ]),
  );
}

interface RecentCliOptions {
  limit: number;
  cursor?: string;
  component?: string;
  status?: RunStatus;
  source?: RunSource;
  json?: boolean;
}

interface HistoryCliOptions {
  limit: number;
  from?: Date;
  to?: Date;
  json?: boolean;
}

/** `recent`, `history`, `inspect`, `notes`: reading runs, and annotating one. */
export const registerRuns: Register = (program, wrap) => {
  program
    .command('recent')
    .description('the most recent runs, newest first, a page at a time')
    .option('-n, --limit <n>', 'runs per page (at most 1000)', positiveInt, 20)
    .option('--cursor <cursor>', 'the next page: the cursor the previous page printed')
    .option('--component <name>', 'only runs of this component')
    .addOption(new Option('--status <status>', 'only runs with this status').choices(RUN_STATUSES))
    .addOption(new Option('--source <source>', 'only runs logged by this source').choices(RUN_SOURCES))
    .option('--json', 'print {"runs": [...], "nextCursor": string | null} (see the README)')
    .addHelpText(
      'after',
      examples(
        'mltrace recent',
        'mltrace recent --component train --status failed --limit 5',
        'mltrace recent --cursor MTcxNDU2...',
      ),
    )
    .action(
      wrap(async (ctx, options: RecentCliOptions) => {
        const store = await ctx.store();
        const query: RecentOptions = { limit: options.limit };
        if (options.cursor !== undefined) query.cursor = options.cursor;
        if (options.component !== undefined) query.component = options.component;
        if (options.status !== undefined) query.status = options.status;
        if (options.source !== undefined) query.source = options.source;
        const page = await store.recent(query);
        if (options.json) {
          ctx.json({ runs: page.runs.map(runJson), nextCursor: page.nextCursor ?? null });
          return 0;
        }
        if (page.runs.length === 0) {
          ctx.out(options.cursor ? 'no more runs' : 'no runs yet; log one with `mltrace log COMPONENT`');
          return 0;
        }
        ctx.out(...runTable(page.runs, ctx.io.cwd));
        if (page.nextCursor) ctx.out('', `more: mltrace recent --cursor ${page.nextCursor}`);
        return 0;
      }),
    );

  program
    .command('history')
    .description("a component's runs, newest first")
    .argument('<component>', 'the component name')
    .option('-n, --limit <n>', 'at most N runs (at most 1000)', positiveInt, 10)
    .option('--from <iso-time>', 'only runs that started at or after this time', dateOption)
    .option('--to <iso-time>', 'only runs that started at or before this time', dateOption)
    .option('--json', 'print {"component": string, "runs": [...]} (see the README)')
    .addHelpText(
      'after',
      examples(
        'mltrace history train',
        'mltrace history train --from 2024-05-01 --to 2024-05-31T23:59:59Z --limit 50',
      ),
    )
    .action(
      wrap(async (ctx, component: string, options: HistoryCliOptions) => {
        const store = await ctx.store();
        const runs = await store.history(component, {
          limit: options.limit,
          ...(options.from ? { from: options.from } : {}),
          ...(options.to ? { to: options.to } : {}),
        });
        if (runs.length === 0 && !(await store.components()).some((c) => c.name === component)) {
          throw new NotFoundError(`no component named "${component}"`, {
            hint: 'list them with `mltrace components`',
          });
        }
        if (options.json) {
          ctx.json({ component, runs: runs.map(runJson) });
          return 0;
        }
        if (runs.length === 0) {
          ctx.out(`no runs of ${component}${options.from || options.to ? ' in that time range' : ''}`);
          return 0;
        }
        ctx.out(`${plural(runs.length, 'run')} of ${component}, newest first`, '');
        const cache = new Map<number, Promise<ComponentRun | undefined>>();
        for (const [i, run] of runs.entries()) {
          if (i > 0) ctx.out('');
          ctx.out(
            ...runCard(run, { cwd: ctx.io.cwd, dependencies: await dependenciesOf(store, run, cache) }),
          );
        }
        return 0;
      }),
    );

  program
    .command('inspect')
    .description("one run's card: status, times, inputs, outputs, dependencies, warnings, notes")
    .argument('<run>', 'a run id or run key')
    .option('--code', 'also print the code snapshot')
    .option('--json', 'print {"run": {...}, "dependencies": [...]} (see the README)')
    .addHelpText(
      'after',
      examples('mltrace inspect 42', 'mltrace inspect temporal:default/retrain-1/8f3c/3/1 --code'),
    )
    .action(
      wrap(async (ctx, ref: string, options: { code?: boolean; json?: boolean }) => {
        const store = await ctx.store();
        const run = await findRun(store, ref);
        const dependencies = await dependenciesOf(store, run);
        if (options.json) {
          ctx.json({
            run: { ...runJson(run), codeSnapshot: options.code ? run.codeSnapshot : null },
            dependencies: dependencies.map((dep) => ({
              id: dep.id,
              runKey: dep.runKey,
              component: dep.component,
              status: dep.status,
              startedAt: dep.startedAt.toISOString(),
            })),
          });
          return 0;
        }
        ctx.out(
          ...runCard(run, {
            cwd: ctx.io.cwd,
            dependencies,
            ...(options.code ? { code: run.codeSnapshot } : {}),
          }),
        );
        return 0;
      }),
    );

  program
    .command('notes')
    .description("replace a run's notes")
    .argument('<run>', 'a run id or run key')
    .argument('<text>', 'the notes (quote them)')
    .addHelpText('after', examples('mltrace notes 42 "retrained after the schema fix"'))
    .action(
      wrap(async (ctx, ref: string, text: string) => {
        const store = await ctx.store();
        const run = await findRun(store, ref);
        await store.setNotes(run.id, text);
        ctx.out(`noted run ${run.id} of ${run.component}`);
        return 0;
      }),
    );
};
