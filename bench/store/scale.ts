/**
 * The growth curve: one PostgreSQL store grown to each size in turn (10k, 100k, 1M runs by
 * default) with `logRuns` batches, and at each size the ingest rate of the last stretch, the
 * trace of a 20-run lineage, one more `logRun`, and the on-disk size of each table and index.
 * Writes bench/results/store-scale.md and .json (`npm run bench -- store --scale`).
 *
 * The shape is the server benchmark's: pipelines of 20 steps, each step reading the previous
 * step's output, logged pipeline after pipeline in batches of 500, `writers` batches in flight.
 */
import type { ComponentRunInput } from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';
import { openPostgresStore } from '@mltrace/store/postgres';
import { loadAverage, median, percentile } from '../lib/report.js';
import type { BenchPostgres } from './postgres.js';

const LENGTH = 20;
const base = Date.UTC(2026, 0, 1);
const output = (p: number, s: number) => `file:///scale/p${p}/s${s}.parquet`;

function pipeline(p: number): ComponentRunInput[] {
  return Array.from({ length: LENGTH }, (_, s) => ({
    component: `step-${s}`,
    runKey: `scale:${p}:${s}`,
    startedAt: new Date(base + (p * LENGTH + s) * 1_000),
    endedAt: new Date(base + (p * LENGTH + s) * 1_000 + 500),
    inputs: [s === 0 ? `file:///scale/raw/p${p}.csv` : output(p, s - 1)],
    outputs: [output(p, s)],
    metadata: { rows: p * LENGTH + s, step: s },
  }));
}

/** What was measured at one size. */
export interface ScalePoint {
  runs: number;
  /** runs/s over the last tenth of the runs logged to reach this size (at least one batch). */
  ingestRunsPerS: number;
  /** 20-run lineage traces, as ingested (the store's own ANALYZEs only) and after ANALYZE. */
  traceP50Ms: number;
  traceP95Ms: number;
  traceAnalyzedP50Ms: number;
  /** One more logRun (a run reading a traced output), median ms. */
  logRunMs: number;
  databaseBytes: number;
  /** pg_total_relation_size per table: heap, TOAST and its indexes. */
  tables: Record<string, number>;
  /** pg_relation_size per table (its heap alone) and per index. */
  relations: Record<string, number>;
  /** Load average (1, 5, 15 min) when this size was measured. */
  load: string;
  loadSeconds: number;
}

async function traces(store: LineageStore, pipelines: number, samples: number): Promise<number[]> {
  const times: number[] = [];
  const step = Math.max(1, Math.floor(pipelines / samples));
  for (let i = 0; i < samples; i++) {
    const p = (i * step + 7) % pipelines;
    const start = performance.now();
    const graph = await store.trace({ uri: output(p, LENGTH - 1) });
    times.push(performance.now() - start);
    if (graph.runs.length !== LENGTH)
      throw new Error(`a trace returned ${graph.runs.length} runs, not ${LENGTH}`);
  }
  return times;
}

/** Grows one store through `sizes` (ascending run counts) and measures each. */
export async function growthCurve(
  pg: BenchPostgres,
  sizes: number[],
  options: { batch: number; writers: number; samples: number; log: (line: string) => void },
): Promise<ScalePoint[]> {
  const name = 'scale';
  const url = await pg.createDatabase(name);
  const admin = pg.admin(name);
  const store = await openPostgresStore({ url, maxConnections: options.writers + 1 });
  const points: ScalePoint[] = [];
  const started = performance.now();
  let pipelines = 0;
  let extra = 0;
  try {
    for (const size of sizes) {
      const target = Math.ceil(size / LENGTH);
      const windowFrom = Math.max(
        pipelines,
        target - Math.max(Math.ceil(target / 10), options.batch / LENGTH),
      );
      let windowStart: number | undefined;
      let windowRuns = 0;
      // `writers` batches in flight, each on its own connection: how a fleet of workers loads a
      // store. Pipelines are whole inside a batch, so no batch waits on another's rows.
      const inFlight = new Set<Promise<void>>();
      while (pipelines < target) {
        if (windowStart === undefined && pipelines >= windowFrom) windowStart = performance.now();
        const batch: ComponentRunInput[] = [];
        while (batch.length < options.batch && pipelines < target) batch.push(...pipeline(pipelines++));
        const counted = windowStart !== undefined;
        const write: Promise<void> = store.logRuns(batch).then(() => {
          if (counted) windowRuns += batch.length;
          inFlight.delete(write);
        });
        inFlight.add(write);
        if (inFlight.size >= options.writers) await Promise.race(inFlight);
        if ((pipelines * LENGTH) % 100_000 < batch.length) options.log(`scale: ${pipelines * LENGTH} runs`);
      }
      await Promise.all(inFlight);
      const ingestRunsPerS = (windowRuns / (performance.now() - (windowStart ?? 0))) * 1000;
      const asIngested = await traces(store, pipelines, options.samples);
      const singles: number[] = [];
      for (let i = 0; i < 30; i++) {
        const start = performance.now();
        await store.logRun({
          component: 'reader',
          runKey: `scale:reader:${size}:${i}`,
          startedAt: new Date(base + (pipelines * LENGTH + 10 + i) * 1_000),
          inputs: [output((i * 31) % pipelines, LENGTH - 1)],
          outputs: [`file:///scale/reader/${size}/${i}.json`],
        });
        singles.push(performance.now() - start);
        extra += 1;
      }
      await admin`ANALYZE`;
      const analyzed = await traces(store, pipelines, options.samples);
      const [db] = await admin<
        Array<{ bytes: string }>
      >`SELECT pg_database_size(current_database()) AS bytes`;
      // A table's total (heap, TOAST, free-space map and all its indexes) and each index alone.
      const relations = await admin<Array<{ name: string; total: string; heap: string; kind: string }>>`
        SELECT c.relname AS name, c.relkind AS kind, pg_total_relation_size(c.oid) AS total,
          pg_relation_size(c.oid) AS heap FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') ORDER BY 1`;
      const point: ScalePoint = {
        runs: pipelines * LENGTH + extra,
        ingestRunsPerS,
        traceP50Ms: median(asIngested),
        traceP95Ms: percentile(asIngested, 95),
        traceAnalyzedP50Ms: median(analyzed),
        logRunMs: median(singles.slice(5)),
        databaseBytes: Number(db?.bytes),
        tables: Object.fromEntries(
          relations.filter((r) => r.kind === 'r').map((r) => [r.name, Number(r.total)]),
        ),
        relations: Object.fromEntries(relations.map((r) => [r.name, Number(r.heap)])),
        load: loadAverage(),
        loadSeconds: (performance.now() - started) / 1000,
      };
      options.log(`scale: ${JSON.stringify({ ...point, relations: undefined, tables: undefined })}`);
      points.push(point);
    }
  } finally {
    await store.close();
    await admin.end();
    await pg.dropDatabase(name);
  }
  return points;
}
