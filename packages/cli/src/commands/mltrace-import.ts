import {
  type ComponentRunInput,
  ConfigError,
  InvalidInputError,
  NotFoundError,
  type PointerInput,
  type PointerType,
  UnavailableError,
} from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';
import { redactUrl } from '@mltrace/store/postgres';
import postgres from 'postgres';
import type { CommandContext } from '../context.js';
import { plural } from '../render/format.js';

/** The mltrace 0.17 tables an import reads (SQLAlchemy's names). */
const REQUIRED_TABLES = [
  'components',
  'component_runs',
  'io_pointers',
  'component_runs_inputs',
  'component_runs_outputs',
  'component_run_dependencies',
];

const POINTER_TYPES: Record<string, PointerType> = {
  DATA: 'data',
  MODEL: 'model',
  ENDPOINT: 'endpoint',
  UNKNOWN: 'unknown',
};

/** What a copy from mltrace did. */
export interface MltraceImportSummary {
  /** `host:port/database`: the part of every run key that names the source. */
  database: string;
  components: number;
  imported: number;
  created: number;
  updated: number;
  flagged: number;
  skipped: Array<{ runId: number; error: string }>;
}

/** Checks an mltrace URL (SQLAlchemy's `postgresql+psycopg2://` accepted) and names its database. */
export function parseMltraceUrl(raw: string): { url: string; database: string } {
  const url = raw.trim().replace(/^postgresql\+\w+:\/\//i, 'postgresql://');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new ConfigError(`--from-mltrace: not a valid URL: ${redactUrl(url)}`, {
      cause,
      hint: "use mltrace's DB_URI, e.g. postgresql://admin:admin@localhost:5432/sqlalchemy",
    });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError(
      `--from-mltrace needs a PostgreSQL URL (postgresql://...), got ${parsed.protocol}//`,
      {
        hint: "mltrace 0.17 keeps its runs in PostgreSQL; use its DB_URI (SQLite test stores can't be imported)",
      },
    );
  }
  const name = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || parsed.username || 'postgres';
  return { url, database: `${parsed.hostname}:${parsed.port || '5432'}/${name}` };
}

/** Orders run ids so that each comes after the runs it depends on, by id otherwise. */
export function dependencyOrder(ids: number[], deps: Map<number, number[]>): number[] {
  const known = new Set(ids);
  const state = new Map<number, 'visiting' | 'done'>();
  const order: number[] = [];
  for (const root of [...ids].sort((a, b) => a - b)) {
    if (state.has(root)) continue;
    state.set(root, 'visiting');
    const stack = [{ id: root, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { id: number; next: number };
      const upstream = deps.get(top.id) ?? [];
      if (top.next < upstream.length) {
        const dep = upstream[top.next++] as number;
        // A dependency being visited closes a cycle: its edge is kept, the order cannot honour it.
        if (known.has(dep) && !state.has(dep)) {
          state.set(dep, 'visiting');
          stack.push({ id: dep, next: 0 });
        }
      } else {
        state.set(top.id, 'done');
        order.push(top.id);
        stack.pop();
      }
    }
  }
  return order;
}

interface RunRow {
  id: number;
  component_name: string;
  notes: string | null;
  git_hash: string | null;
  code_snapshot: Uint8Array | null;
  started_ms: number | null;
  ended_ms: number | null;
}

interface IoRow {
  run_id: number;
  name: string;
  version: string;
  type: string | null;
}

function unavailable(cause: unknown, redacted: string): UnavailableError {
  return new UnavailableError(`cannot read the mltrace database ${redacted}: ${(cause as Error).message}`, {
    cause,
    hint: 'check the URL, and that PostgreSQL runs there and the user may read the database',
  });
}

/** Copies an mltrace 0.17 database into the store, idempotently (one run key per mltrace run). */
export async function copyMltrace(
  store: LineageStore,
  rawUrl: string,
  options: { batchSize: number; onProgress?: (done: number, total: number) => void },
): Promise<MltraceImportSummary> {
  const { url, database } = parseMltraceUrl(rawUrl);
  const redacted = redactUrl(url);
  const sql = postgres(url, { max: 2, connect_timeout: 10, idle_timeout: 5, onnotice: () => {} });
  const runKey = (id: number) => `mltrace:${database}/${id}`;
  const summary: MltraceImportSummary = {
    database,
    components: 0,
    imported: 0,
    created: 0,
    updated: 0,
    flagged: 0,
    skipped: [],
  };
  // Every failure to read mltrace's database (unreachable, refused login) is `unavailable`.
  const read = async <T>(query: PromiseLike<T>): Promise<T> => {
    try {
      return await query;
    } catch (cause) {
      const code = (cause as { code?: unknown }).code;
      if (typeof code === 'string' && /^(E[A-Z]+|CONNECT_TIMEOUT|CONNECTION_\w+|28\w{3}|3D000)$/.test(code)) {
        throw unavailable(cause, redacted);
      }
      throw cause;
    }
  };
  try {
    const tables = (
      await read(sql<{ table_name: string }[]>`SELECT table_name FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_name IN ${sql(REQUIRED_TABLES)}`)
    ).map((row) => row.table_name);
    const missing = REQUIRED_TABLES.filter((table) => !tables.includes(table));
    if (missing.length > 0) {
      throw new NotFoundError(`${redacted} is not an mltrace database: no ${missing.join(', ')} table`, {
        hint: "give the database mltrace's DB_URI names",
      });
    }
    const hasTags =
      (
        await read(sql`SELECT 1 FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_name = 'component_tags'`)
      ).length > 0;

    const components = await read(sql<{ name: string; description: string | null; owner: string | null }[]>`
      SELECT name, description, owner FROM components ORDER BY name`);
    const tags = hasTags
      ? await read(
          sql<
            { component_name: string; tag_name: string }[]
          >`SELECT component_name, tag_name FROM component_tags ORDER BY 1, 2`,
        )
      : [];
    for (const component of components) {
      await store.createComponent({
        name: component.name,
        description: component.description ?? '',
        owner: component.owner ?? '',
        tags: [...new Set(tags.filter((t) => t.component_name === component.name).map((t) => t.tag_name))],
      });
    }
    summary.components = components.length;

    const ids = (await read(sql<{ id: number }[]>`SELECT id FROM component_runs`)).map((row) =>
      Number(row.id),
    );
    const deps = new Map<number, number[]>();
    const edges = await read(sql<{ run: number; dep: number }[]>`
      SELECT component_run_id AS run, depends_on_component_run_id AS dep
      FROM component_run_dependencies ORDER BY 1, 2`);
    for (const edge of edges) {
      deps.set(Number(edge.run), [...(deps.get(Number(edge.run)) ?? []), Number(edge.dep)]);
    }
    const order = dependencyOrder(ids, deps);

    for (let start = 0; start < order.length; start += options.batchSize) {
      const chunk = order.slice(start, start + options.batchSize);
      const [rows, inputs, outputs] = await read(
        Promise.all([
          sql<RunRow[]>`SELECT id, component_name, notes, git_hash, code_snapshot,
            (extract(epoch FROM start_timestamp) * 1000)::float8 AS started_ms,
            (extract(epoch FROM end_timestamp) * 1000)::float8 AS ended_ms
          FROM component_runs WHERE id IN ${sql(chunk)}`,
          sql<IoRow[]>`SELECT l.component_run_id AS run_id, l.input_path_name AS name,
            encode(l.input_path_value, 'hex') AS version, p.pointer_type::text AS type
          FROM component_runs_inputs l
          LEFT JOIN io_pointers p ON p.name = l.input_path_name AND p.value = l.input_path_value
          WHERE l.component_run_id IN ${sql(chunk)}`,
          sql<IoRow[]>`SELECT l.component_run_id AS run_id, l.output_path_name AS name,
            encode(l.output_path_value, 'hex') AS version, p.pointer_type::text AS type
          FROM component_runs_outputs l
          LEFT JOIN io_pointers p ON p.name = l.output_path_name AND p.value = l.output_path_value
          WHERE l.component_run_id IN ${sql(chunk)}`,
        ]),
      );
      const byRun = (list: IoRow[]) => {
        const out = new Map<number, PointerInput[]>();
        for (const row of list) {
          const pointer: PointerInput = { uri: row.name, version: row.version ?? '' };
          const type = row.type ? POINTER_TYPES[row.type] : undefined;
          if (type) pointer.type = type;
          out.set(Number(row.run_id), [...(out.get(Number(row.run_id)) ?? []), pointer]);
        }
        return out;
      };
      const inputsOf = byRun(inputs);
      const outputsOf = byRun(outputs);
      const rowsById = new Map(rows.map((row) => [Number(row.id), row]));
      const batch: Array<{ id: number; run: ComponentRunInput }> = [];
      for (const id of chunk) {
        const row = rowsById.get(id);
        if (!row) continue;
        if (row.started_ms === null) {
          summary.skipped.push({ runId: id, error: 'it has no start timestamp' });
          continue;
        }
        const run: ComponentRunInput = {
          component: row.component_name,
          runKey: runKey(id),
          source: 'mltrace',
          status: 'succeeded',
          startedAt: new Date(Number(row.started_ms)),
          endedAt: row.ended_ms === null ? null : new Date(Number(row.ended_ms)),
          notes: row.notes ?? '',
          metadata: { mltrace: { database, runId: id } },
          inputs: inputsOf.get(id) ?? [],
          outputs: outputsOf.get(id) ?? [],
          dependsOn: (deps.get(id) ?? []).map(runKey),
          inferDependencies: false,
        };
        if (row.git_hash) run.gitCommit = row.git_hash;
        if (row.code_snapshot && row.code_snapshot.length > 0) {
          run.codeSnapshot = Buffer.from(row.code_snapshot).toString('utf8');
        }
        batch.push({ id, run });
      }
      await writeBatch(store, batch, summary);
      options.onProgress?.(Math.min(start + chunk.length, order.length), order.length);
    }

    const flaggedPointers = await read(sql<{ name: string; version: string }[]>`
      SELECT name, encode(value, 'hex') AS version FROM io_pointers WHERE flag ORDER BY name`);
    for (const pointer of flaggedPointers) {
      try {
        summary.flagged += await store.flag({ uri: pointer.name, version: pointer.version });
      } catch (error) {
        // A flagged pointer no run read or wrote was not copied: there is nothing to flag.
        if (!(error instanceof NotFoundError)) throw error;
      }
    }
    return summary;
  } finally {
    await sql.end({ timeout: 5 }).catch(() => {});
  }
}

async function writeBatch(
  store: LineageStore,
  batch: Array<{ id: number; run: ComponentRunInput }>,
  summary: MltraceImportSummary,
): Promise<void> {
  if (batch.length === 0) return;
  const count = (results: Array<{ created: boolean }>) => {
    for (const result of results) {
      summary.imported++;
      if (result.created) summary.created++;
      else summary.updated++;
    }
  };
  try {
    count((await store.logRuns(batch.map((b) => b.run))).runs);
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    for (const { id, run } of batch) {
      try {
        count((await store.logRuns([run])).runs);
      } catch (runError) {
        if (!(runError instanceof InvalidInputError)) throw runError;
        summary.skipped.push({ runId: id, error: runError.message.replace(/^run \S+: /, '') });
      }
    }
  }
}

/** `mltrace import --from-mltrace URL`. */
export async function importFromMltrace(
  ctx: CommandContext,
  url: string,
  options: { batchSize: number; json: boolean },
): Promise<number> {
  parseMltraceUrl(url);
  const store = await ctx.store();
  let summary: MltraceImportSummary;
  try {
    summary = await copyMltrace(store, url, {
      batchSize: options.batchSize,
      onProgress: (done, total) => ctx.progress(`copied ${done}/${total} mltrace runs…`),
    });
  } finally {
    ctx.progress(undefined);
  }
  if (options.json) ctx.json(summary);
  else {
    for (const { runId, error } of summary.skipped) ctx.err(`mltrace run ${runId}: ${error}`);
    ctx.out(
      `copied ${plural(summary.imported, 'run')} from mltrace ${summary.database} ` +
        `(${summary.created} new, ${summary.updated} updated), ${plural(summary.components, 'component')}, ` +
        `${plural(summary.flagged, 'flagged pointer')}${summary.skipped.length ? `, ${summary.skipped.length} skipped` : ''}`,
    );
  }
  if (summary.skipped.length === 0) return 0;
  ctx.err(
    `mltrace: error: ${plural(summary.skipped.length, 'mltrace run')} could not be copied (the others were)`,
  );
  return 2;
}
