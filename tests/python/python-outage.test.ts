/**
 * The TypeScript plugin's outage and SIGKILL tests (packages/temporal/test/outage.test.ts,
 * kill.test.ts) on a Python worker process. The store is a PostgreSQL server of this file's own,
 * really shut down (a fast shutdown: connections closed, new ones refused) and started again on
 * the same port and data; the Python writer sees a real outage, not a fake.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LineageStore, openStore } from '@mltrace/store';
import { backfill } from '@mltrace/temporal';
import {
  createTestDatabase,
  eventually,
  type PostgresServer,
  startPostgres,
  temporalAddress,
} from '@mltrace/test-helpers';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runsOfWorkflow, startPythonWorker, stop, stopWithStats, unique } from './python-worker.js';

let postgres: PostgresServer;
let url: string;
let store: LineageStore;
let dir: string;
let connection: Connection;
let client: Client;
const cleanup: ChildProcess[] = [];

beforeAll(async () => {
  postgres = await startPostgres({ dedicated: true }); // ours to stop; the shared one is not
  url = (await createTestDatabase(postgres.adminUrl)).url;
  store = await openStore({ url }); // migrates
  dir = await mkdtemp(join(tmpdir(), 'mltrace-py-outage-'));
  connection = await Connection.connect({ address: temporalAddress() });
  client = new Client({ connection });
});
afterAll(async () => {
  for (const child of cleanup) child.kill('SIGKILL');
  await connection?.close();
  await store?.close();
  await postgres?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The spool's files (NDJSON, one prepared run a line), oldest first. */
async function spoolFiles(home: string): Promise<string[]> {
  const spool = join(home, 'spool', 'python');
  const names = await readdir(spool).catch(() => [] as string[]);
  return names
    .filter((n) => n.endsWith('.ndjson'))
    .sort()
    .map((n) => join(spool, n));
}

describe('the store of a Python worker going away in the middle of a workflow', () => {
  it('neither fails nor retries an activity, spools every record, and replays each once the store is back', {
    timeout: 180_000,
  }, async () => {
    const home = join(dir, 'outage');
    const queue = unique('py-outage');
    const worker = await startPythonWorker(
      queue,
      { ...process.env, MLTRACE_DATABASE_URL: url, MLTRACE_HOME: home },
      dir,
    );
    cleanup.push(worker);
    const workflowId = unique('Many');
    const handle = await client.workflow.start('Many', { taskQueue: queue, workflowId, args: [200, 4] });
    await eventually(
      async () => (await runsOfWorkflow(store, workflowId)).length >= 20,
      'the first records to be written',
    );
    await postgres.shutDown();
    expect((await handle.describe()).status.name).toBe('RUNNING'); // the outage starts mid-run
    await eventually(async () => (await spoolFiles(home)).length > 0, 'the Python writer to spool');
    expect(await handle.result()).toBe((200 * 201) / 2); // completes while the store is away
    const runId = handle.firstExecutionRunId;
    // No attempt failed or timed out: every activity completed on its first attempt.
    const history = await handle.fetchHistory();
    const started = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
    expect(started).toHaveLength(200);
    expect(started.every((e) => e.activityTaskStartedEventAttributes!.attempt === 1)).toBe(true);

    await postgres.startAgain();
    await eventually(async () => (await spoolFiles(home)).length === 0, 'the spool to be replayed');
    const stats = await stopWithStats(worker);
    expect(stats).toMatchObject({ queued: 0, dropped: 0, invalid: 0, degraded: false });
    expect(stats.spooled).toBeGreaterThan(0);
    expect(stats.replayed).toBe(stats.spooled);

    const runs = await runsOfWorkflow(store, workflowId);
    const expected = Array.from(
      { length: 200 },
      (_, i) => `temporal:default/${workflowId}/${runId}/${i + 1}/1`,
    );
    expect(runs.map((r) => r.runKey).sort()).toEqual(expected.sort()); // one run per attempt, none twice
    expect(runs.every((r) => r.status === 'succeeded' && r.endedAt !== null)).toBe(true);
  });
});

describe('a Python worker killed with SIGKILL while its store is away', () => {
  it('loses nothing for good: its restart replays what it spooled, backfill restores the rest, no duplicates', {
    timeout: 180_000,
  }, async () => {
    const home = join(dir, 'killed');
    const queue = unique('py-killed');
    const env = { ...process.env, MLTRACE_DATABASE_URL: url, MLTRACE_HOME: home };
    await postgres.shutDown();
    const worker = await startPythonWorker(queue, env, dir);
    cleanup.push(worker);
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      worker.once('exit', (_c, signal) => resolve(signal)),
    );
    const workflowId = unique('Slow');
    const handle = await client.workflow.start('Slow', { taskQueue: queue, workflowId, args: [10, 1500] });
    const runId = handle.firstExecutionRunId;
    const prefix = (activityId: number) => `temporal:default/${workflowId}/${runId}/${activityId}/`;
    const completedEvents = async () =>
      ((await handle.fetchHistory()).events ?? []).filter((e) => e.activityTaskCompletedEventAttributes)
        .length;
    /** Run key -> the last status the spool holds for it. */
    const readSpool = async () => {
      const spooled = new Map<string, string>();
      for (const file of await spoolFiles(home)) {
        for (const line of (await readFile(file, 'utf8')).split('\n').filter(Boolean)) {
          const row = JSON.parse(line) as { run_key: string; status: string };
          spooled.set(row.run_key, row.status);
        }
      }
      return spooled;
    };
    // Kill it mid-batch: a few activities done and spooled, one running, its start spooled too.
    await eventually(async () => {
      const completed = await completedEvents();
      const spooled = await readSpool();
      return completed >= 3 && spooled.get(`${prefix(completed + 1)}1`) === 'running';
    }, 'a few activities to complete and the next one to start, all spooled');
    worker.kill('SIGKILL'); // what is queued in memory is lost, the spool stays
    expect(await exited).toBe('SIGKILL');
    const completed = await completedEvents();
    expect(completed).toBeLessThan(10); // killed mid-run
    const spooled = await readSpool();
    const killedAttempt = `${prefix(completed + 1)}1`;
    expect(spooled.get(killedAttempt)).toBe('running'); // still running when killed
    const spooledDone = [...spooled].filter(([, status]) => status === 'succeeded').map(([key]) => key);
    expect(spooledDone.length).toBeGreaterThan(0);

    await postgres.startAgain();
    expect(await runsOfWorkflow(store, workflowId)).toEqual([]); // nothing reached the store yet
    // The restart, same folder: its writer replays the spool; the workflow carries on there.
    const restarted = await startPythonWorker(queue, env, dir);
    cleanup.push(restarted);
    expect(await handle.result()).toBe(10);
    await eventually(async () => (await spoolFiles(home)).length === 0, 'the spool to be replayed');
    const stats = await stopWithStats(restarted);
    expect(stats).toMatchObject({ queued: 0, dropped: 0, invalid: 0, degraded: false });
    expect(stats.replayed).toBeGreaterThan(0);
    for (const key of spooledDone) expect((await store.run(key)).status).toBe('succeeded');
    expect((await store.run(killedAttempt)).status).toBe('running'); // what the spool knew

    // What the killed worker held in memory only, backfill rebuilds from the history; the attempt
    // it was running, which Temporal retried, it marks failed with the timeout the retry names.
    const counts = await backfill({ client, store, workflowId });
    expect(counts).toMatchObject({ workflows: 1, activities: 10, pending: 0 });
    // Lost in memory: the completed activities whose final record never reached the spool.
    expect(counts.created + counts.updated).toBe(completed - spooledDone.length + 1);
    expect(counts.created + counts.updated + counts.unchanged).toBe(10 + 1);
    const again = await backfill({ client, store, workflowId });
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 10 });

    const runs = await runsOfWorkflow(store, workflowId);
    expect(new Set(runs.map((r) => r.runKey)).size).toBe(runs.length); // none twice
    expect(runs.filter((r) => r.status === 'running')).toEqual([]);
    for (let i = 1; i <= 10; i++) {
      const attempts = runs.filter((r) => r.runKey.startsWith(prefix(i)));
      expect(attempts.filter((r) => r.status === 'succeeded')).toHaveLength(1);
    }
    expect(await store.run(killedAttempt)).toMatchObject({
      status: 'failed',
      attempt: 1,
      error: { type: 'TimeoutFailure' },
      metadata: { language: 'python', backfilled: true },
    });
    expect((await store.run(`${prefix(completed + 1)}2`)).status).toBe('succeeded');
    await stop(worker);
  });
});
