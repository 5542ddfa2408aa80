// A Temporal worker with the mltrace plugin, run as a child process by kill.test.ts and killed
// there with SIGKILL. Plain JavaScript on the built package (dist), so that it runs under bare
// Node. Its writer never flushes on its own (a worker killed before flushing).
//
// usage: node test-worker-process.mjs <temporal address> <task queue> <bundle file> <database url>

import { openPostgresStore } from '@mltrace/store/postgres';
import { createMltracePlugin } from '@mltrace/temporal';
import { sleep } from '@temporalio/activity';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';

const [address, taskQueue, codePath, databaseUrl] = process.argv.slice(2);
Runtime.install({ logger: new DefaultLogger('WARN') });

const activities = {
  /** Sleeps, then names the part it wrote. */
  async slowStep(i, ms) {
    await sleep(ms);
    return `s3://bucket/parts/part-${i}.parquet`;
  },
};

const store = await openPostgresStore({ url: databaseUrl });
const plugin = createMltracePlugin({
  store,
  flushIntervalMs: 3_600_000,
  batchSize: 1_000_000,
  spoolDir: false,
});
const connection = await NativeConnection.connect({ address });
const worker = await Worker.create({
  connection,
  taskQueue,
  workflowBundle: { codePath },
  activities,
  plugins: [plugin],
});
process.stdout.write('ready\n');
await worker.run();
