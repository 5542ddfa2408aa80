/**
 * Where a batched write's time goes, step by step: the write function (migration 0003) cut
 * after each of its steps, each cut timed on a chain beside the engine floor, in one run.
 *
 * A cut is the migration's own `mltrace_log_runs` with an early return inserted before a step,
 * so every variant is the shipped SQL up to that point; the difference between two consecutive
 * cuts is what that step costs. Each variant's later batches see only what its own steps wrote
 * (a cut before the inputs writes no inputs, so its second batch links no earlier consumers).
 * After the batches, 200 more runs of the chain are logged one `logRun` each: the same split
 * for the one-call path.
 * Not a system under test; `npm run bench -- store --ablation`.
 */
import { readFile } from 'node:fs/promises';
import { openPostgresStore } from '@mltrace/store/postgres';
import postgres from 'postgres';
import { median } from '../lib/report.js';
import { dropForeignKeys, floorInsert } from './floor.js';
import type { BenchPostgres } from './postgres.js';
import { toRunInputs } from './systems.js';
import { chain } from './workloads.js';

const MIGRATION = new URL('../../../packages/store/migrations/0003_log_runs_function.sql', import.meta.url);

/** One `logRun` calls timed after the batches, on the same store. */
const ONE_CALLS = 200;

const EARLY_RETURN = `  PERFORM set_config('plan_cache_mode', v_plan_mode, true);
  RETURN json_build_object('ids', to_json(v_ids), 'created', to_json(v_created));
`;

/** One variant: a name, and how it changes the database after the store migrated it. */
interface Variant {
  name: string;
  /** Text the early return goes before (a step's first line in the migration), if any. */
  cutBefore?: string;
  /** The body returns at once: what the call costs with no step (client, transfer, arguments). */
  callOnly?: boolean;
  withoutForeignKeys?: boolean;
}

export const VARIANTS: readonly Variant[] = [
  { name: 'the call alone (no step)', callOnly: true },
  { name: '1. components and runs', cutBefore: '  -- 2. Pointers' },
  { name: '2. + pointers', cutBefore: '  -- 3. Outputs' },
  { name: '3. + outputs, late consumers linked', cutBefore: '  IF p_depends_on IS NOT NULL' },
  { name: '4. + inputs, dependencies inferred', cutBefore: '  -- 5. Staleness' },
  { name: '5. + staleness: the whole function' },
  { name: 'the whole function, no foreign keys', withoutForeignKeys: true },
];

/** The migration's `mltrace_log_runs`, changed as the variant says, as CREATE OR REPLACE. */
export async function variantSql(variant: Variant): Promise<string | undefined> {
  if (!variant.cutBefore && !variant.callOnly) return undefined;
  const migration = await readFile(MIGRATION, 'utf8');
  const start = migration.indexOf('CREATE FUNCTION mltrace_log_runs(');
  const end = migration.indexOf('$$;', start) + 3;
  if (start < 0 || end < 3) throw new Error('mltrace_log_runs not found in migration 0003');
  let fn = migration.slice(start, end).replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION');
  const marker = variant.callOnly ? '  -- Plans.' : (variant.cutBefore ?? '');
  const at = fn.indexOf(marker);
  if (at < 0)
    throw new Error(`ablation: "${marker.trim()}" not found in mltrace_log_runs (migration changed?)`);
  const early = variant.callOnly
    ? `  RETURN json_build_object('ids', '[]'::json, 'created', '[]'::json);\n`
    : EARLY_RETURN;
  fn = `${fn.slice(0, at)}${early}${fn.slice(at)}`;
  return fn;
}

export interface AblationResult {
  floor: number[];
  floorNoFk: number[];
  /** Batched runs/s per variant name, one sample per round. */
  variants: Map<string, number[]>;
  /** One `logRun` per call after the batches, median ms per call, per variant and round. */
  oneCall: Map<string, number[]>;
  /** This process's CPU (user + system) per run over the batches, us, per variant and round. */
  clientCpu: Map<string, number[]>;
}

/**
 * `rounds` interleaved rounds (the order rotates each round) of the floor, the floor without
 * foreign keys and every variant, each on a fresh database: the n-run chain in batches.
 */
export async function ablationRounds(
  pg: BenchPostgres,
  options: { rounds: number; runs: number; batch: number; log: (line: string) => void },
): Promise<AblationResult> {
  // The chain's first `runs` in batches, then `ONE_CALLS` more, one logRun each.
  const all = toRunInputs(chain(options.runs + ONE_CALLS).runs);
  const runs = all.slice(0, options.runs);
  const result: AblationResult = {
    floor: [],
    floorNoFk: [],
    variants: new Map(),
    oneCall: new Map(),
    clientCpu: new Map(),
  };
  const sqlOf = new Map<string, string | undefined>();
  for (const v of VARIANTS) sqlOf.set(v.name, await variantSql(v));
  type Step = { name: string; run: (db: string) => Promise<number> };
  const floorStep = (withoutForeignKeys: boolean): Step => ({
    name: withoutForeignKeys ? 'floor, no foreign keys' : 'floor',
    run: async (db) => {
      const url = await pg.createDatabase(db);
      await (await openPostgresStore({ url })).close();
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        return await floorInsert(
          (t, p) => sql.unsafe(t, (p ?? []) as never[]),
          options.runs,
          options.batch,
          withoutForeignKeys,
        );
      } finally {
        await sql.end();
      }
    },
  });
  const variantStep = (v: Variant): Step => ({
    name: v.name,
    run: async (db) => {
      const url = await pg.createDatabase(db);
      const store = await openPostgresStore({ url });
      const admin = pg.admin(db);
      try {
        const replace = sqlOf.get(v.name);
        if (replace) await admin.unsafe(replace);
        if (v.withoutForeignKeys) await dropForeignKeys((t) => admin.unsafe(t));
        const start = performance.now();
        const cpu = process.cpuUsage();
        for (let i = 0; i < runs.length; i += options.batch)
          await store.logRuns(runs.slice(i, i + options.batch));
        const rate = (runs.length / (performance.now() - start)) * 1000;
        const used = process.cpuUsage(cpu);
        const perRun = (used.user + used.system) / runs.length;
        result.clientCpu.set(v.name, [...(result.clientCpu.get(v.name) ?? []), perRun]);
        const calls: number[] = [];
        for (const run of all.slice(options.runs)) {
          const t = performance.now();
          await store.logRun(run);
          calls.push(performance.now() - t);
        }
        result.oneCall.set(v.name, [...(result.oneCall.get(v.name) ?? []), median(calls)]);
        return rate;
      } finally {
        await admin.end();
        await store.close();
      }
    },
  });
  const steps = [floorStep(false), floorStep(true), ...VARIANTS.map(variantStep)];
  for (let round = 0; round < options.rounds; round++) {
    const order = [...steps.slice(round % steps.length), ...steps.slice(0, round % steps.length)];
    for (const [i, step] of order.entries()) {
      const db = `ablation_${round}_${i}`;
      try {
        const rate = await step.run(db);
        if (step.name === 'floor') result.floor.push(rate);
        else if (step.name === 'floor, no foreign keys') result.floorNoFk.push(rate);
        else result.variants.set(step.name, [...(result.variants.get(step.name) ?? []), rate]);
      } finally {
        await pg.dropDatabase(db);
      }
    }
    options.log(
      `ablation round ${round + 1}/${options.rounds}: floor ${Math.round(result.floor.at(-1) ?? 0)} runs/s`,
    );
  }
  return result;
}

/** ms per 1,000 runs of a median rate. */
export const msPer1000 = (samples: number[]): number => 1e6 / median(samples);
