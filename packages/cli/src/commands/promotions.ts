import type { PromotionDecision } from '@mltrace/core';
import { examples, type Register } from '../command.js';
import { positiveInt } from '../options.js';
import { formatTime } from '../render/format.js';

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
          if (decisions.length === 0) {
            ctx.out('no promotion decisions recorded');
            return 0;
          }
          for (const [i, d] of decisions.entries()) {
            if (i > 0) ctx.out('');
            const over = d.previousChampion ? `version ${d.previousChampion}` : 'no champion';
            ctx.out(
              `${formatTime(d.decidedAt)}  models:/${d.model}@${d.alias}  version ${d.candidate} over ${over}: ${d.decision}` +
                (d.approver ? ` by ${d.approver}` : ''),
            );
            for (const reason of d.reasons) ctx.out(`  - ${reason}`);
            if (d.approvalComment) ctx.out(`  comment: ${d.approvalComment}`);
            if (d.runId !== null) ctx.out(`  decided by run ${d.runId} (mltrace inspect ${d.runId})`);
          }
          return 0;
        },
      ),
    );
};
