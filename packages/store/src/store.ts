import {
  type Component,
  InvalidInputError,
  NotFoundError,
  RUN_SOURCES,
  RUN_STATUSES,
  type RunStatus,
} from '@mltrace/core';
import { sql } from 'drizzle-orm';
import type {
  HistoryOptions,
  LineageStore,
  RecentOptions,
  RunPage,
  RunSummary,
  StoreOptions,
} from './api.js';
import type { Database } from './database.js';
import { findPointers, impact, trace } from './graph.js';
import { migrate } from './migrate.js';
import { promotions, recordPromotionDecision } from './promotions.js';
import { redactingWrites } from './redact.js';
import { review } from './review.js';
import { anyId, asComponentRun, jsonParam, loadRuns, parseJson, parseTextArray, where } from './rows.js';
import { writeRuns } from './write.js';

const DEFAULT_STALENESS_MS = 30 * 86_400_000;
/** Upper bound of every page size, so no request can ask for the whole table. */
export const MAX_PAGE = 1_000;

function pageSize(limit: number | undefined, fallback: number): number {
  const n = limit ?? fallback;
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidInputError(`limit must be a positive integer, got ${limit}`);
  return Math.min(n, MAX_PAGE);
}

function toComponent(row: { name: string; description: string; owner: string; tags: unknown }): Component {
  return { name: row.name, description: row.description, owner: row.owner, tags: parseTextArray(row.tags) };
}

function encodeCursor(run: RunSummary): string {
  return Buffer.from(`${run.startedAt.getTime()}:${run.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { ms: number; id: number } {
  const [ms, id] = Buffer.from(cursor, 'base64url').toString().split(':').map(Number);
  if (!Number.isFinite(ms) || !Number.isFinite(id)) throw new InvalidInputError('invalid page cursor');
  return { ms: ms as number, id: id as number };
}

const ANALYZED_TABLES = sql.raw('component_runs, io_pointers, run_inputs, run_outputs, run_dependencies');

/**
 * Keeps the planner's statistics fresh. PGlite runs no autovacuum, and PostgreSQL's lags a bulk
 * load by up to a minute; without statistics the planner misjudges every join. So: ANALYZE when a
 * table was never analyzed, and again whenever the runs written since the last one exceed 10% of
 * the table (at least 100, about autovacuum's own threshold). Early, while a small store grows
 * fast, that matters most: plans made for near-empty tables scan them whole, and a prepared
 * statement keeps its plan until an ANALYZE invalidates it. (300 single runs then 700 in
 * batches: 0.8 ms per batched run with the old floor of 1,000, 0.16 ms with 100.)
 */
async function keepStatistics(db: Database): Promise<{ wrote(count: number): Promise<void> }> {
  const analyze = async () => {
    await db.rows(sql`ANALYZE ${ANALYZED_TABLES}`);
    const [row] = await db.rows<{ tuples: unknown }>(
      sql`SELECT reltuples AS tuples FROM pg_class WHERE oid = 'component_runs'::regclass`,
    );
    return Math.max(0, Number(row?.tuples ?? 0));
  };
  const [row] = await db.rows<{ tuples: unknown }>(
    sql`SELECT reltuples AS tuples FROM pg_class WHERE oid = 'component_runs'::regclass`,
  );
  let analyzedAt = Number(row?.tuples ?? -1) < 0 ? await analyze() : Number(row?.tuples);
  let written = 0;
  return {
    async wrote(count) {
      written += count;
      if (written < Math.max(100, analyzedAt * 0.1)) return;
      written = 0;
      analyzedAt = await analyze();
    },
  };
}

/** Opens the store over a driver: applies pending migrations, then serves the operations. */
export async function createStore(database: Database, options: StoreOptions = {}): Promise<LineageStore> {
  const { applied } = await migrate(database);
  const statistics = await keepStatistics(database);
  const cwd = options.cwd ?? process.cwd();
  const stalenessThresholdMs = options.stalenessThresholdMs ?? DEFAULT_STALENESS_MS;
  const db = database;

  const componentRows = (where: ReturnType<typeof sql>) =>
    db.rows<{ name: string; description: string; owner: string; tags: unknown }>(
      sql`SELECT name, description, owner, tags FROM components ${where} ORDER BY name`,
    );

  const store: LineageStore = {
    migrated: applied,

    async createComponent(component) {
      const rows = await db.rows<{ name: string; description: string; owner: string; tags: unknown }>(sql`
          INSERT INTO components (name, description, owner, tags)
          VALUES (${component.name}, ${component.description ?? ''}, ${component.owner ?? ''},
                  ARRAY(SELECT DISTINCT jsonb_array_elements_text(${jsonParam(component.tags ?? [])}) ORDER BY 1))
          ON CONFLICT (name) DO UPDATE SET
            description = CASE WHEN ${component.description ?? null}::text IS NULL THEN components.description ELSE excluded.description END,
            owner = CASE WHEN ${component.owner ?? null}::text IS NULL THEN components.owner ELSE excluded.owner END,
            tags = ARRAY(SELECT DISTINCT unnest(components.tags || excluded.tags) ORDER BY 1)
          RETURNING name, description, owner, tags`);
      return toComponent(rows[0]!);
    },

    async tagComponent(name, tags) {
      return store.createComponent({ name, tags });
    },

    async components(filter = {}) {
      const rows = await componentRows(
        where([
          filter.tag !== undefined && sql`tags @> ARRAY[${filter.tag}]::text[]`,
          filter.owner !== undefined && sql`owner = ${filter.owner}`,
        ]),
      );
      return rows.map(toComponent);
    },

    async component(name) {
      const [row] = await componentRows(sql`WHERE name = ${name}`);
      if (!row)
        throw new NotFoundError(`no component named ${name}`, {
          hint: 'list components with `mltrace components`',
        });
      return toComponent(row);
    },

    async countRuns() {
      const rows = await db.rows<{ component: string; status: string; count: unknown; stale: unknown }>(
        sql`SELECT component, status, count(*) AS count, count(*) FILTER (WHERE cardinality(stale) > 0) AS stale
            FROM component_runs GROUP BY component, status ORDER BY 1, 2`,
      );
      return rows.map((row) => ({
        component: row.component,
        status: row.status as RunStatus,
        count: Number(row.count),
        stale: Number(row.stale),
      }));
    },

    async tags() {
      const rows = await db.rows<{ tag: string }>(
        sql`SELECT DISTINCT unnest(tags) AS tag FROM components ORDER BY 1`,
      );
      return rows.map((row) => row.tag);
    },

    async logRun(run) {
      const { runs } = await store.logRuns([run]);
      return runs[0]!;
    },

    async logRuns(runs) {
      const result = await writeRuns(db, runs, { cwd, stalenessThresholdMs });
      await statistics.wrote(result.runs.length);
      return result;
    },

    async setNotes(runId, notes) {
      const rows = await db.rows(
        sql`UPDATE component_runs SET notes = ${notes} WHERE id = ${runId} RETURNING id`,
      );
      if (rows.length === 0) throw new NotFoundError(`no run with id ${runId}`);
    },

    async run(idOrKey) {
      const rows = await db.rows<{ id: unknown }>(
        typeof idOrKey === 'number'
          ? sql`SELECT id FROM component_runs WHERE id = ${idOrKey}`
          : sql`SELECT id FROM component_runs WHERE run_key = ${idOrKey}`,
      );
      const [run] = rows.length ? await loadRuns(db, [Number(rows[0]?.id)], { withCode: true }) : [];
      if (!run) {
        throw new NotFoundError(`no run with ${typeof idOrKey === 'number' ? 'id' : 'run key'} ${idOrKey}`, {
          hint: 'list runs with `mltrace recent`',
        });
      }
      return asComponentRun(run);
    },

    async history(component, options: HistoryOptions = {}) {
      const limit = pageSize(options.limit, 10);
      const rows = await db.rows<{ id: unknown }>(sql`SELECT id FROM component_runs
        ${where([
          sql`component = ${component}`,
          options.from && sql`started_at >= ${options.from.toISOString()}::timestamptz`,
          options.to && sql`started_at <= ${options.to.toISOString()}::timestamptz`,
        ])}
        ORDER BY started_at DESC, id DESC LIMIT ${limit}`);
      return loadRuns(
        db,
        rows.map((row) => Number(row.id)),
      );
    },

    async recent(options: RecentOptions = {}): Promise<RunPage> {
      const limit = pageSize(options.limit, 20);
      if (options.status && !RUN_STATUSES.includes(options.status)) {
        throw new InvalidInputError(`unknown status "${options.status}" (use ${RUN_STATUSES.join(', ')})`);
      }
      if (options.source && !RUN_SOURCES.includes(options.source)) {
        throw new InvalidInputError(`unknown source "${options.source}" (use ${RUN_SOURCES.join(', ')})`);
      }
      const after = options.cursor ? decodeCursor(options.cursor) : undefined;
      const rows = await db.rows<{ id: unknown }>(sql`SELECT id FROM component_runs
        ${where([
          after &&
            sql`(started_at, id) < (${new Date(after.ms).toISOString()}::timestamptz, ${after.id}::bigint)`,
          options.component !== undefined && sql`component = ${options.component}`,
          options.status !== undefined && sql`status = ${options.status}`,
          options.source !== undefined && sql`source = ${options.source}`,
        ])}
        ORDER BY started_at DESC, id DESC LIMIT ${limit + 1}`);
      const runs = await loadRuns(
        db,
        rows.slice(0, limit).map((row) => Number(row.id)),
      );
      const last = runs[runs.length - 1];
      return rows.length > limit && last ? { runs, nextCursor: encodeCursor(last) } : { runs };
    },

    pointers(uri) {
      return findPointers(db, { uri }, cwd);
    },

    trace(pointer, options = {}) {
      return trace(db, pointer, { ...options, cwd });
    },

    impact(pointer, options = {}) {
      return impact(db, pointer, { ...options, cwd });
    },

    async flag(pointer) {
      const ids = (await findPointers(db, pointer, cwd)).map((p) => p.id);
      if (ids.length === 0)
        throw new NotFoundError(`no pointer ${pointer.uri}${pointer.version ? `@${pointer.version}` : ''}`);
      const rows = await db.rows(sql`UPDATE io_pointers SET flag = true
        WHERE NOT flag AND id = ${anyId(ids)} RETURNING id`);
      return rows.length;
    },

    async unflag(pointer) {
      const ids = (await findPointers(db, pointer, cwd)).map((p) => p.id);
      if (ids.length === 0)
        throw new NotFoundError(`no pointer ${pointer.uri}${pointer.version ? `@${pointer.version}` : ''}`);
      const rows = await db.rows(sql`UPDATE io_pointers SET flag = false
        WHERE flag AND id = ${anyId(ids)} RETURNING id`);
      return rows.length;
    },

    async unflagAll() {
      return (await db.rows(sql`UPDATE io_pointers SET flag = false WHERE flag RETURNING id`)).length;
    },

    review(options = {}) {
      return review(db, { limit: pageSize(options.limit, 20) });
    },

    recordPromotionDecision(decision) {
      return recordPromotionDecision(db, decision);
    },

    promotions(filter = {}) {
      return promotions(db, { ...filter, limit: pageSize(filter.limit, 50) });
    },

    async getSyncState<T>(source: string) {
      const rows = await db.rows<{ state: unknown }>(
        sql`SELECT state FROM sync_state WHERE source = ${source}`,
      );
      const state = rows[0]?.state;
      if (state === undefined) return undefined;
      return parseJson(state) as T;
    },

    async setSyncState(source, state) {
      await db.rows(sql`INSERT INTO sync_state (source, state) VALUES (${source}, ${jsonParam(state)})
        ON CONFLICT (source) DO UPDATE SET state = excluded.state, updated_at = now()`);
    },

    close() {
      return db.close();
    },
  };
  return redactingWrites(store);
}
