import { sql } from 'drizzle-orm';
import type { Review } from './api.js';
import type { Database } from './database.js';
import { DEFAULT_MAX_DEPTH } from './graph.js';
import { loadRuns, type PointerRow, toPointer } from './rows.js';

/** How many unflagged outputs of the flagged outputs' components are traced for comparison. */
const UNFLAGGED_SAMPLE = 200;

/**
 * Ranks the runs behind flagged outputs. mltrace counted, per run, the flagged traces containing
 * it; that blames a run every output shares (the one cleaning job) as much as the culprit. So we
 * also trace recent unflagged outputs of the same components and score each run with Ochiai's
 * coefficient from spectrum-based fault localisation: flagged / sqrt(totalFlagged * (flagged + unflagged)).
 */
export async function review(db: Database, options: { limit?: number } = {}): Promise<Review> {
  const flaggedRows = await db.rows<PointerRow>(
    sql`SELECT id, uri, version, type, flag FROM io_pointers WHERE flag ORDER BY uri, version`,
  );
  const flagged = flaggedRows.map(toPointer);
  if (flagged.length === 0) return { flagged, comparedUnflagged: 0, suspects: [] };

  const counts = await db.rows<{
    run_id: unknown;
    flagged_count: unknown;
    unflagged_count: unknown;
    unflagged_total: unknown;
  }>(sql`
    WITH RECURSIVE
    flagged_starts AS (
      SELECT p.id AS start_id, true AS flagged, prod.run_id
      FROM io_pointers p
      CROSS JOIN LATERAL (
        SELECT r.id AS run_id FROM run_outputs o JOIN component_runs r ON r.id = o.run_id
        WHERE o.pointer_id = p.id ORDER BY r.started_at DESC, r.id DESC LIMIT 1) prod
      WHERE p.flag
    ),
    unflagged_starts AS (
      SELECT DISTINCT ON (o.pointer_id) -o.pointer_id AS start_id, false AS flagged, o.run_id
      FROM run_outputs o
      JOIN io_pointers p ON p.id = o.pointer_id AND NOT p.flag
      WHERE o.run_id IN (
        SELECT r.id FROM component_runs r
        WHERE r.component IN (SELECT c.component FROM flagged_starts f JOIN component_runs c ON c.id = f.run_id)
        ORDER BY r.started_at DESC LIMIT ${UNFLAGGED_SAMPLE})
      ORDER BY o.pointer_id, o.run_id DESC
    ),
    starts AS (
      SELECT start_id, flagged, run_id FROM flagged_starts
      UNION ALL SELECT start_id, flagged, run_id FROM unflagged_starts
    ),
    walk(start_id, flagged, run_id, depth) AS (
      SELECT start_id, flagged, run_id, 0 FROM starts
      UNION
      SELECT w.start_id, w.flagged, d.depends_on_run_id, w.depth + 1
      FROM walk w
      -- one run's edges by index per step (see graph.ts)
      CROSS JOIN LATERAL (SELECT d.depends_on_run_id FROM run_dependencies d WHERE d.run_id = w.run_id OFFSET 0) d
      WHERE w.depth < ${DEFAULT_MAX_DEPTH}
    )
    SELECT run_id,
      count(DISTINCT start_id) FILTER (WHERE flagged) AS flagged_count,
      count(DISTINCT start_id) FILTER (WHERE NOT flagged) AS unflagged_count,
      (SELECT count(*) FROM unflagged_starts) AS unflagged_total
    FROM walk GROUP BY run_id`);

  const totalFlagged = flagged.length;
  const scored = counts
    .map((row) => {
      const flaggedCount = Number(row.flagged_count);
      const unflaggedCount = Number(row.unflagged_count);
      const score =
        flaggedCount === 0 ? 0 : flaggedCount / Math.sqrt(totalFlagged * (flaggedCount + unflaggedCount));
      return { runId: Number(row.run_id), flaggedCount, unflaggedCount, score };
    })
    .filter((s) => s.flaggedCount > 0)
    .sort((a, b) => b.score - a.score || b.flaggedCount - a.flaggedCount || b.runId - a.runId)
    .slice(0, options.limit ?? 20);
  const runs = new Map(
    (
      await loadRuns(
        db,
        scored.map((s) => s.runId),
      )
    ).map((run) => [run.id, run]),
  );
  return {
    flagged,
    comparedUnflagged: Number(counts[0]?.unflagged_total ?? 0),
    suspects: scored.flatMap((s) => {
      const run = runs.get(s.runId);
      if (!run) return [];
      return [
        {
          run,
          flaggedCount: s.flaggedCount,
          coverage: s.flaggedCount / totalFlagged,
          unflaggedCount: s.unflaggedCount,
          score: s.score,
        },
      ];
    }),
  };
}
