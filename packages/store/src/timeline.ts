import type { PromotionDecision } from '@mltrace/core';
import type { LineageStore } from './api.js';

/**
 * One change of who holds a model's alias or stage, or a decision about it: the retraining
 * workflow's decisions (with their reasons) and the registry moves `mltrace sync mlflow` records
 * as `promote` runs (alias set, moved or removed; stage transitions), in one shape.
 */
export interface Promotion {
  /** `decision`: recorded by the retraining workflow; `alias` / `stage`: a move synced from the MLflow registry. */
  kind: 'decision' | 'alias' | 'stage';
  model: string;
  /** The alias (`champion`) of a decision or an alias move; null for a stage transition. */
  alias: string | null;
  /** The stage (`Production`) of a stage transition; null otherwise. */
  stage: string | null;
  /** The decision (`promote`, `reject`, `awaiting_approval`...) or the move (`set`, `moved`, `removed`, `transition`). */
  action: string;
  /** The version(s) that held it before (empty: none). */
  from: string[];
  /** The candidate of a decision, or the version holding it after the move (null: alias removed). */
  to: string | null;
  /**
   * When it was decided, or when MLflow says the stage changed; aliases carry no time in MLflow,
   * so for an alias move this is when the sync saw it.
   */
  at: Date;
  /** When `mltrace sync mlflow` saw the move (null for decisions, and stage moves synced before it was recorded). */
  detectedAt: Date | null;
  /** The approver of a decision, or who made the move where MLflow records it; null when nobody is recorded. */
  who: string | null;
  /** Why, one line per rule or metric; empty when no reason was recorded (a move made by hand in MLflow). */
  reasons: string[];
  /** The decision's id; for a move, the id of the recorded decision that made it (its reasons are there). */
  decisionId: number | null;
  approvalComment: string | null;
  policy: Record<string, unknown> | null;
  metrics: Record<string, unknown> | null;
  /** The ComponentRun behind the entry (the deciding run, or the synced `promote` run). */
  runId: number | null;
}

/** Options of {@link promotionTimeline}. */
export interface PromotionTimelineOptions {
  /** Only this registered model. */
  model?: string;
  /** Only this alias (or stage name). */
  alias?: string;
  /** Only entries at or after this time. */
  since?: Date;
  /** Only entries at or before this time. */
  until?: Date;
  /** @default 50 */
  limit?: number;
  /** At most this many synced `promote` runs are read (newest first). @default 10_000 */
  scanLimit?: number;
}

const MOVES_ALIAS = new Set(['promote', 'approved']);

function decisionEntry(d: PromotionDecision): Promotion {
  return {
    kind: 'decision',
    model: d.model,
    alias: d.alias,
    stage: null,
    action: d.decision,
    from: d.previousChampion ? [d.previousChampion] : [],
    to: d.candidate,
    at: d.decidedAt,
    detectedAt: null,
    who: d.approver,
    reasons: d.reasons,
    decisionId: d.id,
    approvalComment: d.approvalComment,
    policy: d.policy,
    metrics: d.metrics,
    runId: d.runId,
  };
}

interface MoveMetadata {
  model?: unknown;
  kind?: unknown;
  action?: unknown;
  alias?: unknown;
  stage?: unknown;
  version?: unknown;
  previousVersion?: unknown;
  previousVersions?: unknown;
  detectedAt?: unknown;
  user?: unknown;
}

const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

function date(value: unknown): Date | null {
  const s = str(value);
  if (!s) return null;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * Every promotion of a model in one list, newest first: the store's promotion decisions and the
 * registry moves synced from MLflow. A move the retraining workflow made (same model, alias and
 * version, at or after a decision that promoted) names that decision in `decisionId`.
 * Used by `mltrace promotions`, `GET /api/v1/promotions` and the web UI alike.
 */
export async function promotionTimeline(
  store: LineageStore,
  options: PromotionTimelineOptions = {},
): Promise<Promotion[]> {
  const limit = options.limit ?? 50;
  const scanLimit = options.scanLimit ?? 10_000;
  const inTime = (at: Date) =>
    (!options.since || at >= options.since) && (!options.until || at <= options.until);
  // Read enough decisions to filter by time, and to name the decision behind a registry move.
  const promoting = await store.promotions({
    ...(options.model === undefined ? {} : { model: options.model }),
    ...(options.alias === undefined ? {} : { alias: options.alias }),
    limit: Math.max(limit, 1000),
  });
  const decisions = promoting.filter((d) => inTime(d.decidedAt)).slice(0, limit);
  const entries = decisions.map(decisionEntry);
  const decided = new Set(decisions.map((d) => d.runId).filter((id) => id !== null));

  let cursor: string | undefined;
  let scanned = 0;
  let moves = 0;
  while (scanned < scanLimit && moves < limit) {
    const page = await store.recent({
      component: 'promote',
      source: 'mlflow',
      limit: Math.min(500, scanLimit - scanned),
      ...(cursor === undefined ? {} : { cursor }),
    });
    scanned += page.runs.length;
    for (const run of page.runs) {
      if (decided.has(run.id)) continue;
      const m = run.metadata as MoveMetadata;
      const model = str(m.model);
      if (!model || (m.kind !== 'alias' && m.kind !== 'stage')) continue;
      const name = (m.kind === 'alias' ? str(m.alias) : str(m.stage)) ?? '';
      if (options.model !== undefined && model !== options.model) continue;
      if (options.alias !== undefined && name !== options.alias) continue;
      const detectedAt = date(m.detectedAt);
      const at = m.kind === 'alias' ? (detectedAt ?? run.startedAt) : run.startedAt;
      if (!inTime(at)) continue;
      const action = str(m.action) ?? (m.kind === 'alias' ? 'set' : 'transition');
      const to = action === 'removed' ? null : (str(m.version) ?? null);
      const previous = str(m.previousVersion);
      const from =
        m.kind === 'alias'
          ? previous
            ? [previous]
            : []
          : Array.isArray(m.previousVersions)
            ? m.previousVersions.filter((v): v is string => typeof v === 'string')
            : [];
      const decision =
        m.kind === 'alias'
          ? promoting.find(
              (d) =>
                d.model === model &&
                d.alias === name &&
                d.candidate === to &&
                MOVES_ALIAS.has(d.decision) &&
                d.decidedAt.getTime() <= at.getTime(),
            )
          : undefined;
      entries.push({
        kind: m.kind,
        model,
        alias: m.kind === 'alias' ? name : null,
        stage: m.kind === 'stage' ? name : null,
        action,
        from,
        to,
        at,
        detectedAt,
        who: str(m.user) ?? null,
        reasons: [],
        decisionId: decision?.id ?? null,
        approvalComment: null,
        policy: null,
        metrics: null,
        runId: run.id,
      });
      moves += 1;
    }
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  return entries
    .sort((a, b) => b.at.getTime() - a.at.getTime() || (b.runId ?? 0) - (a.runId ?? 0))
    .slice(0, limit);
}
