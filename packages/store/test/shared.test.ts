import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '@mltrace/test-helpers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../src/index.js';
import { sharePaths } from '../src/shared/lock.js';

const WRITER = fileURLToPath(new URL('./fixtures/shared-writer.mjs', import.meta.url));

/** A writer process (the built store, as a user's process runs it) and what it printed. */
interface Writer {
  child: ChildProcess;
  acked: string[];
  stdout: string[];
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWriter(home: string, prefix: string, count: number, pauseMs = 0): Writer {
  const child = spawn(process.execPath, [WRITER, prefix, String(count), String(pauseMs)], {
    env: { ...process.env, MLTRACE_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const writer: Writer = {
    child,
    acked: [],
    stdout: [],
    stderr: '',
    exited: new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal }))),
  };
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      writer.stdout.push(line);
      if (line.startsWith('acked ')) writer.acked.push(line.slice(6));
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    writer.stderr += chunk.toString();
  });
  return writer;
}

async function ownerPid(home: string): Promise<number | undefined> {
  try {
    return (JSON.parse(await readFile(sharePaths(join(home, 'lineage')).lock, 'utf8')) as { pid: number })
      .pid;
  } catch {
    return undefined;
  }
}

/** Every run key in the store (read by a fresh opener, after the writers are gone). */
async function storedKeys(home: string): Promise<Set<string>> {
  const store = await openStore({ env: { MLTRACE_HOME: home } });
  try {
    const keys = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await store.recent({ limit: 1_000, ...(cursor ? { cursor } : {}) });
      for (const run of page.runs) keys.add(run.runKey);
      cursor = page.nextCursor;
    } while (cursor);
    return keys;
  } finally {
    await store.close();
  }
}

describe('the embedded store shared by several processes', () => {
  let home: string;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'mltrace-shared-'));
  });
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    await rm(home, { recursive: true, force: true });
  });

  it('keeps every write of three processes writing at once, one owning and two connected', async () => {
    const first = startWriter(home, 'a', 150, 20);
    children.push(first.child);
    // The first one owns the directory (it boots PGlite); the others join while it writes.
    await eventually(() => first.acked.length > 5, 'the first writer to write', 120_000);
    expect(await ownerPid(home)).toBe(first.child.pid);
    const second = startWriter(home, 'b', 60);
    const third = startWriter(home, 'c', 60);
    children.push(second.child, third.child);

    const exits = await Promise.all([first.exited, second.exited, third.exited]);
    expect(exits.map((e) => e.code)).toEqual([0, 0, 0]);
    expect([first.acked.length, second.acked.length, third.acked.length]).toEqual([150, 60, 60]);
    // The owner closed: no lock is left behind.
    expect(existsSync(sharePaths(join(home, 'lineage')).lock)).toBe(false);

    const keys = await storedKeys(home);
    expect(keys.size).toBe(270);
    for (const key of [...first.acked, ...second.acked, ...third.acked]) expect(keys.has(key)).toBe(true);
  }, 300_000);

  it('after the owner is killed with SIGKILL mid-writes, the next process takes over and every acknowledged write is there', async () => {
    const owner = startWriter(home, 'owner', 100_000);
    children.push(owner.child);
    await eventually(() => owner.acked.length > 20, 'the owner to write', 120_000);
    expect(await ownerPid(home)).toBe(owner.child.pid);
    // A client writing through the owner's socket while the owner is killed.
    const client = startWriter(home, 'client', 400, 2);
    children.push(client.child);
    await eventually(() => client.acked.length > 20, 'the client to write', 60_000);

    owner.child.kill('SIGKILL');
    const killed = await owner.exited;
    expect(killed.signal).toBe('SIGKILL');
    const ackedByOwner = [...owner.acked];

    // The client loses its owner, opens the directory again and becomes the owner itself.
    const exit = await client.exited;
    expect({ code: exit.code, stderr: client.stderr }).toMatchObject({ code: 0 });
    expect(client.stderr).toMatch(/lost its owner/);
    expect(client.acked.length).toBe(400);

    const keys = await storedKeys(home);
    for (const key of ackedByOwner) expect(keys.has(key)).toBe(true);
    for (const key of client.acked) expect(keys.has(key)).toBe(true);
    // The owner may have committed one write it had no time to acknowledge; never more.
    expect(keys.size - 400 - ackedByOwner.length).toBeLessThanOrEqual(1);
  }, 300_000);

  it('recovers a lock left by a process that no longer exists, and says so', async () => {
    const dataDir = join(home, 'lineage');
    // A lock as a killed owner leaves it: its process is gone, its socket file may remain.
    const dead = spawn(process.execPath, ['-e', '0']);
    const deadPid = await new Promise<number>((resolve) => dead.once('exit', () => resolve(dead.pid ?? 0)));
    const { lock, socket } = sharePaths(dataDir);
    const version = (
      JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
    await writeFile(
      lock,
      JSON.stringify({
        protocol: 1,
        version,
        pid: deadPid,
        hostname: (await import('node:os')).hostname(),
        uid: 0,
        socket,
        dataDir,
        startedAt: new Date().toISOString(),
      }),
    );
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} };
    const store = await openStore({ env: { MLTRACE_HOME: home }, logger });
    try {
      expect(warnings.join('\n')).toMatch(/owner is gone; taking it over/);
      expect(await ownerPid(home)).toBe(process.pid);
      await store.logRun({ component: 'after-recovery', startedAt: new Date() });
      expect((await store.recent()).runs.map((r) => r.component)).toEqual(['after-recovery']);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('refuses a directory held by another version, naming the process and what to do', async () => {
    const dataDir = join(home, 'lineage');
    const { lock, socket } = sharePaths(dataDir);
    await writeFile(
      lock,
      JSON.stringify({
        protocol: 1,
        version: '0.0.0-other',
        pid: process.pid,
        hostname: (await import('node:os')).hostname(),
        uid: 0,
        socket,
        dataDir,
        startedAt: '2026-01-01T00:00:00.000Z',
      }),
    );
    const error = await openStore({ env: { MLTRACE_HOME: home } }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string; hint?: string },
    );
    expect(error?.code).toBe('unavailable');
    expect(error?.message).toContain(`process ${process.pid}`);
    expect(error?.message).toContain('@mltrace/store 0.0.0-other');
    expect(error?.hint).toContain(`stop process ${process.pid}`);
    // It never opened the directory: no database was created beside the lock.
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(false);
  });

  it('refuses a directory held from another machine, pointing to PostgreSQL', async () => {
    const dataDir = join(home, 'lineage');
    const { lock, socket } = sharePaths(dataDir);
    await writeFile(
      lock,
      JSON.stringify({
        protocol: 1,
        version: '0.1.0',
        pid: 1,
        hostname: 'another-machine.example',
        uid: 0,
        socket,
        dataDir,
        startedAt: '2026-01-01T00:00:00.000Z',
      }),
    );
    const error = await openStore({ env: { MLTRACE_HOME: home } }).then(
      () => undefined,
      (e: unknown) => e as Error & { hint?: string },
    );
    expect(error?.message).toContain('process 1 on another-machine.example');
    expect(error?.hint).toContain('MLTRACE_DATABASE_URL');
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(false);
  });
});
