/**
 * The package README's install command, exactly as written, from the repository's root into a
 * fresh virtual environment of the user's (not the project's pinned one): pip resolves
 * temporalio and psycopg from PyPI within the package's ranges, and the installed package imports.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '@mltrace/test-helpers';
import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  // setuptools builds in the source folder; scripts/setup.sh removes the same two after its install.
  const pkg = join(repoRoot(), 'python', 'mltrace-temporal');
  await rm(join(pkg, 'build'), { recursive: true, force: true });
  await rm(join(pkg, 'src', 'mltrace_temporal.egg-info'), { recursive: true, force: true });
});

it('installs with the README’s `pip install ./python/mltrace-temporal` into a fresh venv', {
  timeout: 300_000,
}, async () => {
  const readme = await readFile(join(repoRoot(), 'python', 'mltrace-temporal', 'README.md'), 'utf8');
  const command = 'pip install ./python/mltrace-temporal';
  expect(readme).toContain(`\n${command}\n`);
  const venv = await mkdtemp(join(tmpdir(), 'mltrace-py-install-'));
  dirs.push(venv);
  await run('python3', ['-m', 'venv', venv]);
  // The command as the user types it, in a shell with the venv activated, without the test
  // process's own Python paths: once, in a full run, pip installed into the machine's Python
  // instead of the venv (the pip it ran is checked below).
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of [
    'PYTHONPATH',
    'PYTHONHOME',
    'PYTHONUSERBASE',
    'VIRTUAL_ENV',
    'PIP_USER',
    'PIP_TARGET',
    'PIP_PREFIX',
  ])
    delete env[key];
  const pip = await run(
    'bash',
    ['-c', `. "${join(venv, 'bin', 'activate')}" && command -v pip && ${command}`],
    {
      cwd: repoRoot(),
      env,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  expect(pip.stdout.split('\n')[0]).toBe(join(venv, 'bin', 'pip'));
  // pip's own account goes with a failure to import (seen once under a full, loaded run only).
  const { stdout } = await run(
    join(venv, 'bin', 'python'),
    [
      '-c',
      'import mltrace_temporal, temporalio, psycopg; print(mltrace_temporal.MltraceInterceptor.__name__)',
    ],
    { cwd: tmpdir() },
  ).catch((error: Error) => {
    throw new Error(`${error.message}\npip said:\n${pip.stdout.slice(-4000)}\n${pip.stderr.slice(-2000)}`);
  });
  expect(stdout.trim()).toBe('MltraceInterceptor');
});
