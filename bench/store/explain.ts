/**
 * Why ours is as fast as it is: a diagnostic pass on PostgreSQL after the benchmark, on a
 * database of its own (the timed databases never load auto_explain).
 *
 * 1. Builds the large store with `logRuns`, then turns on auto_explain (EXPLAIN ANALYZE of every
 *    statement the store runs, logged by the server) for new sessions and opens a second store:
 *    one more `logRuns` batch and one `logRun`, then a trace of the longest sampled lineage as
 *    ingested (no statistics yet) and after ANALYZE. The captured plans are the store's own
 *    queries, unmodified.
 * 2. "What if" variants, run by hand with EXPLAIN ANALYZE: the same queries as
 *    packages/store/src/graph.ts and rows.ts, changed as the report suggests (id lists as
 *    bigint[]; the walk with hash and merge joins off), to show the suggested fix works.
 *
 * Returns notes for the report, and every captured plan (for bench/results/store.explain.txt).
 */
import type { ComponentRunInput } from '@mltrace/core';
import { openPostgresStore } from '@mltrace/store/postgres';
import type { BenchPostgres } from './postgres.js';
import { toRunInputs } from './systems.js';
import type { Workload } from './workloads.js';

interface Logged {
  ms: number;
  query: string;
  plan: string;
}

/** Splits the server log into auto_explain entries. */
function parsePlans(log: string): Logged[] {
  const out: Logged[] = [];
  const parts = log.split(/^.*LOG: {2}duration: /m).slice(1);
  for (const part of parts) {
    const ms = Number.parseFloat(part);
    const body = part.replace(/^[\d.]+ ms {2}plan:\n/, '');
    const query =
      /Query Text: ([\s\S]*?)\n\t(?:Query Parameters|[A-Z][a-zA-Z ]+ {2}\(cost)/.exec(body)?.[1] ?? body;
    out.push({ ms, query: query.replace(/\s+/g, ' ').trim(), plan: body.replace(/\n+$/, '') });
  }
  return out;
}

/** A short name for one of the store's statements. */
function label(query: string): string {
  const q = query.replace(/\s+/g, ' ');
  const rules: Array<[RegExp, string]> = [
    [/^INSERT INTO components/, 'insert components'],
    [/^INSERT INTO component_runs/, 'insert component_runs'],
    [/^INSERT INTO io_pointers/, 'insert io_pointers'],
    [/^SELECT p\.id, p\.uri, p\.version FROM io_pointers/, 'select pointer ids'],
    [/^INSERT INTO run_outputs/, 'insert run_outputs'],
    [/^INSERT INTO run_inputs/, 'insert run_inputs'],
    [/^WITH candidates AS/, 'infer dependencies + staleness'],
    [/^UPDATE component_runs r SET stale/, 'update stale'],
    [/^SELECT id, uri, version, type, flag FROM io_pointers/, 'trace: find pointer'],
    [/^SELECT r\.id FROM run_outputs o JOIN component_runs r/, 'trace: latest producer'],
    [/^WITH RECURSIVE walk/, 'trace: walk (recursive CTE)'],
    [/^SELECT r\.id, r\.run_key/, 'trace: load runs'],
    [/^SELECT l\.run_id, p\.id, p\.uri, p\.version, p\.type, p\.flag FROM run_inputs/, 'trace: load inputs'],
    [
      /^SELECT l\.run_id, p\.id, p\.uri, p\.version, p\.type, p\.flag FROM run_outputs/,
      'trace: load outputs',
    ],
    [/^SELECT run_id, depends_on_run_id FROM run_dependencies/, 'trace: load dependencies'],
  ];
  return rules.find(([re]) => re.test(q))?.[1] ?? q.slice(0, 40);
}

/** The scans that matter in a text plan: sequential scans and trigger time, with loops. */
function scans(plan: string): string {
  const out: string[] = [];
  for (const m of plan.matchAll(
    /Seq Scan on (\w+)[^\n]*?actual time=[\d.]+\.\.([\d.]+) rows=(\d+) loops=(\d+)/g,
  )) {
    out.push(`Seq Scan ${m[1]} ${m[3]} rows x ${m[4]} loops`);
  }
  for (const m of plan.matchAll(/Hash Join[^\n]*?loops=(\d+)\)/g)) {
    if (Number(m[1]) > 1) out.push(`Hash Join x ${m[1]} loops`);
  }
  for (const m of plan.matchAll(/Trigger (?:for constraint )?(\S+): time=([\d.]+) calls=(\d+)/g)) {
    out.push(`FK ${m[1]} ${Number(m[2]).toFixed(1)} ms/${m[3]} calls`);
  }
  return [...new Set(out)].join(', ');
}

const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

function summarize(entries: Logged[]): string {
  const byLabel = new Map<string, { ms: number; n: number; scans: Set<string> }>();
  for (const e of entries) {
    const l = label(e.query);
    const cur = byLabel.get(l) ?? { ms: 0, n: 0, scans: new Set<string>() };
    cur.ms += e.ms;
    cur.n++;
    const s = scans(e.plan);
    if (s) cur.scans.add(s);
    byLabel.set(l, cur);
  }
  return [...byLabel]
    .map(
      ([l, v]) =>
        `${l} ${fmt(v.ms)} ms${v.n > 1 ? ` (${v.n}x)` : ''}${v.scans.size ? ` [${[...v.scans].join('; ')}]` : ''}`,
    )
    .join('; ');
}

export async function explainStore(
  pg: BenchPostgres,
  serverLog: { text: string },
  workload: Workload,
  batch: number,
): Promise<{ notes: string[]; plans: string }> {
  const name = 'diagnostics';
  const url = await pg.createDatabase(name);
  const admin = pg.admin(name);
  const notes: string[] = [];
  const sections: string[] = [];
  const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
  try {
    const runs = toRunInputs(workload.runs);
    const tail = runs.splice(runs.length - batch - 1);
    const bulk = await openPostgresStore({ url });
    for (let i = 0; i < runs.length; i += batch) await bulk.logRuns(runs.slice(i, i + batch));
    await bulk.close();

    for (const setting of [
      "session_preload_libraries = 'auto_explain'",
      'auto_explain.log_min_duration = 0',
      'auto_explain.log_analyze = on',
      'auto_explain.log_buffers = on',
      'auto_explain.log_triggers = on',
      'auto_explain.log_parameter_max_length = 80',
    ]) {
      await admin.unsafe(`ALTER DATABASE "${name}" SET ${setting}`);
    }
    const store = await openPostgresStore({ url, maxConnections: 5 });
    const capture = async (title: string, fn: () => Promise<unknown>) => {
      await settle();
      serverLog.text = '';
      const t0 = performance.now();
      await fn();
      const ms = performance.now() - t0;
      await settle();
      const entries = parsePlans(serverLog.text).filter((e) => !/pg_catalog|pg_type/.test(e.query));
      sections.push(
        `## ${title}: ${fmt(ms)} ms in Node\n\n${entries.map((e) => `-- ${label(e.query)}: ${e.ms} ms\n${e.plan}`).join('\n\n')}`,
      );
      const server = entries.reduce((s, e) => s + e.ms, 0);
      return { ms, server, entries };
    };

    const batchRuns: ComponentRunInput[] = tail.slice(0, batch);
    const b = await capture(`logRuns(${batchRuns.length}) on a ${runs.length}-run store`, () =>
      store.logRuns(batchRuns),
    );
    notes.push(
      `diagnosis, PostgreSQL, one logRuns(${batchRuns.length}) on the ${runs.length}-run store (auto_explain, instrumented so slower than timed): ${fmt(b.ms)} ms in Node, ${fmt(b.server)} ms in ${b.entries.length} statements on the server: ${summarize(b.entries)}.`,
    );
    const one = tail.at(-1)!;
    const s = await capture('logRun (one run)', () => store.logRun(one));
    notes.push(
      `diagnosis, one logRun: ${fmt(s.ms)} ms in Node, ${fmt(s.server)} ms in ${s.entries.length} statements on the server (plus BEGIN/COMMIT): the rest is one round trip per statement and client-side work: ${summarize(s.entries)}.`,
    );

    const deepest = workload.expectedRuns.indexOf(Math.max(...workload.expectedRuns));
    const target = workload.traces[deepest]!;
    const stale = await capture(
      `trace of ${target} (${workload.expectedRuns[deepest]} runs), as ingested`,
      () => store.trace({ uri: target }),
    );
    notes.push(
      `diagnosis, trace of a ${workload.expectedRuns[deepest]}-run lineage in the ${runs.length + tail.length}-run store, as ingested (never analyzed): ${fmt(stale.ms)} ms; ${summarize(stale.entries)}.`,
    );
    const whatIfStale = await whatIf(admin, target, batch);
    await admin`ANALYZE`;
    const analyzed = await capture(`trace of ${target}, after ANALYZE`, () => store.trace({ uri: target }));
    notes.push(
      `diagnosis, the same trace after ANALYZE: ${fmt(analyzed.ms)} ms; ${summarize(analyzed.entries)}.`,
    );
    const whatIfAnalyzed = await whatIf(admin, target, batch);
    notes.push(
      `what-if (same SQL as the store, changed as suggested; EXPLAIN ANALYZE execution ms, as ingested -> after ANALYZE): ${Object.keys(
        whatIfStale,
      )
        .map((k) => `${k} ${fmt(whatIfStale[k]!)} -> ${fmt(whatIfAnalyzed[k]!)}`)
        .join('; ')}.`,
    );
    await store.close();
  } finally {
    await admin.end();
    await pg.dropDatabase(name);
  }
  return {
    notes,
    plans: `Plans captured by auto_explain (EXPLAIN ANALYZE) while the store ran; see store.md.\n\n${sections.join('\n\n')}\n`,
  };
}

/**
 * The store's trace queries (graph.ts `trace`/`walk`, rows.ts `loadRuns`) and the head of its
 * write queries (write.ts), as they are and as suggested: execution time of each, from
 * EXPLAIN ANALYZE.
 */
async function whatIf(
  admin: ReturnType<BenchPostgres['admin']>,
  uri: string,
  batch: number,
): Promise<Record<string, number>> {
  const [pointer] = await admin`SELECT id FROM io_pointers WHERE uri = ${uri}`;
  const pid = Number(pointer!.id);
  const [producer] = await admin`SELECT o.run_id FROM run_outputs o WHERE o.pointer_id = ${pid}`;
  const start = Number(producer!.run_id);
  const walk = () => `WITH RECURSIVE walk(run_id, depth) AS (
      SELECT value::bigint, 0 FROM jsonb_array_elements_text('[${start}]'::jsonb)
      UNION
      SELECT d.depends_on_run_id, w.depth + 1
      FROM walk w JOIN run_dependencies d ON d.run_id = w.run_id
      WHERE w.depth < 10000
    )
    , visited AS (SELECT run_id, min(depth) AS depth FROM walk GROUP BY run_id)
    SELECT v.run_id, v.depth, v.depth = 10000 AND EXISTS (
        SELECT 1 FROM run_dependencies d
        WHERE d.run_id = v.run_id AND d.depends_on_run_id NOT IN (SELECT run_id FROM visited)) AS more
    FROM visited v`;
  const ids = (await admin.unsafe(walk())).map((r) => Number(r.run_id));
  const jsonIds = `(SELECT value::bigint FROM jsonb_array_elements_text('${JSON.stringify(ids)}'::jsonb))`;
  const arrayIds = `'{${ids.join(',')}}'::bigint[]`;
  const variants: Record<string, string[]> = {
    'producer (IN jsonb, as is)': [
      `SELECT r.id FROM run_outputs o JOIN component_runs r ON r.id = o.run_id
       WHERE o.pointer_id IN (SELECT value::bigint FROM jsonb_array_elements_text('[${pid}]'::jsonb))
       ORDER BY r.started_at DESC, r.id DESC LIMIT 1`,
    ],
    'producer (MATERIALIZED run_outputs = ANY(bigint[]))': [
      `WITH o AS MATERIALIZED (SELECT run_id FROM run_outputs WHERE pointer_id = ANY('{${pid}}'::bigint[]))
       SELECT r.id FROM o JOIN component_runs r ON r.id = o.run_id ORDER BY r.started_at DESC, r.id DESC LIMIT 1`,
    ],
    'walk (as is)': [walk()],
    'walk (SET LOCAL enable_hashjoin, enable_mergejoin off)': [
      'SET LOCAL enable_hashjoin = off',
      'SET LOCAL enable_mergejoin = off',
      walk(),
    ],
    'load inputs (IN jsonb, as is)': [
      `SELECT l.run_id, p.id, p.uri, p.version, p.type, p.flag FROM run_inputs l JOIN io_pointers p ON p.id = l.pointer_id
       WHERE l.run_id IN ${jsonIds} ORDER BY p.uri, p.version`,
    ],
    'load inputs (= ANY(bigint[]))': [
      `SELECT l.run_id, p.id, p.uri, p.version, p.type, p.flag FROM run_inputs l JOIN io_pointers p ON p.id = l.pointer_id
       WHERE l.run_id = ANY(${arrayIds}) ORDER BY p.uri, p.version`,
    ],
    'load dependencies (IN jsonb, as is)': [
      `SELECT run_id, depends_on_run_id FROM run_dependencies WHERE run_id IN ${jsonIds} ORDER BY depends_on_run_id`,
    ],
    'load dependencies (= ANY(bigint[]))': [
      `SELECT run_id, depends_on_run_id FROM run_dependencies WHERE run_id = ANY(${arrayIds}) ORDER BY depends_on_run_id`,
    ],
  };
  // Ingest: the head of write.ts's inference join and its pointer-id lookup, for one run and a
  // batch's worth, with the lists as jsonb (as is) and as arrays.
  const pairs = await admin<Array<{ run_id: string; pointer_id: string; uri: string }>>`
    SELECT l.run_id, l.pointer_id, p.uri FROM run_inputs l JOIN io_pointers p ON p.id = l.pointer_id
    ORDER BY l.run_id DESC LIMIT ${batch}`;
  for (const [tag, list] of [
    ['1 run', pairs.slice(0, 1)],
    [`${pairs.length} runs`, pairs],
  ] as const) {
    const json = JSON.stringify(
      list.map((p) => ({ run_id: Number(p.run_id), pointer_id: Number(p.pointer_id) })),
    );
    const runIds = `'{${list.map((p) => p.run_id).join(',')}}'::bigint[]`;
    const pointerIds = `'{${list.map((p) => p.pointer_id).join(',')}}'::bigint[]`;
    variants[`ingest: inference join, ${tag} (jsonb_to_recordset, as is)`] = [
      `SELECT n.run_id, p.id, me.started_at FROM jsonb_to_recordset('${json}'::jsonb) AS n(run_id bigint, pointer_id bigint)
       JOIN io_pointers p ON p.id = n.pointer_id JOIN component_runs me ON me.id = n.run_id`,
    ];
    variants[`ingest: inference join, ${tag} (unnest(bigint[], bigint[]))`] = [
      `SELECT n.run_id, p.id, me.started_at FROM unnest(${runIds}, ${pointerIds}) AS n(run_id, pointer_id)
       JOIN io_pointers p ON p.id = n.pointer_id JOIN component_runs me ON me.id = n.run_id`,
    ];
    const uris = JSON.stringify(list.map((p) => ({ uri: p.uri, version: '' })));
    variants[`ingest: pointer ids, ${tag} (jsonb_to_recordset, as is)`] = [
      `SELECT p.id FROM io_pointers p JOIN jsonb_to_recordset('${uris}'::jsonb) AS q(uri text, version text)
       ON p.uri = q.uri AND p.version = q.version`,
    ];
    variants[`ingest: pointer ids, ${tag} (unnest(text[], text[]))`] = [
      `SELECT p.id FROM io_pointers p JOIN unnest('{${list.map((p) => `"${p.uri}"`).join(',')}}'::text[],
         '{${list.map(() => '""').join(',')}}'::text[]) AS q(uri, version) ON p.uri = q.uri AND p.version = q.version`,
    ];
  }
  const out: Record<string, number> = {};
  for (const [name, statements] of Object.entries(variants)) {
    const result = await admin.begin(async (tx) => {
      for (const statement of statements.slice(0, -1)) await tx.unsafe(statement);
      return tx.unsafe(`EXPLAIN (ANALYZE, FORMAT JSON) ${statements.at(-1)}`);
    });
    const plan = (result[0] as Record<string, Array<{ 'Execution Time': number }>>)['QUERY PLAN']![0]!;
    out[name] = plan['Execution Time'];
  }
  return out;
}
