import {
  InvalidInputError,
  PROMOTION_OUTCOMES,
  type PromotionDecision,
  type PromotionDecisionInput,
  type PromotionOutcome,
} from '@mltrace/core';
import { sql } from 'drizzle-orm';
import type { Database } from './database.js';
import { jsonParam, parseJson, parseTextArray, where } from './rows.js';

interface DecisionRow {
  id: unknown;
  decision_key: string;
  model: string;
  candidate: string;
  previous_champion: string | null;
  alias: string;
  decision: string;
  policy: unknown;
  metrics: unknown;
  reasons: unknown;
  approver: string | null;
  approval_comment: string | null;
  run_id: unknown;
  decided_ms: unknown;
}

const COLUMNS = sql.raw(`d.id, d.decision_key, d.model, d.candidate, d.previous_champion, d.alias, d.decision,
  d.policy, d.metrics, d.reasons, d.approver, d.approval_comment, d.run_id,
  (extract(epoch FROM d.decided_at) * 1000)::float8 AS decided_ms`);

function toDecision(row: DecisionRow): PromotionDecision {
  return {
    id: Number(row.id),
    decisionKey: row.decision_key,
    model: row.model,
    candidate: row.candidate,
    previousChampion: row.previous_champion,
    alias: row.alias,
    decision: row.decision as PromotionOutcome,
    policy: (parseJson(row.policy) ?? {}) as Record<string, unknown>,
    metrics: (parseJson(row.metrics) ?? {}) as Record<string, unknown>,
    reasons: parseTextArray(row.reasons),
    approver: row.approver,
    approvalComment: row.approval_comment,
    runId: row.run_id === null || row.run_id === undefined ? null : Number(row.run_id),
    decidedAt: new Date(Number(row.decided_ms)),
  };
}

export async function recordPromotionDecision(
  db: Database,
  input: PromotionDecisionInput,
): Promise<PromotionDecision> {
  const where = `promotion decision ${input.decisionKey}`;
  if (!input.decisionKey || !input.model || !input.candidate) {
    throw new InvalidInputError(`${where}: decisionKey, model and candidate are required`);
  }
  if (!PROMOTION_OUTCOMES.includes(input.decision)) {
    throw new InvalidInputError(
      `${where}: unknown decision "${input.decision}" (use ${PROMOTION_OUTCOMES.join(', ')})`,
    );
  }
  if (!(input.decidedAt instanceof Date) || Number.isNaN(input.decidedAt.getTime())) {
    throw new InvalidInputError(`${where}: decidedAt must be a valid date`);
  }
  if (!Array.isArray(input.reasons) || input.reasons.some((r) => typeof r !== 'string')) {
    throw new InvalidInputError(`${where}: reasons must be a list of strings`);
  }
  let runId: number | null = null;
  if (input.runKey) {
    const rows = await db.rows<{ id: unknown }>(
      sql`SELECT id FROM component_runs WHERE run_key = ${input.runKey}`,
    );
    if (!rows[0]) throw new InvalidInputError(`${where}: no run with run key ${input.runKey}`);
    runId = Number(rows[0].id);
  }
  const rows = await db.rows<DecisionRow>(sql`
    WITH upserted AS (
      INSERT INTO promotion_decisions AS d (decision_key, model, candidate, previous_champion, alias, decision,
        policy, metrics, reasons, approver, approval_comment, run_id, decided_at)
      VALUES (${input.decisionKey}, ${input.model}, ${input.candidate}, ${input.previousChampion ?? null},
        ${input.alias ?? 'champion'}, ${input.decision}, ${jsonParam(input.policy ?? {})}, ${jsonParam(input.metrics ?? {})},
        ARRAY(SELECT jsonb_array_elements_text(${jsonParam(input.reasons)})), ${input.approver ?? null},
        ${input.approvalComment ?? null}, ${runId}, ${input.decidedAt.toISOString()}::timestamptz)
      ON CONFLICT (decision_key) DO UPDATE SET
        model = excluded.model, candidate = excluded.candidate, previous_champion = excluded.previous_champion,
        alias = excluded.alias, decision = excluded.decision, policy = excluded.policy, metrics = excluded.metrics,
        reasons = excluded.reasons, approver = excluded.approver, approval_comment = excluded.approval_comment,
        run_id = coalesce(excluded.run_id, d.run_id), decided_at = excluded.decided_at
      RETURNING *
    )
    SELECT ${COLUMNS} FROM upserted d`);
  return toDecision(rows[0]!);
}

export async function promotions(
  db: Database,
  filter: { model?: string; alias?: string; limit: number },
): Promise<PromotionDecision[]> {
  const rows = await db.rows<DecisionRow>(sql`SELECT ${COLUMNS} FROM promotion_decisions d
    ${where([
      filter.model !== undefined && sql`d.model = ${filter.model}`,
      filter.alias !== undefined && sql`d.alias = ${filter.alias}`,
    ])}
    ORDER BY d.decided_at DESC, d.id DESC LIMIT ${filter.limit}`);
  return rows.map(toDecision);
}
