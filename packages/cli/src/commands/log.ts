import { type ComponentRunInput, parsePointerSpec, RUN_STATUSES, type RunStatus } from '@mltrace/core';
import { Option } from 'commander';
import { examples, type Register } from '../command.js';
import { UsageError } from '../errors.js';
import { collect, dateOption } from '../options.js';

interface LogOptions {
  input: string[];
  output: string[];
  start?: Date;
  end?: Date;
  runKey?: string;
  status?: RunStatus;
  notes?: string;
  gitCommit?: string;
  dependsOn: string[];
  json?: boolean;
}

/** `mltrace log COMPONENT`: logs one run from the shell. */
export const registerLog: Register = (program, wrap) => {
  program
    .command('log')
    .description('log one run of a component: its inputs, outputs and times')
    .argument('<component>', 'the component (pipeline step) that ran')
    .option('-i, --input <uri[@version]>', 'an input pointer (repeatable)', collect, [])
    .option('-o, --output <uri[@version]>', 'an output pointer (repeatable)', collect, [])
    .option('--start <iso-time>', 'when it started (ISO 8601; no offset = UTC) (default: now)', dateOption)
    .option('--end <iso-time>', 'when it ended (default: now; none for a running or pending run)', dateOption)
    .option('--run-key <key>', 'a unique key; logging the same key again updates that run (default: random)')
    .addOption(new Option('--status <status>', 'the run status (default: succeeded)').choices(RUN_STATUSES))
    .option('--notes <text>', 'free-form notes')
    .option('--git-commit <sha>', 'the git commit the code ran at')
    .option(
      '--depends-on <run-key>',
      'an explicit upstream run, beyond those inferred from inputs (repeatable)',
      collect,
      [],
    )
    .option('--json', 'print the result as JSON: {"id", "runKey", "created", "stale"}')
    .addHelpText(
      'after',
      examples(
        'mltrace log clean --input raw.csv --output clean.csv',
        'mltrace log train -i features.parquet@3f2a9c -o models/model.pkl --git-commit $(git rev-parse HEAD)',
        'mltrace log train --run-key nightly-2024-05-01 --start 2024-05-01T02:00:00Z --end 2024-05-01T02:40:00Z -o model.pkl',
      ),
    )
    .action(
      wrap(async (ctx, component: string, options: LogOptions) => {
        const now = new Date();
        const status = options.status ?? 'succeeded';
        const startedAt = options.start ?? now;
        const unfinished = status === 'running' || status === 'pending';
        const endedAt = options.end ?? (unfinished ? null : startedAt > now ? startedAt : now);
        if (endedAt && endedAt < startedAt) {
          throw new UsageError('--end is before --start');
        }
        const run: ComponentRunInput = {
          component,
          startedAt,
          endedAt,
          status,
          inputs: options.input.map((spec) => parsePointerSpec(spec)),
          outputs: options.output.map((spec) => parsePointerSpec(spec)),
        };
        if (options.runKey !== undefined) run.runKey = options.runKey;
        if (options.notes !== undefined) run.notes = options.notes;
        if (options.gitCommit !== undefined) run.gitCommit = options.gitCommit;
        if (options.dependsOn.length) run.dependsOn = options.dependsOn;
        const store = await ctx.store();
        const result = await store.logRun(run);
        const logged = await store.run(result.id);
        if (options.json) {
          ctx.json({ id: result.id, runKey: result.runKey, created: result.created, stale: logged.stale });
          return 0;
        }
        ctx.out(
          `${result.created ? 'logged' : 'updated'} run ${result.id} of ${component} (${result.runKey})`,
        );
        if (logged.dependsOn.length) ctx.out(`  depends on run ${logged.dependsOn.join(', run ')}`);
        for (const warning of logged.stale) ctx.out(`  ⚠ ${warning}`);
        return 0;
      }),
    );
};
