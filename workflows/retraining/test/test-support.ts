/**
 * The test harness of the retraining workflow (not part of the package): a real Temporal dev
 * server, MLflow server, PostgreSQL store and DVC repository, one worker with the mltrace plugin,
 * and a tiny "model" whose quality is a training parameter, so each test sets the metrics it
 * needs while every system on the way is real.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MlflowClient } from '@mltrace/mlflow';
import type { LineageStore, RunSummary } from '@mltrace/store';
import { openPostgresStore } from '@mltrace/store/postgres';
import { createMltracePlugin, type MltracePlugin } from '@mltrace/temporal';
import {
  createDvcWorkspace,
  type DvcWorkspace,
  mlflowTrackingUri,
  temporalAddress,
  testDatabaseUrl,
} from '@mltrace/test-helpers';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createRetrainingActivities } from '../src/activities.js';
import { retrainingWorkflowsPath } from '../src/client.js';
import type { EvaluationResult, RetrainingInput, StepContext, TrainResult } from '../src/types.js';

/** A unique name for a task queue, a model, a workflow id. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** A seeded sample of `n` rows of two numeric features, x1 ~ N(mu, 1) and x2 ~ U(0, 10). */
export function featureCsv(n: number, seed: number, mu = 0): string {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const lines = ['x1,x2'];
  for (let i = 0; i < n; i++) {
    const x1 = mu + Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
    lines.push(`${x1.toFixed(5)},${(uniform() * 10).toFixed(5)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The quality a test asks of its candidate: the "model" reports these metrics when evaluated. */
export interface StubQuality {
  f1: number;
  auc: number;
  /** Sleep this long while training, heartbeating. @default 0 */
  trainMs?: number;
}

async function stubTrain(
  context: StepContext,
  helpers: Parameters<NonNullable<Parameters<typeof createRetrainingActivities>[0]['train']>>[1],
): Promise<TrainResult> {
  const quality = context.params.quality as StubQuality;
  const experimentId = await helpers.experimentId(context.experiment);
  const run = await helpers.mlflow.createRun({
    experimentId,
    runName: `train-${context.data.version.slice(0, 8)}`,
  });
  const runId = run.info.runId;
  const dir = await helpers.workDir('runs', runId);
  const modelPath = join(dir, 'model.json');
  await writeFile(
    modelPath,
    JSON.stringify({ kind: 'stub', f1: quality.f1, auc: quality.auc, data: context.data.version }),
  );
  if (quality.trainMs) {
    const until = Date.now() + quality.trainMs;
    while (Date.now() < until && !helpers.signal.aborted) {
      helpers.heartbeat({ remainingMs: until - Date.now() });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  await helpers.logArtifact(runId, modelPath, 'model');
  await helpers.mlflow.logBatch({
    runId,
    params: { f1: String(quality.f1) },
    metrics: { train_f1: quality.f1 },
  });
  await helpers.mlflow.updateRun({ runId, status: 'FINISHED', endTime: Date.now() });
  return { runId, artifactPath: 'model', metrics: { train_f1: quality.f1 } };
}

async function stubEvaluate(
  input: Parameters<NonNullable<Parameters<typeof createRetrainingActivities>[0]['evaluate']>>[0],
  helpers: Parameters<NonNullable<Parameters<typeof createRetrainingActivities>[0]['evaluate']>>[1],
): Promise<EvaluationResult> {
  const dir = await helpers.modelFiles(input.model);
  const model = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as { f1: number; auc: number };
  return { metrics: { f1: model.f1, auc: model.auc } };
}

/** Everything a test file needs, started once in `beforeAll`. */
export interface Harness {
  store: LineageStore;
  mlflow: MlflowClient;
  client: Client;
  plugin: MltracePlugin;
  taskQueue: string;
  /** The DVC repository: `data/features.csv` at tags `v1`, `v2` (same distribution) and `v3` (shifted). */
  dvc: DvcWorkspace;
  workDir: string;
  /** A retraining input for a model on the DVC repository's features at a tag. */
  input(
    model: string,
    rev: string,
    quality: StubQuality,
    overrides?: Partial<RetrainingInput>,
  ): RetrainingInput;
  /** The runs of one workflow in the store, oldest first, once the plugin has flushed. */
  runsOf(workflowId: string): Promise<RunSummary[]>;
  close(): Promise<void>;
}

let runtimeInstalled = false;

/** Starts the harness: a store on a fresh PostgreSQL database, a DVC repo, a worker. */
export async function startHarness(name: string): Promise<Harness> {
  if (!runtimeInstalled) {
    runtimeInstalled = true;
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // installed already in this process
    }
  }
  const store = await openPostgresStore({ url: await testDatabaseUrl() });
  const mlflow = new MlflowClient({ trackingUri: mlflowTrackingUri(), env: {} });
  const workDir = await mkdtemp(join(tmpdir(), 'mltrace-retraining-'));
  await mkdir(workDir, { recursive: true });
  const dvc = await createDvcWorkspace();
  for (const [tag, seed, mu] of [
    ['v1', 1, 0],
    ['v2', 2, 0],
    ['v3', 3, 1.5],
  ] as const) {
    await dvc.writeFile('data/features.csv', featureCsv(3000, seed, mu));
    await dvc.dvc('add', 'data/features.csv');
    await dvc.commit(`features ${tag}`);
    await dvc.git('tag', tag);
  }
  const plugin = createMltracePlugin({ store, flushIntervalMs: 100, spoolDir: false, gitCommit: false });
  const taskQueue = unique(name);
  const native = await NativeConnection.connect({ address: temporalAddress() });
  const connection = await Connection.connect({ address: temporalAddress() });
  const client = new Client({ connection, plugins: [plugin] });
  const activities = createRetrainingActivities({
    store,
    mlflow,
    workDir,
    train: stubTrain,
    evaluate: stubEvaluate,
    heartbeatIntervalMs: 500,
    env: { ...process.env, ...dvc.env },
  });
  const worker = await Worker.create({
    connection: native,
    taskQueue,
    workflowsPath: retrainingWorkflowsPath(),
    activities,
    plugins: [plugin],
  });
  const running = worker.run();
  return {
    store,
    mlflow,
    client,
    plugin,
    taskQueue,
    dvc,
    workDir,
    input(model, rev, quality, overrides = {}) {
      return {
        model,
        data: { repo: dvc.dir, path: 'data/features.csv', rev },
        policy: {
          primaryMetric: { name: 'f1', minImprovement: 0.01, minValue: 0.5 },
          guardMetrics: [{ name: 'auc', maxRegression: 0.02 }],
          drift: { psi: 0.25, ks: 0.2 },
        },
        params: { quality },
        steps: { initialRetryInterval: '200ms', train: { heartbeatTimeout: '10s' } },
        ...overrides,
      };
    },
    async runsOf(workflowId) {
      await plugin.writer.flush();
      const out: RunSummary[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.recent({ limit: 500, ...(cursor ? { cursor } : {}) });
        out.push(...page.runs.filter((run) => run.workflow.workflowId === workflowId));
        cursor = page.nextCursor;
      } while (cursor);
      return out.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || a.id - b.id);
    },
    async close() {
      worker.shutdown();
      await running.catch(() => {});
      await plugin.close().catch(() => {});
      await connection.close();
      await native.close();
      await store.close();
      await dvc.cleanup();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}
