import type { PromotionDecision } from '@mltrace/core';
import { formatPromotions } from '@mltrace/retraining/explain';
import { examples, type Register } from '../command.js';
import { positiveInt } from '../options.js';

/** The `--json` form of a decision (dates as ISO strings). */
function decisionJson(d: PromotionDecision) {
  return {
    id: d.id,
    decisionKey: d.decisionKey,
    model: d.model,
    alias: d.alias,
    candidate: d.candidate,
    previousChampion: d.previousChampion,
    decision: d.decision,
    reasons: d.reasons,
    policy: d.policy,
    metrics: d.metrics,
    approver: d.approver,
    approvalComment: d.approvalComment,
    decidedAt: d.decidedAt.toISOString(),
    runId: d.runId,
  };
}

/** `mltrace promotions [MODEL]`: the recorded promotion decisions and their reasons. */
export const registerPromotions: Register = (program, wrap) => {
  program
    .command('promotions')
    .description('model promotion decisions, newest first, with their reasons')
    .argument('[model]', 'only decisions about this registered model')
    .option('--alias <alias>', 'only decisions about this alias (e.g. champion)')
    .option('-n, --limit <n>', 'at most N decisions', positiveInt, 20)
    .option('--json', 'print {"decisions": [...]} (see the README)')
    .addHelpText(
      'after',
      examples('mltrace promotions', 'mltrace promotions taxi-tip --alias champion --json'),
    )
    .action(
      wrap(
        async (
          ctx,
          model: string | undefined,
          options: { alias?: string; limit: number; json?: boolean },
        ) => {
          const store = await ctx.store();
          const decisions = await store.promotions({
            ...(model ? { model } : {}),
            ...(options.alias ? { alias: options.alias } : {}),
            limit: options.limit,
          });
          if (options.json) {
            ctx.json({ decisions: decisions.map(decisionJson) });
            return 0;
          }
          ctx.out(formatPromotions(decisions).trimEnd());
          return 0;
        },
      ),
    );
};
