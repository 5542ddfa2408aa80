/** The Python side of the cross-language tests: the project's Python environment and its worker process. */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LineageStore, RunSummary } from '@mltrace/store';
import { repoRoot, temporalAddress } from '@mltrace/test-helpers';

/** The Python of the environment scripts/setup.sh makes (python/requirements.txt). */
export const PYTHON = join(
  process.env.MLTRACE_TOOLS_DIR || join(repoRoot(), '.tools'),
  'python-venv',
  'bin',
  'python',
);
/** The package's source in this checkout. */
export const PACKAGE_SRC = join(repoRoot(), 'python', 'mltrace-temporal', 'src');
const WORKER = fileURLToPath(new URL('./worker.py', import.meta.url));

export const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

/**
 * `env` with this checkout's package first on PYTHONPATH: the venv's installed copy may come from
 * another checkout sharing `.tools` (scripts/setup.sh installs it, not editable), and the tests
 * must run the code they sit beside. install.test.ts checks the installed path on its own.
 */
export function pythonEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, PYTHONPATH: [PACKAGE_SRC, env.PYTHONPATH].filter(Boolean).join(':') };
}

/** A Python worker process; `output()` is what it printed so far. */
export type PythonWorker = ChildProcess & { output(): string };

/** The writer's counts a worker prints when it stops (mltrace_temporal.WriterStats). */
export interface PythonWriterStats {
  queued: number;
  written: number;
  dropped: number;
  spooled: number;
  replayed: number;
  invalid: number;
  degraded: boolean;
}

/** Starts the Python worker process (tests/python/worker.py) and waits for its `ready`. */
export async function startPythonWorker(
  queue: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
  name?: string,
): Promise<PythonWorker> {
  const child = spawn(PYTHON, [WORKER, temporalAddress(), queue, ...(name ? [name] : [])], {
    env: pythonEnv(env),
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
  return Object.assign(child, { output: () => output });
}

/** Stops a worker with SIGTERM (it flushes its lineage first); its exit code. */
export async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

/** Stops a worker with SIGTERM and returns the writer's counts it printed on its way out. */
export async function stopWithStats(worker: PythonWorker): Promise<PythonWriterStats> {
  const code = await stop(worker);
  const line = worker
    .output()
    .split('\n')
    .find((l) => l.startsWith('stats '));
  if (code !== 0 || !line)
    throw new Error(`the Python worker exited (${code}) without its stats: ${worker.output()}`);
  return JSON.parse(line.slice('stats '.length)) as PythonWriterStats;
}

/** Every run of a workflow id in the store (all its runs), oldest first. */
export async function runsOfWorkflow(store: LineageStore, workflowId: string): Promise<RunSummary[]> {
  const out: RunSummary[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.recent({ limit: 1000, ...(cursor ? { cursor } : {}) });
    out.push(...page.runs.filter((run) => run.workflow.workflowId === workflowId));
    cursor = page.nextCursor;
  } while (cursor);
  return out.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || a.id - b.id);
}
