import type { Promotion } from '@mltrace/store';
import { examples, type Register } from '../command.js';
import { dateOption, positiveInt } from '../options.js';

/** The `--json` form of a timeline entry: what `GET /api/v1/promotions` answers (dates as ISO strings). */
export function promotionJson(p: Promotion) {
  return { ...p, at: p.at.toISOString(), detectedAt: p.detectedAt?.toISOString() ?? null };
}

/** `mltrace promotions [MODEL]`: every promotion, decided by the retraining workflow or moved in MLflow. */
export const registerPromotions: Register = (program, wrap) => {
  program
    .command('promotions')
    .description(
      'model promotions, newest first: the retraining decisions with their reasons, and the alias and stage moves synced from MLflow, in one list',
    )
    .argument('[model]', 'only promotions of this registered model')
    .option('--alias <alias>', 'only promotions of this alias or stage (e.g. champion, Production)')
    .option('--since <time>', 'only promotions at or after this time (ISO date)', dateOption)
    .option('--until <time>', 'only promotions at or before this time (ISO date)', dateOption)
    .option('-n, --limit <n>', 'at most N promotions', positiveInt, 20)
    .option('--json', 'print {"promotions": [...]}, as GET /api/v1/promotions answers (see the README)')
    .addHelpText(
      'after',
      examples('mltrace promotions', 'mltrace promotions taxi-tip --alias champion --json'),
    )
    .action(
      wrap(
        async (
          ctx,
          model: string | undefined,
          options: { alias?: string; since?: Date; until?: Date; limit: number; json?: boolean },
        ) => {
          // Loaded here, not at start-up: `mltrace --help` loads no store (test/startup.test.ts).
          const { promotionTimeline } = await import('@mltrace/store');
          const { formatTimeline } = await import('@mltrace/retraining/explain');
          const store = await ctx.store();
          const promotions = await promotionTimeline(store, {
            ...(model ? { model } : {}),
            ...(options.alias ? { alias: options.alias } : {}),
            ...(options.since ? { since: options.since } : {}),
            ...(options.until ? { until: options.until } : {}),
            limit: options.limit,
          });
          if (options.json) {
            ctx.json({ promotions: promotions.map(promotionJson) });
            return 0;
          }
          ctx.out(formatTimeline(promotions).trimEnd());
          return 0;
        },
      ),
    );
};
