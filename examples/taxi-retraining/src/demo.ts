/**
 * The main job: the taxi retraining demo, end to end, on embedded defaults. It starts a Temporal
 * dev server and an MLflow server of its own (or uses `TEMPORAL_ADDRESS` / `MLFLOW_TRACKING_URI`),
 * a TypeScript worker and a Python worker (training and evaluation, scikit-learn), writes
 * lineage to the embedded store under `.mltrace/` (or `MLTRACE_DATABASE_URL`), makes a DVC
 * repository of monthly taxi trips under `.mltrace/demo/`, and runs the retraining workflow twice:
 * on January (a first champion is promoted) and on March, whose data shifted (the decision is
 * recorded with its reasons). Then it prints why `models:/taxi-tip@champion` is what it is,
 * back to the DVC data version and its git commit, and stops everything it started.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { MlflowClient } from '@mltrace/mlflow';
import {
  type AliasExplanation,
  explainAlias,
  formatExplanation,
  formatMetric,
  formatPromotions,
  type RetrainingResult,
  startRetraining,
} from '@mltrace/retraining';
import { type LineageStore, openStore } from '@mltrace/store';
import { createMltracePlugin, setupSearchAttributes } from '@mltrace/temporal';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createTripsRepo, type TripsRepo } from './data-repo.js';
import { startPythonWorker } from './python-worker.js';
import { type Service, startMlflow, startTemporal } from './services.js';
import { type TaxiParams, taxiRetrainingInput } from './taxi.js';
import { createTaxiWorker } from './worker.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /**
   * Where the demo keeps its state: the lineage store (`<home>/lineage`) and, wiped at each run,
   * `<home>/demo` (the DVC repository, the servers' data and logs, pipeline files).
   * @default `$MLTRACE_HOME`, else `.mltrace` in the directory the command was run from
   */
  home?: string;
  /** The registered model. @default 'taxi-tip' */
  model?: string;
  /** Trips per month. @default 12000 */
  rows?: number;
  /** The month of the first run. @default '2020-01' */
  firstMonth?: string;
  /** The month of the second run (shifted from March 2020 on). @default '2020-03' */
  secondMonth?: string;
  /** Training parameters of both runs. @default {} */
  params?: TaxiParams;
  /** Keep the servers up and serve the mltrace web UI until `signal` aborts. @default false */
  serve?: boolean;
  /** Port of the mltrace web UI with `serve`. @default 8000 (0: any free port) */
  uiPort?: number;
  /** With `serve`: called once everything is up, with the web UIs' URLs and the runs. */
  onServing?: (serving: DemoServing) => void;
  /** Aborts the demo (Ctrl-C); everything started is stopped. */
  signal?: AbortSignal;
  /**
   * A store to use instead of opening one (tests). It is not closed. The Python worker, a process
   * of its own, writes to `MLTRACE_DATABASE_URL` or to the embedded store under `home`.
   */
  store?: LineageStore;
  /** @default process.env */
  env?: Record<string, string | undefined>;
  /** Where the demo's lines go. @default console.log */
  out?: (line: string) => void;
}

/** What the demo serves, with `serve`. */
export interface DemoServing {
  /** The mltrace server (its UI is under `/ui/`). */
  mltraceUrl: string;
  /** Temporal's web UI, when known. */
  temporalUiUrl: string | undefined;
  runs: DemoResult['runs'];
}

/** What {@link runDemo} did. */
export interface DemoResult {
  runs: Array<{ workflowId: string; result: RetrainingResult }>;
  explanation: AliasExplanation;
  repo: TripsRepo;
  taskQueue: string;
  temporalAddress: string;
  trackingUri: string;
}

/** The demo's home directory by default. */
export function defaultHome(env: Record<string, string | undefined> = process.env): string {
  const base = env.INIT_CWD ?? process.cwd();
  return env.MLTRACE_HOME ? resolve(base, env.MLTRACE_HOME) : join(base, '.mltrace');
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolvePromise, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolvePromise(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function metricsText(metrics: Record<string, number>): string {
  return ['f1', 'accuracy', 'auc']
    .filter((name) => metrics[name] !== undefined)
    .map((name) => `${name} ${formatMetric(metrics[name]!)}`)
    .join('  ');
}

/** The Temporal UI's workflow list filtered by a visibility query. */
export function temporalSearchUrl(uiUrl: string, query: string): string {
  return `${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
}

/** Runs the demo; see the module comment. Resolves when done (with `serve`: when `signal` aborts). */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const env = options.env ?? process.env;
  const out = options.out ?? ((line: string) => console.log(line));
  const base = env.INIT_CWD ?? process.cwd();
  const home = options.home ? resolve(base, options.home) : defaultHome(env);
  const demoDir = join(home, 'demo');
  const model = options.model ?? 'taxi-tip';
  const signal = options.signal;
  // Paths as the user would type them from where they ran the demo.
  const shown = (path: string) => {
    const rel = relative(base, path);
    return rel === '' ? '.' : rel.startsWith('..') ? path : rel;
  };
  const cleanups: Array<() => Promise<unknown>> = [];
  const step = <T>(promise: Promise<T>) => abortable(promise, signal);

  try {
    await rm(demoDir, { recursive: true, force: true });
    await mkdir(demoDir, { recursive: true });
    out('mltrace for Temporal: the taxi retraining demo');
    out('Starting the Temporal dev server and the MLflow server (the first MLflow start takes a while)...');
    const started = await step(
      Promise.allSettled([
        startTemporal({ dir: join(demoDir, 'temporal'), env }),
        startMlflow({ dir: join(demoDir, 'mlflow'), env }),
      ]),
    );
    for (const s of started) if (s.status === 'fulfilled') cleanups.push(() => s.value.stop());
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const [temporal, mlflowServer] = started.map((s) => (s as PromiseFulfilledResult<Service>).value) as [
      Service,
      Service,
    ];

    let store = options.store;
    if (!store) {
      const url = env.MLTRACE_DATABASE_URL;
      const opened = await step(openStore({ ...(url ? { url } : {}), dataDir: join(home, 'lineage'), env }));
      store = opened;
      cleanups.push(() => opened.close());
    }
    const lineage = store;
    const mlflow = new MlflowClient({ trackingUri: mlflowServer.address, env: {} });
    const taskQueue = `taxi-retraining-${randomBytes(3).toString('hex')}`;
    // Training and evaluation run in Python (scikit-learn), on a worker of their own: started now,
    // its imports overlap the data repository and the TypeScript worker's bundling.
    const pythonTaskQueue = `${taskQueue}-python`;
    const pythonStarting = startPythonWorker({
      temporalAddress: temporal.address,
      taskQueue: pythonTaskQueue,
      trackingUri: mlflowServer.address,
      workDir: join(demoDir, 'work'),
      home,
      logFile: join(demoDir, 'python-worker.log'),
      env,
    });
    pythonStarting.catch(() => {}); // its failure is reported where it is awaited, below
    cleanups.push(async () => (await pythonStarting.catch(() => undefined))?.stop());

    const repo = await step(
      createTripsRepo({ dir: join(demoDir, 'trips'), rows: options.rows ?? 12_000, env }),
    );
    out('');
    out(
      `  lineage store  ${env.MLTRACE_DATABASE_URL && !options.store ? 'MLTRACE_DATABASE_URL' : options.store ? '(given)' : `${shown(join(home, 'lineage'))} (embedded PGlite)`}`,
    );
    out(
      `  Temporal       ${temporal.address}${temporal.external ? ' (TEMPORAL_ADDRESS)' : ` (dev server, log ${shown(temporal.logFile!)})`}`,
    );
    out(
      `  MLflow         ${mlflowServer.address}${mlflowServer.external ? ' (MLFLOW_TRACKING_URI)' : ` (log ${shown(mlflowServer.logFile!)})`}`,
    );
    out(
      `  data           ${shown(repo.dir)} (git + DVC): data/trips.csv at tags ${Object.keys(repo.commits).join(', ')}`,
    );

    // With --serve, the mltrace UI is up before the runs, so their pages in Temporal's UI link to it.
    let server: { url: string; loginUrl(): string | undefined; close(): Promise<void> } | undefined;
    if (options.serve) {
      const { createServer, loadServerToken } = await import('@mltrace/server');
      // The same token `mltrace serve` keeps in this home: the UI opens through a one-time link.
      const { token } = await loadServerToken({ env: { MLTRACE_HOME: home } });
      const started = await createServer({
        store: lineage,
        token,
        port: options.uiPort ?? 8000,
        ...(temporal.uiUrl ? { temporalUiUrl: temporal.uiUrl } : {}),
      });
      server = started;
      cleanups.push(() => started.close());
    }
    const connection = await step(Connection.connect({ address: temporal.address }));
    cleanups.push(() => connection.close());
    // What `mltrace temporal setup` does: the search attributes that find workflows by artifact.
    const setup = await step(setupSearchAttributes({ connection, namespace: 'default' }));
    out(
      `  search attrs   ${setup.added.length ? `registered ${setup.added.join(', ')}` : `${setup.existing.join(', ')} (registered already)`}`,
    );
    const plugin = createMltracePlugin({
      store: lineage,
      flushIntervalMs: 200,
      spoolDir: join(home, 'spool'),
      env,
      ...(server ? { uiUrl: server.url } : {}),
    });
    cleanups.push(() => plugin.close());
    const native = await step(NativeConnection.connect({ address: temporal.address }));
    cleanups.push(() => native.close());
    const client = new Client({ connection, plugins: [plugin] });
    const worker = await step(
      createTaxiWorker({
        connection: native,
        taskQueue,
        store: lineage,
        mlflow,
        plugin,
        workDir: join(demoDir, 'work'),
        env,
      }),
    );
    const running = worker.run();
    cleanups.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => {});
    });
    const python = await step(pythonStarting);
    out(
      `  Python worker  train_taxi_model, evaluate_taxi_model (scikit-learn) on ${pythonTaskQueue} (log ${shown(python.logFile)})`,
    );

    const runs: DemoResult['runs'] = [];
    const months = [
      { rev: options.firstMonth ?? '2020-01', why: 'a first champion' },
      { rev: options.secondMonth ?? '2020-03', why: 'the data shifted in March' },
    ];
    for (const [index, month] of months.entries()) {
      const workflowId = `retrain-${model}-${month.rev}-${Date.now().toString(36)}`;
      out('');
      out(`Run ${index + 1}: retrain ${model} on ${month.rev} (${month.why})`);
      out(
        `  workflow   ${workflowId}${temporal.uiUrl ? ` (${temporal.uiUrl}/namespaces/default/workflows/${workflowId})` : ''}`,
      );
      const handle = await step(
        startRetraining({
          client,
          taskQueue,
          workflowId,
          input: taxiRetrainingInput({
            repo: repo.dir,
            rev: month.rev,
            model,
            params: options.params ?? {},
            pythonTaskQueue,
          }),
        }),
      );
      // Under the abort signal, the long poll for the result stops with the demo (no poll
      // outlives the connection).
      const result = await step(
        signal ? connection.withAbortSignal(signal, () => handle.result()) : handle.result(),
      );
      runs.push({ workflowId, result });
      const d = result.decision;
      out(
        `  data       ${result.data.uri}@${result.data.version} (commit ${result.data.commit.slice(0, 12)})`,
      );
      out(`  trained    in Python (scikit-learn), MLflow run ${result.trainingRunId}`);
      out(`  candidate  ${result.candidate.uri}  ${metricsText(d.metrics.candidate)}`);
      if (result.champion && d.metrics.champion) {
        out(`  champion   ${result.champion.uri}  ${metricsText(d.metrics.champion)}`);
      }
      if (result.drift) {
        out(
          `  drift      ${result.drift.drifted.length} of ${result.drift.features.length} features beyond the limits${result.drift.drifted.length ? `: ${result.drift.drifted.join(', ')}` : ''}`,
        );
      }
      out(`  decision   ${d.outcome}`);
      for (const reason of d.reasons) out(`    - ${reason}`);
      out(
        result.promoted
          ? `  alias      models:/${model}@champion -> version ${result.candidate.version}`
          : `  alias      models:/${model}@champion stays at ${d.previousChampion ? `version ${d.previousChampion}` : 'no version'}`,
      );
    }

    await plugin.writer.flush();
    // The Python worker's lineage too: it flushes on SIGTERM, and has nothing left to run.
    await step(python.stop());
    const explanation = await step(
      explainAlias({ store: lineage, uri: `models:/${model}@champion`, mlflow }),
    );
    out('');
    out(`Why is models:/${model}@champion what it is? (the lineage, from the alias back to the data)`);
    for (const line of formatExplanation(explanation).trimEnd().split('\n')) out(`  ${line}`);
    out('');
    out(`Promotion decisions of ${model}:`);
    const decisions = await lineage.promotions({ model, limit: 10 });
    for (const line of formatPromotions(decisions).trimEnd().split('\n')) out(`  ${line}`);

    // The CLI finds the same embedded store by MLTRACE_HOME (or MLTRACE_DATABASE_URL).
    const storeEnv =
      options.store || env.MLTRACE_DATABASE_URL || home === defaultHome(env)
        ? ''
        : `MLTRACE_HOME=${shown(home)} `;
    out('');
    out('Look around:');
    const look = (what: string, how: string) => out(`  ${what.padEnd(40)} ${how}`);
    look('the lineage graph, in the terminal', `${storeEnv}npx mltrace trace models:/${model}@champion`);
    look('the decisions and their reasons', `${storeEnv}npx mltrace promotions ${model}`);
    const champion = runs.find((r) => r.result.promoted)?.result.candidate;
    if (champion) {
      const query = `MltraceModelVersions = "${champion.uri}"`;
      look(`the workflow that produced ${champion.uri}`, `temporal workflow list --query '${query}'`);
      if (temporal.uiUrl) {
        look('  (the same search in the Temporal UI)', temporalSearchUrl(temporal.uiUrl, query));
      }
    }
    if (server) {
      look('the mltrace web UI (a one-time link)', server.loginUrl() ?? `${server.url}/ui/`);
      if (temporal.uiUrl) {
        const last = (runs.find((r) => r.result.promoted) ?? runs[0])?.workflowId;
        look(
          "Temporal's UI (lineage in each workflow's details)",
          last
            ? `${temporal.uiUrl}/namespaces/default/workflows/${last}`
            : `${temporal.uiUrl}/namespaces/default/workflows`,
        );
      }
      look('the MLflow UI (the registered model)', `${mlflowServer.address}/#/models/${model}`);
      out('');
      out('Serving until Ctrl-C.');
      options.onServing?.({ mltraceUrl: server.url, temporalUiUrl: temporal.uiUrl, runs });
      if (signal)
        await new Promise<void>((resolveWait) =>
          signal.addEventListener('abort', () => resolveWait(), { once: true }),
        );
    } else {
      look(
        'the web UIs (mltrace, Temporal, MLflow)',
        'npm run demo -- --serve (keeps the servers up until Ctrl-C)',
      );
    }
    return {
      runs,
      explanation,
      repo,
      taskQueue,
      temporalAddress: temporal.address,
      trackingUri: mlflowServer.address,
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}
