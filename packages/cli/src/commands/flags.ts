import { formatPointer, parsePointerSpec } from '@mltrace/core';
import { examples, type Register } from '../command.js';
import { UsageError } from '../errors.js';
import { positiveInt } from '../options.js';
import { runCard } from '../render/card.js';
import { plural, pointerLabel } from '../render/format.js';
import { reviewJson } from '../render/json.js';
import { VERSION_OPTION_HELP } from './lineage.js';

/** `flag`, `unflag`, `review`: mark bad outputs, and find the runs behind them. */
export const registerFlags: Register = (program, wrap) => {
  program
    .command('flag')
    .description('flag an output as bad (every version, or one), for `review`')
    .argument('<pointer>', 'the pointer to flag, as for `trace`')
    .option('--version <version>', VERSION_OPTION_HELP)
    .option('--json', 'print {"flagged": number}')
    .addHelpText(
      'after',
      examples('mltrace flag predictions/2024-05-01.csv', 'mltrace flag models/model.pkl@3f2a9c'),
    )
    .action(
      wrap(async (ctx, spec: string, options: { json?: boolean; version?: string }) => {
        const store = await ctx.store();
        const pointer = parsePointerSpec(
          spec,
          options.version === undefined ? {} : { version: options.version },
        );
        const count = await store.flag(pointer);
        if (options.json) ctx.json({ flagged: count });
        else ctx.out(`flagged ${formatPointer(pointer)} (${plural(count, 'version')})`);
        return 0;
      }),
    );

  program
    .command('unflag')
    .description('remove the flag from an output, or from everything with --all')
    .argument('[pointer]', 'the pointer to unflag, as for `trace`')
    .option('--version <version>', VERSION_OPTION_HELP)
    .option('--all', 'unflag every flagged pointer')
    .option('--json', 'print {"unflagged": number}')
    .addHelpText('after', examples('mltrace unflag predictions/2024-05-01.csv', 'mltrace unflag --all'))
    .action(
      wrap(
        async (
          ctx,
          spec: string | undefined,
          options: { all?: boolean; json?: boolean; version?: string },
        ) => {
          if (options.all && spec !== undefined) throw new UsageError('give a pointer or --all, not both');
          if (!options.all && spec === undefined) {
            throw new UsageError(
              'give the pointer to unflag, or --all',
              'mltrace unflag URI[@VERSION] | --all',
            );
          }
          const store = await ctx.store();
          const count =
            spec === undefined
              ? await store.unflagAll()
              : await store.unflag(
                  parsePointerSpec(spec, options.version === undefined ? {} : { version: options.version }),
                );
          if (options.json) ctx.json({ unflagged: count });
          else ctx.out(`unflagged ${plural(count, 'pointer')}`);
          return 0;
        },
      ),
    );

  program
    .command('review')
    .description('the flagged outputs, then the runs most likely behind them, most suspicious first')
    .option('-n, --limit <n>', 'show the N most suspicious runs', positiveInt, 5)
    .option('--json', 'print {"flagged": [...], "comparedUnflagged": n, "suspects": [...]} (see the README)')
    .addHelpText('after', examples('mltrace review', 'mltrace review --limit 10 --json'))
    .action(
      wrap(async (ctx, options: { limit: number; json?: boolean }) => {
        const store = await ctx.store();
        const review = await store.review({ limit: options.limit });
        if (options.json) {
          ctx.json(reviewJson(review));
          return 0;
        }
        const cwd = ctx.io.cwd;
        if (review.flagged.length === 0) {
          ctx.out('no flagged outputs; flag a bad one with `mltrace flag URI[@VERSION]`');
          return 0;
        }
        ctx.out(`${plural(review.flagged.length, 'flagged output')}:`);
        for (const pointer of review.flagged) ctx.out(`  ${pointerLabel(pointer, cwd)}`);
        ctx.out(
          '',
          `${plural(review.suspects.length, 'suspect')}, most suspicious first` +
            ` (compared with ${plural(review.comparedUnflagged, 'unflagged output')} of the same components):`,
        );
        const total = review.flagged.length;
        for (const [i, suspect] of review.suspects.entries()) {
          const coverage = Math.round(suspect.coverage * 10_000) / 100;
          const times = plural(suspect.flaggedCount, 'time');
          ctx.out(
            '',
            ...runCard(suspect.run, {
              cwd,
              extra: [
                `#${i + 1}  score ${suspect.score.toFixed(3)}  count ${suspect.flaggedCount}/${total}  coverage ${coverage}%`,
                `used ${times} in producing the flagged outputs, ${plural(suspect.unflaggedCount, 'time')} in the unflagged ones`,
              ],
            }),
          );
        }
        return 0;
      }),
    );
};
