import type { LineageStore, RunSummary } from '@mltrace/store';

/** One entry of a model's promotion timeline. */
export interface PromotionEntry {
  model: string;
  /** The candidate model version the decision is about. */
  version: string | null;
  /** The alias the decision moves (`champion`...), when known. */
  alias: string | null;
  /** What was decided: `promote`, `reject`, `awaiting_approval`..., or for runs `registered`/`promoted`. */
  decision: string;
  /** Why, one line per rule or metric. */
  reasons: string[];
  previousChampion: string | null;
  approver: string | null;
  /** What the approver wrote, for decisions made by a person. */
  approvalComment: string | null;
  policy: Record<string, unknown> | null;
  metrics: Record<string, unknown> | null;
  decidedAt: Date;
  /** The ComponentRun behind the entry, when there is one. */
  runId: number | null;
  /** Where the entry comes from: the store's promotion decisions, or runs (until the store has them). */
  origin: 'decisions' | 'runs';
}

/** Components whose MLflow runs make up the interim timeline. */
export const PROMOTION_COMPONENTS = ['promote', 'register'] as const;

function text(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** Model name and version of a run: from metadata, its MLflow run key, or its `models:/` pointers. */
export function modelOfRun(run: RunSummary): { model?: string; version?: string; alias?: string } {
  const m = run.metadata;
  let model = text(m.model) ?? text(m.modelName) ?? text(m.registeredModel) ?? text(m.name);
  let version = text(m.version) ?? text(m.candidate) ?? text(m.modelVersion);
  let alias = text(m.alias);
  // mlflow:<server>/<model>/<version>/<event>/<timestamp>
  const key = /^mlflow:[^/]+\/(.+)\/([^/]+)\/[^/]+\/[^/]+$/.exec(run.runKey);
  if (key) {
    model ??= key[1];
    version ??= key[2];
  }
  for (const p of [...run.outputs, ...run.inputs]) {
    const uri = /^models:\/([^/@]+)(?:\/([^/@]+)|@([^/@]+))?/.exec(p.uri);
    if (!uri) continue;
    model ??= uri[1];
    version ??= uri[2] ?? (p.version || undefined);
    alias ??= uri[3];
  }
  return {
    ...(model === undefined ? {} : { model }),
    ...(version === undefined ? {} : { version }),
    ...(alias === undefined ? {} : { alias }),
  };
}

function reasonsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((r) => (typeof r === 'string' ? r : JSON.stringify(r)));
  if (typeof value === 'string' && value !== '') return [value];
  return [];
}

function record(value: unknown): Record<string, unknown> | null {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

/** A run of `promote` or `register` as a timeline entry. */
export function promotionFromRun(run: RunSummary): PromotionEntry {
  const { model, version, alias } = modelOfRun(run);
  const m = run.metadata;
  return {
    model: model ?? run.component,
    version: version ?? null,
    alias: alias ?? null,
    decision: text(m.decision) ?? text(m.event) ?? (run.component === 'register' ? 'registered' : 'promoted'),
    reasons: reasonsOf(m.reasons),
    previousChampion: text(m.previousChampion) ?? null,
    approver: text(m.approver) ?? null,
    approvalComment: text(m.approvalComment) ?? null,
    policy: record(m.policy),
    metrics: record(m.metrics),
    decidedAt: run.endedAt ?? run.startedAt,
    runId: run.id,
    origin: 'runs',
  };
}

/**
 * A model's promotion timeline, newest first: the store's promotion decisions merged with MLflow runs of the `promote` and `register` components (registrations and
 * alias moves synced from the registry; at most `scanLimit` runs of each are scanned). A run a
 * decision links to appears once, as the decision.
 */
export async function promotionTimeline(
  store: LineageStore,
  options: { model?: string; limit: number; scanLimit?: number },
): Promise<PromotionEntry[]> {
  const entries: PromotionEntry[] = [];
  {
    const rows = await store.promotions({
      ...(options.model === undefined ? {} : { model: options.model }),
      limit: options.limit,
    });
    for (const d of rows) {
      entries.push({
        model: d.model,
        version: d.candidate,
        alias: d.alias,
        decision: d.decision,
        reasons: d.reasons,
        previousChampion: d.previousChampion,
        approver: d.approver,
        approvalComment: d.approvalComment,
        policy: d.policy,
        metrics: d.metrics,
        decidedAt: d.decidedAt,
        runId: d.runId,
        origin: 'decisions',
      });
    }
  }
  const decided = new Set(entries.map((e) => e.runId).filter((id) => id !== null));
  const scanLimit = options.scanLimit ?? 5_000;
  for (const component of PROMOTION_COMPONENTS) {
    let cursor: string | undefined;
    let scanned = 0;
    let found = 0;
    while (scanned < scanLimit && found < options.limit) {
      const page = await store.recent({
        component,
        source: 'mlflow',
        limit: Math.min(500, scanLimit - scanned),
        ...(cursor === undefined ? {} : { cursor }),
      });
      scanned += page.runs.length;
      for (const run of page.runs) {
        const entry = promotionFromRun(run);
        if (options.model !== undefined && entry.model !== options.model) continue;
        if (decided.has(run.id)) continue;
        entries.push(entry);
        found += 1;
      }
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
  }
  return entries
    .sort((a, b) => b.decidedAt.getTime() - a.decidedAt.getTime() || (b.runId ?? 0) - (a.runId ?? 0))
    .slice(0, options.limit);
}
