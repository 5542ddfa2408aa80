import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlflowClient } from '@mltrace/mlflow';
import { startRetraining } from '@mltrace/retraining';
import type { LineageStore } from '@mltrace/store';
import { openPostgresStore } from '@mltrace/store/postgres';
import { eventually, mlflowTrackingUri, temporalAddress, testDatabaseUrl } from '@mltrace/test-helpers';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTripsRepo, type TripsRepo } from '../src/data-repo.js';
import { type PythonWorker, startPythonWorker } from '../src/python-worker.js';
import { PYTHON_ACTIVITIES, taxiRetrainingInput } from '../src/taxi.js';

const WORKER_MAIN = fileURLToPath(new URL('../dist/worker-main.js', import.meta.url));

let dir: string;
let databaseUrl: string;
let store: LineageStore;
let repo: TripsRepo;
let connection: Connection;
let client: Client;
const workers: ChildProcess[] = [];
const pythonWorkers: PythonWorker[] = [];

/** Starts the taxi worker as a process of its own; resolves once it polls. */
function startWorker(taskQueue: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [WORKER_MAIN], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: temporalAddress(),
      MLFLOW_TRACKING_URI: mlflowTrackingUri(),
      MLTRACE_DATABASE_URL: databaseUrl,
      MLTRACE_TASK_QUEUE: taskQueue,
      MLTRACE_WORK_DIR: join(dir, 'work'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker ready')) resolve(child);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`the worker exited (${code ?? signal}) before it was ready:\n${output}`)),
    );
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts the taxi example's Python worker (training and evaluation) on its own task queue. */
async function startPython(taskQueue: string, name: string): Promise<PythonWorker> {
  const worker = await startPythonWorker({
    temporalAddress: temporalAddress(),
    taskQueue,
    trackingUri: mlflowTrackingUri(),
    workDir: join(dir, 'work'),
    home: join(dir, 'python-home'),
    logFile: join(dir, `${name}.log`),
    env: { ...process.env, MLTRACE_DATABASE_URL: databaseUrl },
  });
  pythonWorkers.push(worker);
  return worker;
}

beforeAll(async () => {
  if (!existsSync(WORKER_MAIN)) {
    throw new Error(
      `${WORKER_MAIN} is missing: build first (npx turbo run build --filter=@mltrace/example-taxi-retraining)`,
    );
  }
  dir = await mkdtemp(join(tmpdir(), 'mltrace-crash-'));
  databaseUrl = await testDatabaseUrl();
  store = await openPostgresStore({ url: databaseUrl });
  repo = await createTripsRepo({ dir: join(dir, 'trips'), months: ['2020-01'], rows: 3000 });
  connection = await Connection.connect({ address: temporalAddress() });
  client = new Client({ connection });
});

afterAll(async () => {
  for (const worker of pythonWorkers) await worker.stop();
  for (const worker of workers) {
    if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGTERM');
    await exited(worker);
  }
  await connection?.close();
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * Kills the worker that trains with SIGKILL once training heartbeats, starts another, and checks
 * the run completes with one consistent lineage. `python`: training runs on the Python worker
 * (as in the demo) and that is the one killed; otherwise on the TypeScript worker.
 */
async function crashDuringTraining(python: boolean): Promise<void> {
  const taskQueue = `taxi-crash-${Date.now().toString(36)}`;
  const model = `taxi-crash-${python ? 'py-' : ''}${Date.now().toString(36)}`;
  const pythonTaskQueue = `${taskQueue}-python`;
  const trainActivity = python ? PYTHON_ACTIVITIES.train : 'retrainingTrain';
  const first = await startWorker(taskQueue);
  const firstPython = python ? await startPython(pythonTaskQueue, 'python-1') : undefined;
  const handle = await startRetraining({
    client,
    taskQueue,
    workflowId: `retrain-${model}`,
    input: taxiRetrainingInput({
      repo: repo.dir,
      rev: '2020-01',
      model,
      params: { slowTrainingMs: 6000, epochs: 100 },
      ...(python ? { pythonTaskQueue } : {}),
      overrides: { steps: { initialRetryInterval: '200ms', train: { heartbeatTimeout: '4s' } } },
    }),
  });

  // Wait until training has started and heartbeats, then kill its worker outright.
  const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { raw } = await handle.describe();
    const training = raw.pendingActivities?.find((a) => a.activityType?.name === trainActivity);
    if (training?.state === STARTED && training.lastHeartbeatTime) break;
    if (Date.now() > deadline) throw new Error('training never started');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (firstPython) {
    await firstPython.kill();
    await startPython(pythonTaskQueue, 'python-2');
  } else {
    first.kill('SIGKILL');
    await exited(first);
    await startWorker(taskQueue);
  }
  const result = await handle.result();
  expect(result.decision.outcome).toBe('promote');
  expect(result.promoted).toBe(true);

  // Temporal retried the training on the new worker (the second attempt, or a later one on a
  // loaded machine).
  const history = await handle.fetchHistory();
  const trainScheduled = history.events?.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === trainActivity,
  );
  const trainStarted = history.events?.find(
    (e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId) === Number(trainScheduled?.eventId),
  );
  const finalAttempt = trainStarted?.activityTaskStartedEventAttributes?.attempt ?? 0;
  expect(finalAttempt).toBeGreaterThanOrEqual(2);
  const activityId = trainScheduled!.activityTaskScheduledEventAttributes!.activityId!;

  // The lineage: the final attempt succeeded and is the one the chain goes through; the killed
  // attempt (if its start was recorded before the kill) never succeeded and produced nothing.
  const { runId } = await handle.describe();
  const keyOf = (attempt: number) => `temporal:default/retrain-${model}/${runId}/${activityId}/${attempt}`;
  // The workers write lineage in the background (a flush every 500 ms), so the last activities'
  // runs may land just after the workflow's result: wait for the alias's lineage to reach training.
  await eventually(
    async () =>
      (await store.trace({ uri: `models:/${model}@champion` })).runs.some(
        (run) => run.runKey === keyOf(finalAttempt),
      ),
    "the champion's lineage to be written",
  );
  const retried = await store.run(keyOf(finalAttempt));
  expect(retried.status).toBe('succeeded');
  expect(retried.outputs.map((p) => p.uri)).toEqual([`runs:/${result.trainingRunId}/model`]);
  if (python) expect(retried.metadata).toMatchObject({ language: 'python', taskQueue: pythonTaskQueue });
  for (let attempt = 1; attempt < finalAttempt; attempt++) {
    const earlier = await store.run(keyOf(attempt)).catch(() => undefined);
    if (!earlier) continue;
    expect(earlier.status).not.toBe('succeeded');
    expect(earlier.outputs).toEqual([]);
  }
  const graph = await store.trace({ uri: `models:/${model}@champion` });
  const trains = graph.runs.filter((run) => run.component === 'train');
  expect(trains.map((run) => run.runKey)).toEqual([keyOf(finalAttempt)]);
  expect(graph.runs.some((run) => run.source === 'dvc' && run.gitCommit === repo.commits['2020-01'])).toBe(
    true,
  );

  // One registered version, from the retried attempt's MLflow run; one decision.
  const mlflow = new MlflowClient({ trackingUri: mlflowTrackingUri(), env: {} });
  const versions = await mlflow.listVersionsOfModel(model);
  expect(versions.map((v) => [v.version, v.runId])).toEqual([['1', result.trainingRunId]]);
  expect((await store.promotions({ model })).map((d) => d.decision)).toEqual(['promote']);
}

describe('a worker killed in the middle of training', () => {
  it('is replaced by a restarted worker that completes the workflow, with one consistent lineage', async () => {
    await crashDuringTraining(false);
  }, 240_000);

  it('on the Python worker (scikit-learn, as the demo trains), the same: a new Python worker completes the run, one lineage', async () => {
    await crashDuringTraining(true);
  }, 240_000);
});
