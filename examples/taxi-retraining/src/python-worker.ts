/**
 * The taxi example's Python worker (`python/taxi_worker.py`: scikit-learn training and
 * evaluation, with mltrace's Python interceptor) as a child process of the demo: started with the
 * servers' addresses and the lineage store in its environment, ready once it polls, stopped with
 * SIGTERM (it flushes its lineage first), killed if this process exits.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pythonCommand } from './tools.js';

/** The worker's script, next to this module's directory (src/ or dist/). */
export const PYTHON_WORKER_SCRIPT = fileURLToPath(new URL('../python/taxi_worker.py', import.meta.url));

/** Options of {@link startPythonWorker}. */
export interface PythonWorkerOptions {
  temporalAddress: string;
  taskQueue: string;
  trackingUri: string;
  /** Where downloaded models and the model files it writes go. */
  workDir: string;
  /** The embedded store's home (`<home>/lineage`), used unless `env` has `MLTRACE_DATABASE_URL`. */
  home: string;
  /** Its stdout and stderr. */
  logFile: string;
  /** @default process.env */
  env?: Record<string, string | undefined>;
  /** How long to wait for `ready`. @default 60000 */
  timeoutMs?: number;
}

/** A running Python worker. */
export interface PythonWorker {
  pid: number;
  logFile: string;
  /** SIGTERM, then waits for the exit (the lineage flushed); SIGKILL after `timeoutMs`. Idempotent. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL (no flush: a crash), then waits for the exit. */
  kill(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHook = false;

/** Starts the worker and resolves once it polls its task queue. */
export async function startPythonWorker(options: PythonWorkerOptions): Promise<PythonWorker> {
  const python = pythonCommand(options.env ?? process.env);
  await mkdir(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const env = options.env ?? process.env;
  const child = spawn(python, [PYTHON_WORKER_SCRIPT], {
    cwd: dirname(PYTHON_WORKER_SCRIPT),
    env: {
      ...env,
      TEMPORAL_ADDRESS: options.temporalAddress,
      MLTRACE_PYTHON_TASK_QUEUE: options.taskQueue,
      MLFLOW_TRACKING_URI: options.trackingUri,
      MLTRACE_WORK_DIR: options.workDir,
      MLTRACE_HOME: options.home,
      PYTHONUNBUFFERED: '1',
      // No __pycache__ beside the example's sources.
      PYTHONDONTWRITEBYTECODE: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child);
      log.end();
      resolve(code);
    });
    child.once('error', () => resolve(null));
  });
  let output = '';
  const onData = (chunk: Buffer) => {
    log.write(chunk);
    if (output.length < 20_000) output += chunk.toString();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const check = () => {
      if (/^ready$/m.test(output)) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    child.stdout?.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      resolve(/^ready$/m.test(output));
    });
  });
  const stop = async (stopTimeoutMs = 30_000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  if (!ready) {
    await stop(2000);
    const tail = output.trimEnd().split('\n').slice(-15).join('\n');
    throw new Error(
      `the Python worker (${python} ${PYTHON_WORKER_SCRIPT}) did not start; see ${options.logFile}:\n${tail}`,
    );
  }
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return { pid: child.pid!, logFile: options.logFile, stop, kill };
}
