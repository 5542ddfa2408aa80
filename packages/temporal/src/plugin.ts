import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Context } from '@temporalio/activity';
import { SimplePlugin } from '@temporalio/plugin';
import type { Worker, WorkerOptions } from '@temporalio/worker';
import { ActivityRecorder, type RecorderStats } from './activity.js';
import { MltraceWorkflowClientInterceptor } from './client.js';
import { gitCommitOf } from './git.js';
import { PatchGate } from './namespace.js';
import { type MltracePluginOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { checkTemporalSdk } from './sdk.js';
import { LineageWriter, type WriterStats } from './writer.js';

/**
 * The path of a workflow interceptor module of this package: the compiled `.js` next to this
 * file, or the `.ts` source when running from source (tests); the workflow bundler compiles both.
 */
export function workflowInterceptorModule(searchAttributes = false): string {
  const name = searchAttributes ? 'search-attributes' : 'index';
  const js = fileURLToPath(new URL(`./workflow/${name}.js`, import.meta.url));
  if (existsSync(js)) return js;
  return fileURLToPath(new URL(`./workflow/${name}.ts`, import.meta.url));
}

/** What {@link MltracePlugin.stats} returns. */
export interface PluginStats extends WriterStats {
  /** The activity interceptor's counters. */
  recorder: RecorderStats;
}

/**
 * The mltrace plugin for Temporal workers, replay workers, the workflow bundler and clients.
 * Create it with {@link createMltracePlugin}.
 *
 * - Worker: the activity interceptor (one ComponentRun per attempt, through {@link writer}), the
 *   workflow interceptor module (when the worker bundles from `workflowsPath`), the client
 *   interceptor for clients used inside activities; flushes the writer when the worker stops.
 * - Bundler (`bundleWorkflowCode({ plugins })`): the workflow interceptor module.
 * - Replay worker: the workflow interceptor module (activity interceptors never run on replay).
 * - Client: the client interceptor.
 */
export class MltracePlugin extends SimplePlugin {
  /** The options with every default applied. */
  readonly config: ResolvedOptions;
  /** The queue to the lineage store: `plugin.writer.stats()`, `flush()`, `close()`. */
  readonly writer: LineageWriter;
  private readonly recorder: ActivityRecorder;
  private gitResolved = false;
  private readonly gate: PatchGate;

  constructor(options: MltracePluginOptions = {}) {
    const config = resolveOptions(options);
    const writer = new LineageWriter({ ...config, logger: config.logger });
    const recorder = new ActivityRecorder(config, writer);
    const clientInterceptor = new MltraceWorkflowClientInterceptor({ uiUrl: config.uiUrl });
    super({
      name: 'mltrace',
      clientInterceptors: { workflow: [clientInterceptor] },
      workerInterceptors: {
        client: { workflow: [clientInterceptor] },
        workflowModules: [workflowInterceptorModule(config.searchAttributes !== false)],
      },
    });
    this.config = config;
    this.writer = writer;
    this.recorder = recorder;
    this.gate = new PatchGate(config.searchAttributes, config.logger);
  }

  /**
   * Checks the installed Temporal SDK is within the peer range (a `ConfigError`
   * naming the range when not), adds the interceptors and registers the worker's activities
   * (their `component()` specs and code); resolves the git commit once and starts the writer
   * (replaying any leftover spool).
   */
  override configureWorker(options: WorkerOptions): WorkerOptions {
    checkTemporalSdk();
    this.recorder.register(options.activities);
    const recorder = this.recorder;
    const worker = options.identity ?? `${process.pid}@${hostname()}`;
    const activity = [
      ...(options.interceptors?.activity ?? []),
      (ctx: Context) => ({ inbound: recorder.interceptor(ctx, worker) }),
    ];
    if (!this.gitResolved) {
      this.gitResolved = true;
      this.recorder.gitCommit = gitCommitOf(this.config);
    }
    this.writer.start();
    // Search attributes on when the namespace has them (checked once; runWorker waits for it).
    this.gate.check(options.connection, options.namespace ?? 'default');
    const patchActivationCallback = this.gate.callback(options.patchActivationCallback);
    return super.configureWorker({
      ...options,
      patchActivationCallback,
      interceptors: { ...options.interceptors, activity },
    });
  }

  /** Runs the worker, then flushes the writer when it shuts down. */
  override runWorker(worker: Worker, next: (w: Worker) => Promise<void>): Promise<void> {
    return super.runWorker(worker, async (w) => {
      try {
        await this.gate.ready();
        await next(w);
      } finally {
        await this.writer.flush();
      }
    });
  }

  /**
   * The writer's counters (queued, written, spooled, replayed, dropped...) and, under
   * `recorder`, the activity interceptor's: attempts, and the work done when records are built
   * (previews, pointer scans, hashes, code snapshots), which never happens on the activity's path.
   */
  stats(): PluginStats {
    return { ...this.writer.stats(), recorder: this.recorder.stats() };
  }

  /** Flushes and closes the writer (and the store, if the plugin opened it). */
  close(): Promise<void> {
    return this.writer.close();
  }
}

/**
 * Creates the mltrace plugin. Pass it to `Worker.create({ plugins })` (and to
 * `bundleWorkflowCode({ plugins })` when bundling ahead of time), to `Worker.runReplayHistories`
 * and to `new Client({ plugins })`.
 *
 * @example
 * ```ts
 * const plugin = createMltracePlugin({ store: await openPostgresStore({ url }) });
 * const worker = await Worker.create({ connection, taskQueue, workflowsPath, activities, plugins: [plugin] });
 * await worker.run(); // flushes lineage on shutdown
 * ```
 */
export function createMltracePlugin(options: MltracePluginOptions = {}): MltracePlugin {
  return new MltracePlugin(options);
}
