import type { PromotionDecision } from '@mltrace/core';
import {
  formatPromotions,
  formatRegistryMoves,
  type RegistryMove,
  registryMoves,
} from '@mltrace/retraining/explain';
import { examples, type Register } from '../command.js';
import { dateOption, positiveInt } from '../options.js';

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

/** The `--json` form of a registry move. */
function moveJson(m: RegistryMove) {
  return { ...m, at: m.at.toISOString(), reason: null };
}

/** `mltrace promotions [MODEL]`: the recorded promotion decisions and their reasons. */
export const registerPromotions: Register = (program, wrap) => {
  program
    .command('promotions')
    .description(
      'model promotions, newest first: the retraining decisions with their reasons, and the alias and stage moves synced from MLflow',
    )
    .argument('[model]', 'only decisions about this registered model')
    .option('--alias <alias>', 'only decisions about this alias (e.g. champion)')
    .option('--since <time>', 'only promotions at or after this time (ISO date)', dateOption)
    .option('--until <time>', 'only promotions at or before this time (ISO date)', dateOption)
    .option('-n, --limit <n>', 'at most N decisions and N registry moves', positiveInt, 20)
    .option('--json', 'print {"decisions": [...], "registryMoves": [...]} (see the README)')
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
          const store = await ctx.store();
          const filter = {
            ...(model ? { model } : {}),
            ...(options.alias ? { alias: options.alias } : {}),
          };
          const inTime = (at: Date) =>
            (!options.since || at >= options.since) && (!options.until || at <= options.until);
          const decisions = (
            await store.promotions({
              ...filter,
              limit: options.since || options.until ? 1000 : options.limit,
            })
          )
            .filter((d) => inTime(d.decidedAt))
            .slice(0, options.limit);
          const moves = await registryMoves({
            store,
            ...filter,
            ...(options.since ? { from: options.since } : {}),
            ...(options.until ? { to: options.until } : {}),
            limit: options.limit,
          });
          if (options.json) {
            ctx.json({ decisions: decisions.map(decisionJson), registryMoves: moves.map(moveJson) });
            return 0;
          }
          if (decisions.length === 0 && moves.length > 0) {
            ctx.out('no retraining decisions recorded; registry moves synced from MLflow:\n');
            ctx.out(formatRegistryMoves(moves).trimEnd());
            return 0;
          }
          ctx.out(formatPromotions(decisions).trimEnd());
          if (moves.length > 0) {
            ctx.out('\nRegistry moves synced from MLflow:\n');
            ctx.out(formatRegistryMoves(moves, decisions).trimEnd());
          }
          return 0;
        },
      ),
    );
};
