import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComponentRunInput } from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { openPostgresStore } from '@mltrace/store/postgres';
import { freePort, testDatabaseUrl } from '@mltrace/test-helpers';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LineageWriter } from '../src/writer.js';
import { runByKey, TcpProxy } from './test-support.js';

function run(key: string, extra: Partial<ComponentRunInput> = {}): ComponentRunInput {
  return {
    runKey: key,
    component: 'step',
    source: 'temporal',
    status: 'succeeded',
    startedAt: new Date('2026-01-01T00:00:00Z'),
    endedAt: new Date('2026-01-01T00:00:01Z'),
    ...extra,
  };
}

/** How many stored runs have a key starting with `prefix` (the store is shared by the tests). */
async function count(store: LineageStore, prefix: string): Promise<number> {
  let total = 0;
  let cursor: string | undefined;
  do {
    const page = await store.recent({ limit: 1000, ...(cursor ? { cursor } : {}) });
    total += page.runs.filter((r) => r.runKey.startsWith(prefix)).length;
    cursor = page.nextCursor;
  } while (cursor);
  return total;
}

/** A real PostgreSQL URL nobody listens on: the store is unreachable. */
async function unreachableUrl(): Promise<string> {
  return `postgres://mltrace:secret@127.0.0.1:${await freePort()}/lineage`;
}

const fast = { maxAttempts: 2, initialRetryDelayMs: 10, maxRetryDelayMs: 20, writeTimeoutMs: 10_000 };

describe('the lineage writer', () => {
  let spoolDir: string;
  let store: LineageStore;
  const writers: LineageWriter[] = [];

  beforeAll(async () => {
    store = await openPgliteStore({ dataDir: 'memory://' });
  });

  afterAll(async () => {
    await store?.close();
  });

  beforeEach(async () => {
    spoolDir = await mkdtemp(join(tmpdir(), 'mltrace-spool-'));
  });

  afterEach(async () => {
    for (const writer of writers.splice(0)) await writer.close();
  });

  function writer(options: Partial<ConstructorParameters<typeof LineageWriter>[0]> = {}): LineageWriter {
    const w = new LineageWriter({ store, spoolDir, flushIntervalMs: 60_000, ...fast, ...options });
    writers.push(w);
    return w;
  }

  it('writes queued runs in batches and counts them', async () => {
    const w = writer({ batchSize: 100 });
    for (let i = 0; i < 250; i++) expect(w.enqueue(run(`k/${i}`), `k/${i}`)).toBe(true);
    await w.flush();
    expect(await count(store, 'k/')).toBe(250);
    expect(w.stats()).toMatchObject({ enqueued: 250, queued: 0, written: 250, spooled: 0, dropped: 0 });
  });

  it("replaces a queued running record with the same attempt's final record", async () => {
    const w = writer();
    w.enqueue(run('a/1', { status: 'running', endedAt: null, inputs: ['s3://b/in'] }), 'a/1');
    w.enqueue(() => run('a/1', { inputs: ['s3://b/in'], outputs: ['s3://b/out'] }), 'a/1');
    await w.flush();
    expect(w.stats()).toMatchObject({ enqueued: 2, coalesced: 1, written: 1 });
    const stored = await store.run('a/1');
    expect(stored.status).toBe('succeeded');
    expect(stored.outputs.map((p) => p.uri)).toEqual(['s3://b/out']);
  });

  it('spools batches when the store is unreachable, and a later writer replays them', async () => {
    const url = await unreachableUrl();
    const down = writer({ store: () => openPostgresStore({ url, connectTimeoutSeconds: 1 }) });
    for (let i = 0; i < 20; i++) down.enqueue(run(`s/${i}`), `s/${i}`);
    await down.flush();
    expect(down.stats()).toMatchObject({ written: 0, spooled: 20, dropped: 0, degraded: true });
    expect(down.stats().lastError).toBeTruthy();
    expect(down.stats().lastError).not.toContain('secret');
    await down.close();
    writers.splice(writers.indexOf(down), 1);
    expect((await readdir(spoolDir)).length).toBeGreaterThan(0);

    const up = writer();
    up.start();
    await up.flush();
    expect(up.stats()).toMatchObject({ written: 20, replayed: 20, degraded: false });
    expect(await count(store, 's/')).toBe(20);
    expect(await readdir(spoolDir)).toEqual([]);
  });

  it('keeps spooling behind the backlog until it is replayed, so producers land before consumers', async () => {
    const database = await testDatabaseUrl();
    const pg = new URL(database);
    const proxy = new TcpProxy(pg.hostname, Number(pg.port));
    await proxy.restore();
    const pgStore = await openPostgresStore({ url: proxy.through(database), connectTimeoutSeconds: 2 });
    try {
      const w = writer({ store: pgStore, spoolReplayIntervalMs: 60_000 });
      await proxy.cut();
      w.enqueue(run('p/1', { component: 'producer', outputs: ['s3://b/features'] }), 'p/1');
      await w.flush();
      expect(w.stats().degraded).toBe(true);
      await proxy.restore();
      // The store is back, but the producer is still in the spool: the consumer must queue behind it.
      w.enqueue(
        run('c/1', {
          component: 'consumer',
          startedAt: new Date('2026-01-01T00:00:02Z'),
          endedAt: null,
          inputs: ['s3://b/features'],
        }),
        'c/1',
      );
      await w.flush(); // flush() replays the spool first, then writes the queue
      expect(w.stats()).toMatchObject({ written: 2, replayed: 1, degraded: false });
      const consumer = await pgStore.run('c/1');
      const producer = await pgStore.run('p/1');
      expect(consumer.dependsOn).toEqual([producer.id]);
    } finally {
      await pgStore.close();
      await proxy.cut();
    }
  });

  it('drops only the records the store rejects as invalid', async () => {
    const w = writer();
    w.enqueue(run('ok/1'));
    w.enqueue(run('bad/1', { component: '' }));
    w.enqueue(run('ok/2'));
    await w.flush();
    expect(w.stats()).toMatchObject({ written: 2, dropped: 1, spooled: 0, degraded: false });
    expect(await runByKey(store, 'ok/2')).toBeDefined();
  });

  it('without a spool, drops new records beyond the queue bound and counts them', async () => {
    const w = writer({ maxQueueSize: 5, batchSize: 100, spoolDir: false });
    const accepted = Array.from({ length: 8 }, (_, i) => w.enqueue(run(`q/${i}`)));
    expect(accepted.filter(Boolean)).toHaveLength(5);
    await w.flush();
    expect(w.stats()).toMatchObject({ written: 5, dropped: 3 });
  });

  it('spools rather than drops when the store is slower than the activities, in order', async () => {
    // A fake for a fault a real server does not produce on demand: every answer 100 ms late.
    const slowStore = Object.create(store, {
      logRuns: {
        value: async (runs: ComponentRunInput[]) => {
          await new Promise((resolve) => setTimeout(resolve, 100));
          return store.logRuns(runs);
        },
      },
    }) as LineageStore;
    const w = writer({ store: slowStore, maxQueueSize: 10, batchSize: 5, spoolReplayIntervalMs: 60_000 });
    const accepted: boolean[] = [];
    // The first burst's first batch goes to the store; its attempt o/0 ends in the third burst.
    accepted.push(w.enqueue(run('o/0', { status: 'running', endedAt: null }), 'o/0'));
    for (let i = 1; i < 8; i++) accepted.push(w.enqueue(run(`o/${i}`), `o/${i}`));
    await new Promise((resolve) => setTimeout(resolve, 20)); // the first write is in flight
    for (let i = 8; i < 19; i++) accepted.push(w.enqueue(run(`o/${i}`), `o/${i}`));
    accepted.push(w.enqueue(run('o/0'), 'o/0'));
    expect(accepted.every(Boolean)).toBe(true);
    expect(w.stats().degraded).toBe(true);
    await w.flush(); // writes what it can, spools the rest, then replays the spool
    const stats = w.stats();
    expect(stats).toMatchObject({ dropped: 0, degraded: false, written: 20 });
    expect(stats.spooled).toBeGreaterThan(0);
    expect(stats.replayed).toBe(stats.spooled);
    expect(await count(store, 'o/')).toBe(19);
    expect((await store.run('o/0')).status).toBe('succeeded'); // the later record won
    expect(await readdir(spoolDir)).toEqual([]);
  });

  it('writes to the store, not drops, when the queue fills and the spool cannot be written', async () => {
    const file = join(spoolDir, 'not-a-directory');
    await writeFile(file, '');
    const w = writer({ maxQueueSize: 5, batchSize: 100, spoolDir: join(file, 'spool') });
    const accepted = Array.from({ length: 8 }, (_, i) => w.enqueue(run(`u/${i}`)));
    expect(accepted.every(Boolean)).toBe(true);
    await w.flush();
    expect(w.stats()).toMatchObject({ written: 8, spooled: 0, dropped: 0, degraded: false });
    expect(await count(store, 'u/')).toBe(8);
  });

  it('with a spool, drops only beyond twice the queue bound', async () => {
    const w = writer({ maxQueueSize: 5, batchSize: 100 });
    const accepted = Array.from({ length: 12 }, (_, i) => w.enqueue(run(`d/${i}`)));
    expect(accepted.filter(Boolean)).toHaveLength(10);
    await w.flush();
    expect(w.stats()).toMatchObject({ written: 10, spooled: 10, replayed: 10, dropped: 2 });
    expect(await count(store, 'd/')).toBe(10);
  });

  it('turns a record that cannot be built into a dropped count, not an error', async () => {
    const w = writer();
    w.enqueue(() => {
      throw new Error('bug in a builder');
    });
    w.enqueue(run('fine/1'));
    await w.flush();
    expect(w.stats()).toMatchObject({ written: 1, dropped: 1 });
  });

  it("replays spool files of dead processes and leaves a live process's files alone", async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const alive = process.ppid;
    const line = (key: string) => `${JSON.stringify(run(key))}\n`;
    await writeFile(
      join(spoolDir, `spool-000000000000001-${dead}-aaaaaaaa-000000.ndjson`),
      line('dead/1') + line('dead/2'),
    );
    await writeFile(join(spoolDir, `spool-000000000000002-${alive}-bbbbbbbb-000000.ndjson`), line('alive/1'));
    await writeFile(
      join(spoolDir, `spool-000000000000003-${dead}-aaaaaaaa-000001.ndjson`),
      `${line('dead/3')}{"torn`,
    );
    const w = writer();
    w.start();
    await w.flush();
    expect(w.stats()).toMatchObject({ replayed: 3, dropped: 1 });
    expect(await runByKey(store, 'dead/3')).toBeDefined();
    expect(await runByKey(store, 'alive/1')).toBeUndefined();
    expect(await readdir(spoolDir)).toEqual([`spool-000000000000002-${alive}-bbbbbbbb-000000.ndjson`]);
  });
});
