import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDatabaseUrl } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';

describe('the CLI on PostgreSQL', { timeout: 180_000 }, () => {
  let url: string;
  let cwd: string;

  const mltrace = async (args: string[], env: Record<string, string> = {}) => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['node', 'mltrace', ...args], {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      env,
      cwd,
    });
    return { code, stdout, stderr };
  };

  beforeAll(async () => {
    url = await testDatabaseUrl();
    cwd = await mkdtemp(join(tmpdir(), 'mltrace-cli-pg-'));
  });

  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it('says which migrations it applied to a new database, then that there is nothing to apply', async () => {
    const first = await mltrace(['--db', url, 'migrate', '--json']);
    expect(first.code).toBe(0);
    const result = JSON.parse(first.stdout) as {
      applied: string[];
      migrations: string[];
      database: string;
    };
    expect(result.applied).toEqual(result.migrations);
    expect(result.applied[0]).toBe('0001_lineage.sql');
    const password = new URL(url).password;
    if (password) expect(first.stdout).not.toContain(password);
    const second = await mltrace(['migrate'], { MLTRACE_DATABASE_URL: url });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/ is up to date: .+ \(nothing to apply\)\n$/);
  });

  it('logs and traces through MLTRACE_DATABASE_URL', async () => {
    const env = { MLTRACE_DATABASE_URL: url };
    expect(
      (
        await mltrace(
          [
            'log',
            'clean',
            '-i',
            'raw.csv',
            '-o',
            'clean.csv',
            '--start',
            '2024-05-01T10:00:00Z',
            '--end',
            '2024-05-01T10:00:10Z',
          ],
          env,
        )
      ).code,
    ).toBe(0);
    expect(
      (
        await mltrace(
          [
            'log',
            'train',
            '-i',
            'clean.csv',
            '-o',
            'model.pkl',
            '--start',
            '2024-05-01T11:00:00Z',
            '--end',
            '2024-05-01T11:00:10Z',
          ],
          env,
        )
      ).code,
    ).toBe(0);
    const trace = await mltrace(['trace', 'model.pkl'], env);
    expect(trace.code).toBe(0);
    expect(trace.stdout.split('\n').slice(2)).toEqual([
      'train  run 2  succeeded  2024-05-01T11:00:00Z  10.0s',
      '├─ model.pkl  [model]',
      '└─ clean  run 1  succeeded  2024-05-01T10:00:00Z  10.0s',
      '   ├─ clean.csv  [data]',
      '   └─ ← raw.csv  [data]',
      '',
    ]);
  });
});
