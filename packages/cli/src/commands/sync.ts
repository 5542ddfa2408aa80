import { resolve } from 'node:path';
import type { Logger } from '@mltrace/core';
import type { DvcSyncProgress } from '@mltrace/dvc';
import type { MlflowSyncProgress, MlflowSyncSummary } from '@mltrace/mlflow';
import { InvalidArgumentError } from 'commander';
import { examples, type Register } from '../command.js';
import type { CommandContext } from '../context.js';
import { reportError } from '../errors.js';
import { plural } from '../render/format.js';
import { progressBar } from '../render/progress.js';
import { mlflowClient } from '../services.js';

interface SyncDvcCliOptions {
  rev?: string;
  full?: boolean;
  gto: boolean;
  experiments: boolean;
  json?: boolean;
}

interface SyncMlflowCliOptions {
  model?: string;
  filter?: string;
  watch?: boolean;
  /** In ms. @default 60_000 */
  interval?: number;
  cwd?: string;
  json?: boolean;
}

/** commander parser of an interval: seconds (`90`), or with a unit (`90s`, `5m`, `1h`); in ms. */
export function intervalOption(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(value.trim());
  const unit = (match?.[2] ?? 's').toLowerCase();
  const ms = match ? Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]! : Number.NaN;
  if (!Number.isFinite(ms) || ms < 1000) {
    throw new InvalidArgumentError(`"${value}" is not an interval of a second or more (e.g. 60, 30s, 5m)`);
  }
  return ms;
}

function dvcProgress(ctx: CommandContext) {
  return (event: DvcSyncProgress) => {
    if (event.phase === 'read') ctx.progress(progressBar('reading commits', event.done, event.total));
    else if (event.phase === 'write') ctx.progress(progressBar('writing runs', event.done, event.total));
    else if (event.phase === 'tags') ctx.progress(`reading GTO tags: ${plural(event.total, 'promotion')}…`);
    else ctx.progress(undefined);
  };
}

function mlflowProgress(ctx: CommandContext) {
  return (event: MlflowSyncProgress) => {
    if (event.phase === 'listed') {
      ctx.progress(`${plural(event.models, 'registered model')}, ${event.changed} changed…`);
    } else if (event.phase === 'model') {
      ctx.progress(progressBar(`syncing ${event.model}`, event.done, event.total));
    } else if (event.phase === 'done') {
      ctx.progress(undefined);
    }
  };
}

/**
 * The logger given to `syncDvc`: it logs each problem of the summary as a warning too (with its
 * `commit`), which the summary prints already; those go to the debug level.
 */
function dvcLogger(ctx: CommandContext): Logger {
  return {
    ...ctx.logger,
    warn: (message, fields) =>
      fields && 'commit' in fields ? ctx.logger.debug(message, fields) : ctx.logger.warn(message, fields),
  };
}

async function syncDvcCommand(ctx: CommandContext, repo: string | undefined, options: SyncDvcCliOptions) {
  const { formatSummary, syncDvc } = await import('@mltrace/dvc');
  const store = await ctx.store();
  let summary: Awaited<ReturnType<typeof syncDvc>>;
  try {
    summary = await syncDvc({
      store,
      repo: resolve(ctx.io.cwd, repo ?? '.'),
      ...(options.rev !== undefined ? { rev: options.rev } : {}),
      full: options.full ?? false,
      gto: options.gto,
      experiments: options.experiments,
      onProgress: dvcProgress(ctx),
      logger: dvcLogger(ctx),
    });
  } finally {
    ctx.progress(undefined);
  }
  if (options.json) ctx.json(summary);
  else ctx.out(formatSummary(summary));
  if (summary.errors.length === 0) return 0;
  // File problems name a file; the others are experiment refs that are not experiments.
  const files = summary.errors.filter((e) => e.file !== undefined).length;
  const refs = summary.errors.length - files;
  const parts = [
    ...(files > 0
      ? [`${plural(files, 'DVC file')} could not be read at ${files === 1 ? 'its commit' : 'their commits'}`]
      : []),
    ...(refs > 0
      ? [
          `${plural(refs, 'ref')} under refs/exps/ ${refs === 1 ? 'is not an experiment' : 'are not experiments'}`,
        ]
      : []),
  ];
  ctx.err(`mltrace: error: ${parts.join('; ')} (the rest was synced)`);
  return 2;
}

async function syncMlflowCommand(ctx: CommandContext, options: SyncMlflowCliOptions) {
  const { formatSummary, syncMlflow, watchMlflow } = await import('@mltrace/mlflow');
  const client = await mlflowClient(ctx);
  const store = await ctx.store();
  const sync = {
    store,
    client,
    env: ctx.io.env,
    cwd: resolve(ctx.io.cwd, options.cwd ?? '.'),
    logger: ctx.logger,
    ...(options.model !== undefined ? { model: options.model } : {}),
    ...(options.filter !== undefined ? { filter: options.filter } : {}),
  };
  const print = (summary: MlflowSyncSummary) => {
    // One JSON document per sync: NDJSON in --watch mode.
    if (options.json) ctx.io.stdout.write(`${JSON.stringify(summary, null, options.watch ? 0 : 2)}\n`);
    else ctx.out(formatSummary(summary));
  };
  if (!options.watch) {
    try {
      print(await syncMlflow({ ...sync, onProgress: mlflowProgress(ctx) }));
    } finally {
      ctx.progress(undefined);
    }
    return 0;
  }
  const intervalMs = options.interval ?? 60_000;
  const signal = ctx.stopSignal();
  ctx.err(
    `mltrace: watching ${client.trackingUri} every ${intervalMs / 1000} s; Ctrl-C (SIGINT) or SIGTERM stops`,
  );
  await watchMlflow({
    ...sync,
    intervalMs,
    signal,
    onProgress: mlflowProgress(ctx),
    onSync: (summary) => {
      ctx.progress(undefined);
      print(summary);
    },
    onError: (error) => {
      ctx.progress(undefined);
      // One line per failed sync; the loop goes on (what was written stays, with its cursor).
      reportError(error, ctx.io.stderr, false);
    },
  });
  ctx.progress(undefined);
  ctx.err('mltrace: stopped watching');
  return 0;
}

/** `mltrace sync dvc` and `mltrace sync mlflow`: lineage from DVC's git history and MLflow's registry. */
export const registerSync: Register = (program, wrap) => {
  const sync = program
    .command('sync')
    .description('bring lineage in from DVC (git history) or MLflow (the Model Registry)')
    .addHelpText('after', examples('mltrace sync dvc', 'mltrace sync mlflow --model taxi-tip'));

  sync
    .command('dvc')
    .description(
      'record the DVC history of a git repository: each data version (.dvc files), each stage run (dvc.lock), each experiment (dvc exp run, refs/exps) and each GTO promotion tag, at its commit; incremental (only commits not synced before)',
    )
    .argument('[repo]', 'the repository (any directory of its working tree)', '.')
    .option('--rev <range>', 'a revision (default HEAD), or a range A..B synced as given (leaves the cursor)')
    .option('--full', 'read the whole history again, ignoring what was synced (still writes nothing twice)')
    .option('--no-gto', 'skip GTO tags (model registry promotions)')
    .option('--no-experiments', 'skip DVC experiments (the refs `dvc exp run` keeps under refs/exps/)')
    .option('--json', 'print the sync summary as JSON (see the README)')
    .addHelpText(
      'after',
      `${examples('mltrace sync dvc', 'mltrace sync dvc ../taxi --rev v1.0..main --json', 'mltrace sync dvc --full --no-gto')}
A DVC file that cannot be read at a commit (malformed YAML, an unknown lock schema), or a ref
under refs/exps/ that is not an experiment, is reported and skipped; the rest is synced, and the
exit code is 2. Experiment runs are marked in \`mltrace trace\`; an experiment applied and
committed, or made a branch, is one run.
`,
    )
    .action(wrap((ctx, repo: string, options: SyncDvcCliOptions) => syncDvcCommand(ctx, repo, options)));

  sync
    .command('mlflow')
    .description(
      'record the MLflow Model Registry: each model version (with its training run and datasets) and each alias move or stage transition; incremental',
    )
    .option('--model <name>', 'only this registered model (re-reads all its versions)')
    .option('--filter <expr>', `only the models an MLflow filter selects, e.g. "name LIKE 'fraud-%'"`)
    .option('--watch', 'sync again every --interval until SIGINT/SIGTERM')
    .option(
      '--interval <time>',
      'with --watch: seconds between syncs, or 30s, 5m, 1h (default 60s)',
      intervalOption,
    )
    .option('--cwd <dir>', 'the directory relative dataset paths are resolved against (where training ran)')
    .option('--json', 'print the sync summary as JSON (one line per sync with --watch)')
    .addHelpText(
      'after',
      `${examples(
        'mltrace sync mlflow',
        'MLFLOW_TRACKING_URI=http://127.0.0.1:5000 mltrace sync mlflow --model taxi-tip --json',
        'mltrace sync mlflow --watch --interval 5m',
      )}
Environment:
  MLFLOW_TRACKING_URI         the tracking server, http(s)://HOST:PORT (required)
  MLFLOW_TRACKING_TOKEN       a bearer token, or
  MLFLOW_TRACKING_USERNAME    with MLFLOW_TRACKING_PASSWORD, basic authentication
`,
    )
    .action(wrap((ctx, options: SyncMlflowCliOptions) => syncMlflowCommand(ctx, options)));
};
