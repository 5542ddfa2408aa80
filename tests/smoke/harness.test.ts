import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ServiceStartError, startManagedProcess, startTemporalDevServer } from '@mltrace/test-helpers';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

/** Live (non-zombie) processes of a process group, as `ps` sees them. */
async function liveMembers(pgid: number): Promise<string[]> {
  const { stdout } = await execa('ps', ['-o', 'pid=,stat=', '-g', String(pgid)], { reject: false });
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/\sZ/.test(line));
}

async function startFailure(start: () => Promise<unknown>): Promise<ServiceStartError> {
  const error = await start().then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ServiceStartError);
  return error as ServiceStartError;
}

describe('test harness', () => {
  it('rejects with the service name, exit code and log file when a process exits before it is ready', async () => {
    const proc = await startManagedProcess({
      name: 'Doomed service',
      command: process.execPath,
      args: ['-e', 'console.error("doomed: no config file"); process.exit(3)'],
    });
    const started = Date.now();
    const error = await startFailure(() =>
      proc.waitUntil(() => false, { what: 'something that never happens', timeoutMs: 30_000 }),
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(error.service).toBe('Doomed service');
    expect(error.exitCode).toBe(3);
    expect(error.logFile).toBe(proc.logFile);
    expect(error.message).toContain('Doomed service exited with code 3 before it was ready');
    expect(error.message).toContain(`Log: ${proc.logFile}`);
    expect(error.message).toContain('doomed: no config file');
    expect(error.message).not.toMatch(/not ready after/);
    await proc.stop();
    await rm(proc.dir, { recursive: true, force: true });
  });

  it('fails fast naming the Temporal dev server and its log when the CLI rejects its arguments', async () => {
    const started = Date.now();
    const error = await startFailure(() =>
      startTemporalDevServer({
        extraArgs: ['--port', 'notaport'],
        env: { ...process.env, TEMPORAL_ADDRESS: '' },
      }),
    );
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(error.service).toBe('Temporal dev server');
    expect(error.exitCode).toBe(1);
    expect(error.logFile).toMatch(/temporal-dev-server\.log$/);
    expect(existsSync(error.logFile!)).toBe(true);
    expect(error.message).toContain(`Log: ${error.logFile}`);
    expect(error.message).toContain('invalid argument "notaport"');
    await rm(dirname(error.logFile!), { recursive: true, force: true });
  });

  it('quotes the log when a running process is not ready in time', async () => {
    const proc = await startManagedProcess({
      name: 'Slow service',
      command: process.execPath,
      args: ['-e', 'console.log("still warming up"); setInterval(() => {}, 1000)'],
    });
    try {
      const error = await startFailure(() =>
        proc.waitUntil(() => false, { what: 'a ready line', timeoutMs: 1000 }),
      );
      expect(error.message).toContain('Slow service was not ready after 1 s (waiting for a ready line)');
      expect(error.message).toContain(`Log: ${proc.logFile}`);
      expect(error.message).toContain('still warming up');
    } finally {
      await proc.stop();
      await rm(proc.dir, { recursive: true, force: true });
    }
  });

  it('stops the whole process group, children included, and stop() is idempotent', async () => {
    const proc = await startManagedProcess({
      name: 'Forking service',
      command: 'sh',
      args: ['-c', 'sleep 300 & sleep 300 & echo forked; wait'],
    });
    try {
      await proc.waitUntil(async () => (await liveMembers(proc.pid!)).length >= 3, { what: 'two children' });
      await Promise.all([proc.stop(), proc.stop()]);
      await proc.stop();
      expect(await liveMembers(proc.pid!)).toEqual([]);
      expect(proc.exit?.signal).toBe('SIGTERM');
    } finally {
      await proc.stop();
      await rm(proc.dir, { recursive: true, force: true });
    }
  });
});
