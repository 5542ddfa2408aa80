import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin } from './test-cli.js';

describe('the mltrace binary', { timeout: 180_000 }, () => {
  let cwd: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'mltrace-bin-'));
    env = { MLTRACE_HOME: join(cwd, 'home') };
  });

  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it('prints its version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(await runBin(['--version'], { cwd, env })).toEqual({
      code: 0,
      stdout: `${pkg.version}\n`,
      stderr: '',
    });
  });

  it('logs runs, imports from standard input, and traces them, as a user would from a shell', async () => {
    const logged = await runBin(
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
        '2024-05-01T10:00:30Z',
      ],
      { cwd, env },
    );
    expect(logged).toMatchObject({ code: 0, stderr: '' });
    expect(logged.stdout).toMatch(/^logged run 1 of clean \(api:[0-9a-f-]{36}\)\n$/);

    const line = JSON.stringify({
      component: 'train',
      startedAt: '2024-05-01T11:00:00Z',
      endedAt: '2024-05-01T11:30:00Z',
      inputs: ['clean.csv'],
      outputs: ['model.pkl'],
    });
    const imported = await runBin(['import', '-'], { cwd, env, stdin: `${line}\n` });
    expect(imported).toEqual({
      code: 0,
      stdout: 'imported 1 run (1 new, 0 updated), 0 bad lines\n',
      stderr: '',
    });

    const traced = await runBin(['trace', 'model.pkl'], { cwd, env });
    expect(traced.code).toBe(0);
    expect(traced.stdout.split('\n')).toEqual([
      'trace of model.pkl: 2 runs',
      '',
      'train  run 2  succeeded  2024-05-01T11:00:00Z  30m 00s',
      '├─ model.pkl  [model]',
      '└─ clean  run 1  succeeded  2024-05-01T10:00:00Z  30.0s',
      '   ├─ clean.csv  [data]',
      '   └─ ← raw.csv  [data]',
      '',
    ]);
  });

  it('exits with the code of the error, printing one line and no stack trace', async () => {
    const notFound = await runBin(['trace', 'missing.csv'], { cwd, env });
    expect(notFound.code).toBe(3);
    expect(notFound.stdout).toBe('');
    expect(notFound.stderr).toMatch(/^mltrace: error: no run produced missing\.csv\nhint: .+\n$/);

    const badUrl = await runBin(['recent'], { cwd, env: { ...env, MLTRACE_DATABASE_URL: 'mysql://x' } });
    expect(badUrl.code).toBe(5);
    const usage = await runBin(['recent', '--limit', 'many'], { cwd, env });
    expect(usage.code).toBe(2);
  });
});
