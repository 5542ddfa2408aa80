/**
 * The taxi worker as a process of its own (`node dist/worker-main.js`), configured by the
 * environment: `TEMPORAL_ADDRESS`, `MLFLOW_TRACKING_URI`, `MLTRACE_DATABASE_URL` (PostgreSQL:
 * several processes share it), `MLTRACE_TASK_QUEUE` and `MLTRACE_WORK_DIR`. Stops on SIGTERM or
 * SIGINT, flushing its lineage. The crash test kills it with SIGKILL in the middle of training.
 * @module
 */
import { MlflowClient } from '@mltrace/mlflow';
import { openStore } from '@mltrace/store';
import { createMltracePlugin } from '@mltrace/temporal';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createTaxiWorker } from './worker.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

// SIGTERM and SIGINT shut the worker down below (then lineage is flushed), not the runtime's own hook.
Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
const store = await openStore({ url: required('MLTRACE_DATABASE_URL') });
const plugin = createMltracePlugin({ store, flushIntervalMs: 100, spoolDir: false });
const connection = await NativeConnection.connect({ address: required('TEMPORAL_ADDRESS') });
const worker = await createTaxiWorker({
  connection,
  taskQueue: required('MLTRACE_TASK_QUEUE'),
  store,
  mlflow: new MlflowClient({ trackingUri: required('MLFLOW_TRACKING_URI'), env: {} }),
  plugin,
  workDir: required('MLTRACE_WORK_DIR'),
});
const stop = () => worker.shutdown();
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.stdout.write('worker ready\n');
try {
  await worker.run();
} finally {
  await plugin.close();
  await connection.close();
  await store.close();
}
