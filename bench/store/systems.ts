/**
 * The two systems under test, each timed inside its own process: ours through `@mltrace/store`
 * in this Node process, mltrace 0.17 through `mltrace_driver.py` in a Python child (its
 * interpreter start-up, imports and `Store()` are outside its timings).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ComponentRunInput } from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';
import type { RunSpec, Workload } from './workloads.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const python = join(repoRoot, '.tools/mltrace-venv/bin/python');
const driver = join(repoRoot, 'bench/store/mltrace_driver.py');

/**
 * When a trace runs: right after the ingest, with whatever planner statistics the store left
 * (none: nothing has run ANALYZE; PGlite never autovacuums, a PostgreSQL server's autovacuum
 * would after up to a minute), or after ANALYZE (a live server's steady state).
 */
export type TraceState = 'as_ingested' | 'analyzed';

/** One trace measurement. */
export interface TraceSample {
  ms: number;
  /** Runs (ours) or entries (mltrace) returned. */
  returned: number;
  /** Distinct runs among them. */
  distinct: number;
  error?: string;
}

// ---------------------------------------------------------------- ours

/**
 * Runs as ours logs them: start times one second apart in logging order, the first at `offset`
 * seconds (runs appended to a workload continue its clock).
 */
export function toRunInputs(runs: RunSpec[], offset = 0): ComponentRunInput[] {
  const base = Date.UTC(2024, 0, 1) + offset * 1000;
  return runs.map(([component, inputs, outputs], i) => ({
    component,
    startedAt: new Date(base + i * 1000),
    endedAt: new Date(base + i * 1000 + 500),
    inputs,
    outputs,
  }));
}

/** Logs the runs, in batches of `batch` (one `logRuns` each) or one `logRun` per run; ms taken. */
export async function ingestOurs(
  store: LineageStore,
  runs: ComponentRunInput[],
  batch: number,
): Promise<number> {
  const start = performance.now();
  if (batch <= 1) {
    for (const run of runs) await store.logRun(run);
  } else {
    for (let i = 0; i < runs.length; i += batch) await store.logRuns(runs.slice(i, i + batch));
  }
  return performance.now() - start;
}

/** Logs runs one `logRun` at a time until all are logged or `budgetMs` is spent; runs/s. */
export async function logOneByOne(
  store: LineageStore,
  runs: ComponentRunInput[],
  budgetMs: number,
): Promise<number> {
  const start = performance.now();
  let n = 0;
  for (const run of runs) {
    await store.logRun(run);
    n++;
    if (performance.now() - start > budgetMs) break;
  }
  return n / ((performance.now() - start) / 1000);
}

/**
 * Traces each target `repeats` times, in order, until `budgetMs` is spent (the first trace
 * always runs): a trace of a large lineage without planner statistics can take many seconds.
 */
export async function traceOurs(
  store: LineageStore,
  targets: string[],
  repeats: number,
  budgetMs = Number.POSITIVE_INFINITY,
): Promise<Array<{ index: number; sample: TraceSample }>> {
  const out: Array<{ index: number; sample: TraceSample }> = [];
  const start = performance.now();
  for (let index = 0; index < targets.length; index++) {
    for (let r = 0; r < repeats; r++) {
      if (out.length > 0 && performance.now() - start > budgetMs) return out;
      const t0 = performance.now();
      const graph = await store.trace({ uri: targets[index]! });
      const ms = performance.now() - t0;
      out.push({
        index,
        sample: { ms, returned: graph.runs.length, distinct: new Set(graph.runs.map((run) => run.id)).size },
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------- mltrace 0.17

export type MltraceEngine =
  | { kind: 'sqlite' }
  | { kind: 'sqlite-file'; file: string }
  | { kind: 'postgres'; url: string };

export interface MltraceResult {
  /** Runs logged (fewer than asked when `maxSeconds` cut the ingest short). */
  logged: number;
  ingestS: number;
  /** [runs logged, seconds since the first] every 5% of the runs. */
  checkpoints: Array<[number, number]>;
  /** Per target and state: as shipped, and (when that failed) with the recursion limit raised. */
  traces: Array<{ target: string; state: TraceState; asShipped: TraceSample[]; raisedLimit?: TraceSample[] }>;
}

interface DriverTrace {
  ms: number;
  entries?: number;
  distinct?: number;
  error?: string;
}

const toSample = (t: DriverTrace): TraceSample => ({
  ms: t.ms,
  returned: t.entries ?? 0,
  distinct: t.distinct ?? 0,
  ...(t.error ? { error: t.error } : {}),
});

export async function runMltrace(
  workload: Workload,
  engine: MltraceEngine,
  options: { traceRepeats: number; maxSeconds: number; raisedRecursionLimit: number },
): Promise<MltraceResult> {
  const dir = await mkdtemp(join(tmpdir(), 'mltrace-bench-py-'));
  try {
    const file = join(dir, 'workload.json');
    await writeFile(file, JSON.stringify({ runs: workload.runs, traces: workload.traces }));
    const args = [
      driver,
      '--workload',
      file,
      '--engine',
      engine.kind,
      '--trace-repeats',
      String(options.traceRepeats),
      '--raised-recursion-limit',
      String(options.raisedRecursionLimit),
    ];
    if (Number.isFinite(options.maxSeconds)) args.push('--max-seconds', String(options.maxSeconds));
    if (engine.kind === 'postgres') args.push('--url', engine.url.replace(/^postgres:/, 'postgresql:'));
    if (engine.kind === 'sqlite-file') args.push('--file', engine.file);
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = spawn(python, args, {
        env: { ...process.env, GIT_PYTHON_REFRESH: 'quiet' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk) => {
        out += chunk;
      });
      child.stderr.on('data', (chunk) => {
        err += chunk;
      });
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve(out) : reject(new Error(`mltrace driver exited ${code}: ${err.slice(-2000)}`)),
      );
    });
    const raw = JSON.parse(stdout) as {
      logged: number;
      ingest_s: number;
      checkpoints: Array<[number, number]>;
      traces: Array<{
        target: string;
        state: TraceState;
        as_shipped: DriverTrace[];
        raised_limit?: DriverTrace[];
      }>;
    };
    return {
      logged: raw.logged,
      ingestS: raw.ingest_s,
      checkpoints: raw.checkpoints,
      traces: raw.traces.map((t) => ({
        target: t.target,
        state: t.state,
        asShipped: t.as_shipped.map(toSample),
        ...(t.raised_limit ? { raisedLimit: t.raised_limit.map(toSample) } : {}),
      })),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Fits mltrace's per-run cost as a + b x (runs already stored) to the checkpoints (least
 * squares over the per-segment rates) and returns the seconds N runs would take:
 * a N + b N^2 / 2. The cost grows with N because its dependency inference and pointer lookups
 * scan unindexed tables.
 */
export function fitMltraceCost(checkpoints: Array<[number, number]>): { a: number; b: number } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 1; i < checkpoints.length; i++) {
    const [n0, t0] = checkpoints[i - 1]!;
    const [n1, t1] = checkpoints[i]!;
    if (n1 <= n0) continue;
    xs.push((n0 + n1) / 2);
    ys.push((t1 - t0) / (n1 - n0));
  }
  if (xs.length < 2) {
    const [n, t] = checkpoints.at(-1) ?? [1, 0];
    return { a: t / n, b: 0 };
  }
  const mx = xs.reduce((s, x) => s + x, 0) / xs.length;
  const my = ys.reduce((s, y) => s + y, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  const b = Math.max(0, sxx === 0 ? 0 : sxy / sxx);
  return { a: Math.max(0, my - b * mx), b };
}

export const estimateSeconds = (fit: { a: number; b: number }, n: number) => fit.a * n + (fit.b * n * n) / 2;
