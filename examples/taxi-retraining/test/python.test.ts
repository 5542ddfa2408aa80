import { execFile } from 'node:child_process';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PYTHON_WORKER_SCRIPT } from '../src/python-worker.js';
import { pythonCommand } from '../src/tools.js';

const run = promisify(execFile);

describe("the taxi example's Python activities", () => {
  it('pass their pytest units, on the pinned scikit-learn of python/requirements.txt', async () => {
    const python = pythonCommand();
    const { stdout } = await run(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider'], {
      cwd: dirname(PYTHON_WORKER_SCRIPT),
    });
    expect(stdout).toMatch(/\d+ passed/);
    expect(stdout).not.toMatch(/failed|error/);
    const { stdout: version } = await run(python, ['-c', 'import sklearn; print(sklearn.__version__)']);
    expect(version.trim()).toBe('1.9.1');
  });

  it('refuses to start the worker without its configuration, saying what is missing', async () => {
    const error = await run(pythonCommand(), [PYTHON_WORKER_SCRIPT], {
      env: { PATH: process.env.PATH ?? '' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(error).toMatchObject({ code: 2, stderr: 'taxi_worker: TEMPORAL_ADDRESS is not set\n' });
  });

  it('in a Python without the pinned packages, says which one is missing and how to set it up', async () => {
    // The system's python3: no Temporal SDK, no scikit-learn.
    const error = await run('python3', [PYTHON_WORKER_SCRIPT], {
      env: { PATH: process.env.PATH ?? '' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(error).toMatchObject({ code: 3 });
    expect((error as { stderr: string }).stderr).toMatch(
      /^taxi_worker: \S+ is not installed in \S+: run bash scripts\/setup\.sh \(it makes \.tools\/python-venv from python\/requirements\.txt\)\n$/,
    );
  });
});
