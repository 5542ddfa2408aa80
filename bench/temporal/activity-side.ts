/**
 * The activity side of the plugin's cost, without Temporal: the benchmark's activity runs through
 * the plugin's activity interceptor (attempts.ts) 20 at a time, the writer flushed every
 * `--batch` attempts (the live rounds' batch size), into a store that discards, then into the
 * PostgreSQL store, against the same activity called without the plugin, interleaved in rounds.
 * The process CPU per attempt over the baseline is the interceptor, the records, the writer and
 * the store's client (redaction, validation, JSON, postgres.js, the socket); PostgreSQL's own
 * CPU is in its processes. Run by main.ts as a child process; the report goes back over IPC.
 */
import { parseArgs } from 'node:util';
import { openPostgresStore } from '@mltrace/store/postgres';
import { createMltracePlugin } from '@mltrace/temporal';
import { median } from '../lib/report.js';
import { attemptDriver } from './attempts.js';
import { discardingStore } from './peers.js';

/** What activity-side.ts reports: added CPU per attempt, by store. */
export interface ActivitySideReport {
  attempts: number;
  batch: number;
  addedUs: Record<'discard' | 'postgres', number>;
  rounds: Record<'discard' | 'postgres', number[]>;
}

const { values: flags } = parseArgs({
  options: {
    attempts: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '5' },
    batch: { type: 'string', default: '40' },
    stores: { type: 'string', default: 'discard,postgres' },
  },
});
const attempts = Number(flags.attempts);
const batch = Number(flags.batch);
const CONCURRENT = 20;
/** The stores to measure (`--stores`, for profiling one alone). */
const measured = flags.stores.split(',');

/** CPU per attempt of `count` attempts of `run`, `flush` after every `batch` of them. */
async function cpuPerAttempt(
  run: (i: number) => Promise<unknown>,
  flush: () => Promise<void>,
  first: number,
): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < attempts; i += CONCURRENT) {
    await Promise.all(Array.from({ length: CONCURRENT }, (_, j) => run(first + i + j)));
    await new Promise((resolve) => setImmediate(resolve));
    if ((i + CONCURRENT) % batch === 0) await flush();
  }
  await flush();
  const cpu = process.cpuUsage(start);
  return (cpu.user + cpu.system) / attempts;
}

async function main(): Promise<void> {
  const url = process.env.MLTRACE_BENCH_DATABASE_URL;
  if (!url) throw new Error('MLTRACE_BENCH_DATABASE_URL is not set');
  const stores = { discard: discardingStore(), postgres: await openPostgresStore({ url }) };
  const plugins = {
    discard: createMltracePlugin({ store: stores.discard, spoolDir: false, gitCommit: false }),
    postgres: createMltracePlugin({ store: stores.postgres, spoolDir: false, gitCommit: false }),
  };
  const drivers = { discard: attemptDriver(plugins.discard), postgres: attemptDriver(plugins.postgres) };
  const baseline = attemptDriver(undefined);
  const none = async () => {};
  const rounds: ActivitySideReport['rounds'] = { discard: [], postgres: [] };
  let seq = 0;
  for (let r = -1; r < Number(flags.rounds); r++) {
    const base = await cpuPerAttempt(baseline, none, seq);
    const order = r % 2 ? (['discard', 'postgres'] as const) : (['postgres', 'discard'] as const);
    for (const store of order.filter((name) => measured.includes(name))) {
      seq += attempts;
      const us = await cpuPerAttempt(drivers[store], () => plugins[store].writer.flush(), seq);
      if (r >= 0) rounds[store].push(us - base);
    }
  }
  for (const store of ['discard', 'postgres'] as const) {
    if (!measured.includes(store)) continue;
    const stats = plugins[store].stats();
    if (stats.dropped > 0 || stats.spooled > 0) throw new Error(`${store}: ${JSON.stringify(stats)}`);
    await plugins[store].close();
  }
  await stores.postgres.close();
  const report: ActivitySideReport = {
    attempts,
    batch,
    addedUs: { discard: median(rounds.discard), postgres: median(rounds.postgres) },
    rounds,
  };
  // Run by main.ts over IPC; run alone (e.g. under --cpu-prof), it prints the report.
  if (process.send) process.send(report);
  else console.log(JSON.stringify(report));
  process.exit(0);
}

await main();
