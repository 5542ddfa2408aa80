/**
 * Why ours is as fast as it is: a diagnostic pass on PostgreSQL after the benchmark, on a
 * database of its own (the timed databases never load auto_explain).
 *
 * 1. Builds the large store with `logRuns`, then turns on auto_explain (EXPLAIN ANALYZE of every
 *    statement the store runs, logged by the server) for new sessions and opens a second store:
 *    one more `logRuns` batch and one `logRun`, then a trace of the longest sampled lineage as
 *    ingested (no statistics yet) and after ANALYZE. The captured plans are the store's own
 *    queries, unmodified.
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
      /Query Text: ([\s\S]*?)\n\t(?:Query Parameters|[A-Z][\w ."]+ {2}\(cost)/.exec(body)?.[1] ?? body;
    out.push({ ms, query: query.replace(/\s+/g, ' ').trim(), plan: body.replace(/\n+$/, '') });
  }
  return out;
}

/** The write function's call; the statements inside it are logged too, each on its own. */
const CALL = 'call mltrace_log_runs';
const STALE_CALL = 'call mltrace_mark_stale';

/** A short name for one of the store's statements. */
function label(query: string): string {
  const q = query.replace(/\s+/g, ' ');
  const rules: Array<[RegExp, string]> = [
    [/^SELECT mltrace_log_runs\(/, CALL],
    [/^WITH src AS MATERIALIZED/, 'insert components + component_runs'],
    [/^INSERT INTO io_pointers/, 'insert io_pointers'],
    [/^SELECT array_agg\(q\.id/, 'read pointer ids'],
    [/^WITH output_links AS/, 'insert run_outputs + link earlier consumers'],
    [/^SELECT array_agg\(DISTINCT e\.key\)/, 'check dependsOn keys'],
    [/^WITH input_links AS/, 'insert run_inputs + infer dependencies'],
    [/^SELECT mltrace_mark_stale\(/, STALE_CALL],
    [/^WITH edges AS/, 'staleness (mltrace_mark_stale)'],
    [/^WITH RECURSIVE roots AS/, 'trace (one statement: find, walk, load)'],
    [/^WITH RECURSIVE run_set AS/, 'load runs'],
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
      'auto_explain.log_nested_statements = on',
    ]) {
      await admin.unsafe(`ALTER DATABASE "${name}" SET ${setting}`);
    }
    const store = await openPostgresStore({ url, maxConnections: 5 });
    const capture = async (title: string, fn: () => Promise<unknown>) => {
      await settle();
      const before = (await pg.log()).length;
      const t0 = performance.now();
      await fn();
      const ms = performance.now() - t0;
      await settle();
      const entries = parsePlans((await pg.log()).slice(before)).filter(
        // Catalog lookups, and the foreign keys' own lookups (their time is in each plan's
        // trigger lines).
        (e) => !/pg_catalog|pg_type/.test(e.query) && !/^SELECT 1 FROM ONLY /.test(e.query),
      );
      sections.push(
        `## ${title}: ${fmt(ms)} ms in Node\n\n${entries.map((e) => `-- ${label(e.query)}: ${e.ms} ms\n${e.plan}`).join('\n\n')}`,
      );
      // A function call's time includes its nested statements: count the top-level statements
      // for the server's total, and list the nested ones.
      const nested = entries.filter((e) => label(e.query) !== STALE_CALL);
      const top = entries.filter((e) => label(e.query) === CALL);
      const server = (top.length ? top : nested).reduce((s, e) => s + e.ms, 0);
      return { ms, server, entries: nested.filter((e) => label(e.query) !== CALL), calls: top.length };
    };

    const batchRuns: ComponentRunInput[] = tail.slice(0, batch);
    const b = await capture(`logRuns(${batchRuns.length}) on a ${runs.length}-run store`, () =>
      store.logRuns(batchRuns),
    );
    notes.push(
      `diagnosis, PostgreSQL, one logRuns(${batchRuns.length}) on the ${runs.length}-run store (auto_explain, instrumented so slower than timed): ${fmt(b.ms)} ms in Node, ${fmt(b.server)} ms on the server in ${b.calls} call of mltrace_log_runs, whose ${b.entries.length} statements took: ${summarize(b.entries)}.`,
    );
    const one = tail.at(-1)!;
    const s = await capture('logRun (one run)', () => store.logRun(one));
    notes.push(
      `diagnosis, one logRun: ${fmt(s.ms)} ms in Node, ${fmt(s.server)} ms on the server in ${s.calls} call of mltrace_log_runs (one statement, one round trip, no BEGIN/COMMIT; this store's connection is new, so the call is prepared now and the function's statements planned now), whose ${s.entries.length} statements took: ${summarize(s.entries)}.`,
    );

    const deepest = workload.expectedRuns.indexOf(Math.max(...workload.expectedRuns));
    const target = workload.traces[deepest]!;
    const stale = await capture(
      `trace of ${target} (${workload.expectedRuns[deepest]} runs), as ingested`,
      () => store.trace({ uri: target }),
    );
    notes.push(
      `diagnosis, trace of a ${workload.expectedRuns[deepest]}-run lineage in the ${runs.length + tail.length}-run store, as ingested (only the store's own ANALYZEs): ${fmt(stale.ms)} ms; ${summarize(stale.entries)}.`,
    );
    await admin`ANALYZE`;
    const analyzed = await capture(`trace of ${target}, after ANALYZE`, () => store.trace({ uri: target }));
    notes.push(
      `diagnosis, the same trace after ANALYZE: ${fmt(analyzed.ms)} ms; ${summarize(analyzed.entries)}.`,
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
