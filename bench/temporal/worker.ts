/**
 * One benchmark worker, in its own process so that `process.cpuUsage()` counts this worker's
 * CPU only (every thread of it: the activity and workflow threads, the writer, an in-process
 * store). Started by main.ts with `fork()`; argv[2] names the configuration. It answers messages
 * from main.ts: `cpu` (CPU and memory so far), `flush` (the plugin's writer), `stop` (shuts down,
 * counts the runs the store holds).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LineageStore, openStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { openPostgresStore } from '@mltrace/store/postgres';
import { createMltracePlugin, type MltracePlugin } from '@mltrace/temporal';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type WorkerPlugin,
} from '@temporalio/worker';
import { discardingStore, openTelemetryPlugin } from './peers.js';
import type { StepActivities } from './workflows.js';

/** The configurations main.ts runs, each in its own worker process. */
export type Config =
  | 'baseline'
  | 'mltrace-postgres'
  | 'mltrace-pglite'
  | 'mltrace-shared'
  | 'mltrace-discard'
  | 'mltrace-discard-activity-only'
  | 'otel';

/** A message from main.ts. */
export type Request = {
  id: number;
  type: 'cpu' | 'flush' | 'stop' | 'profile-start' | 'profile-stop';
  /** `profile-stop`: where to write the `.cpuprofile`. */
  path?: string;
};

/** The answer to a {@link Request}. */
export interface Reply {
  id: number;
  /** `process.cpuUsage()`, user + system, microseconds. */
  cpuUs?: number;
  /** `cpu`: activity executions so far (the chunk's progress). */
  executed?: number;
  rssBytes?: number;
  /** `stop`: runs in the store (mltrace configurations). */
  stored?: number;
  stats?: Record<string, unknown>;
  error?: string;
}

const config = process.argv[2] as Config;
const taskQueue = process.argv[3] ?? `bench-${config}`;
const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

let executed = 0;
const activities: StepActivities = {
  async step({ part }) {
    executed++;
    return { output: part.replace('/raw/', '/clean/') };
  },
};

async function storeOf(): Promise<LineageStore | undefined> {
  if (config === 'mltrace-postgres') {
    const url = process.env.MLTRACE_BENCH_DATABASE_URL;
    if (!url) throw new Error('MLTRACE_BENCH_DATABASE_URL is not set');
    return openPostgresStore({ url });
  }
  if (config === 'mltrace-pglite') return openPgliteStore({ dataDir: 'memory://' });
  if (config === 'mltrace-shared') {
    // The embedded store's directory, which main.ts opened first: this worker is its client.
    const dataDir = process.env.MLTRACE_BENCH_SHARED_DIR;
    if (!dataDir) throw new Error('MLTRACE_BENCH_SHARED_DIR is not set');
    return openStore({ dataDir });
  }
  if (config.startsWith('mltrace-discard')) return discardingStore();
  return undefined;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const address = process.env.MLTRACE_BENCH_TEMPORAL_ADDRESS;
  if (!address) throw new Error('MLTRACE_BENCH_TEMPORAL_ADDRESS is not set');
  const store = await storeOf();
  const spoolDir = await mkdtemp(join(tmpdir(), 'mltrace-bench-spool-'));
  let mltrace: MltracePlugin | undefined;
  let exporter: InMemorySpanExporter | undefined;
  const plugins: WorkerPlugin[] = [];
  if (store) {
    // The plugin with its defaults (recordOptions from the environment, to measure a choice).
    const overrides = JSON.parse(process.env.MLTRACE_BENCH_PLUGIN_OPTIONS ?? '{}') as object;
    mltrace = createMltracePlugin({ store, spoolDir, ...overrides });
    plugins.push(mltrace);
  } else if (config === 'otel') {
    const peer = openTelemetryPlugin();
    exporter = peer.exporter;
    plugins.push(peer.plugin);
  }
  const workflowsPath = fileURLToPath(new URL('./workflows.js', import.meta.url));
  // mltrace-discard-activity-only: the workflow code is bundled without the plugin, so only the
  // activity interceptor runs (the breakdown's split between the workflow and activity sides).
  const bundlePlugins = config === 'mltrace-discard-activity-only' ? [] : plugins;
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath,
    logger: silent,
    ...(bundlePlugins.length ? { plugins: bundlePlugins } : {}),
  });
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle,
    activities,
    maxConcurrentActivityTaskExecutions: 1000,
    maxConcurrentLocalActivityExecutions: 1000,
    ...(plugins.length ? { plugins } : {}),
  });
  const running = worker.run();

  const reply = (message: Reply) => process.send?.(message);
  let profiler: Session | undefined;
  process.on('message', (message: Request) => {
    void (async () => {
      try {
        if (message.type === 'cpu') {
          const cpu = process.cpuUsage();
          reply({
            id: message.id,
            cpuUs: cpu.user + cpu.system,
            executed,
            rssBytes: process.memoryUsage.rss(),
          });
        } else if (message.type === 'profile-start') {
          // The main thread only: the activities, the plugin's interceptor, writer and store
          // (workflows run in a worker thread of their own).
          profiler ??= new Session();
          profiler.connect();
          await profiler.post('Profiler.enable');
          await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
          await profiler.post('Profiler.start');
          reply({ id: message.id });
        } else if (message.type === 'profile-stop') {
          const { profile } = await profiler!.post('Profiler.stop');
          await writeFile(message.path!, JSON.stringify(profile));
          profiler!.disconnect();
          reply({ id: message.id });
        } else if (message.type === 'flush') {
          await mltrace?.writer.flush();
          exporter?.reset();
          reply({ id: message.id });
        } else {
          worker.shutdown();
          await running;
          let stored: number | undefined;
          if (mltrace && store) {
            await mltrace.writer.flush();
            stored = 0;
            let cursor: string | undefined;
            do {
              const page = await store.recent({ limit: 1000, ...(cursor ? { cursor } : {}) });
              stored += page.runs.length;
              cursor = page.nextCursor;
            } while (cursor);
          }
          const stats = mltrace ? { ...mltrace.stats() } : undefined;
          await mltrace?.close();
          await store?.close();
          await connection.close();
          await rm(spoolDir, { recursive: true, force: true });
          reply({ id: message.id, ...(stored !== undefined ? { stored } : {}), ...(stats ? { stats } : {}) });
          process.disconnect?.();
        }
      } catch (error) {
        reply({ id: message.id, error: String(error) });
      }
    })();
  });
  process.send?.({ id: 0 });
}

await main();
