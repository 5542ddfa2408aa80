/** The Python side of the cross-language tests: the project's Python environment and its worker process. */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot, temporalAddress } from '@mltrace/test-helpers';

/** The Python of the environment scripts/setup.sh makes (python/requirements.txt). */
export const PYTHON = join(
  process.env.MLTRACE_TOOLS_DIR || join(repoRoot(), '.tools'),
  'python-venv',
  'bin',
  'python',
);
const WORKER = fileURLToPath(new URL('./worker.py', import.meta.url));

export const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

/** Starts the Python worker process and waits for its `ready`. */
export async function startPythonWorker(
  queue: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<ChildProcess> {
  const child = spawn(PYTHON, [WORKER, temporalAddress(), queue], {
    env,
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready')) resolve();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`the Python worker exited (${code}): ${output}`)));
  });
  return child;
}

/** Stops a worker with SIGTERM (it flushes its lineage first); its exit code. */
export async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}
