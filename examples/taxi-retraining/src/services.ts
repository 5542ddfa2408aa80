/**
 * A small launcher for the servers the demo needs: a Temporal dev server (with its web UI) and an
 * MLflow tracking server, each in its own process group with its log in the demo directory,
 * stopped (the whole group) by `stop()` or when this process exits. `TEMPORAL_ADDRESS` and
 * `MLFLOW_TRACKING_URI` select servers that already run: then nothing is started.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { toolCommand } from './tools.js';

/** A started (or external) service. */
export interface Service {
  /** `host:port` for Temporal, the base URL for MLflow. */
  address: string;
  /** The web UI, when there is one. */
  uiUrl: string | undefined;
  external: boolean;
  logFile: string | undefined;
  /** Stops the process group; idempotent; a no-op for an external service. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHook = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // gone already
  }
}

/** A TCP port free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function launch(options: {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env: Record<string, string | undefined>;
  ready: () => Promise<boolean>;
  timeoutMs: number;
}): Promise<() => Promise<void>> {
  mkdirSync(join(options.logFile, '..'), { recursive: true });
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: options.env,
    });
  } finally {
    closeSync(fd);
  }
  child.unref();
  running.add(child);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const c of running) killGroup(c, 'SIGKILL');
    });
  }
  let exited = false;
  let spawnError: Error | undefined;
  child.once('exit', () => {
    exited = true;
  });
  child.once('error', (error) => {
    spawnError = error;
    exited = true;
  });
  const stop = async () => {
    if (!running.has(child)) return;
    killGroup(child, 'SIGTERM');
    for (let i = 0; i < 100 && !exited; i++) await sleep(50);
    if (!exited) killGroup(child, 'SIGKILL');
    running.delete(child);
  };
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(
        `${options.name} ${spawnError ? `could not start (${spawnError.message})` : 'exited'} before it was ready; see ${options.logFile}`,
      );
    }
    if (await options.ready().catch(() => false)) return stop;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `${options.name} was not ready after ${options.timeoutMs / 1000} s; see ${options.logFile}`,
      );
    }
    await sleep(300);
  }
}

/**
 * Starts `temporal server start-dev` (SQLite file in `dir`, web UI on), or uses `TEMPORAL_ADDRESS`
 * (and `MLTRACE_TEMPORAL_UI_URL` as its web UI, when set).
 */
export async function startTemporal(options: {
  dir: string;
  env?: Record<string, string | undefined>;
}): Promise<Service> {
  const env = options.env ?? process.env;
  if (env.TEMPORAL_ADDRESS) {
    return {
      address: env.TEMPORAL_ADDRESS,
      uiUrl: env.MLTRACE_TEMPORAL_UI_URL?.replace(/\/+$/, '') || undefined,
      external: true,
      logFile: undefined,
      stop: async () => {},
    };
  }
  const port = await freePort();
  const uiPort = await freePort();
  const address = `127.0.0.1:${port}`;
  const logFile = join(options.dir, 'temporal.log');
  const stop = await launch({
    name: 'the Temporal dev server',
    command: toolCommand('temporal', env),
    args: [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--ui-port',
      String(uiPort),
      '--ui-disable-news-fetch',
      '--db-filename',
      join(options.dir, 'temporal.db'),
      '--log-level',
      'warn',
    ],
    logFile,
    env,
    timeoutMs: 60_000,
    ready: async () => {
      const connection = await Connection.connect({ address, connectTimeout: 2000 });
      try {
        await connection.workflowService.getSystemInfo({});
        await connection.workflowService.describeNamespace({ namespace: 'default' });
        return true;
      } finally {
        await connection.close();
      }
    },
  });
  return { address, uiUrl: `http://127.0.0.1:${uiPort}`, external: false, logFile, stop };
}

/** Starts `mlflow server` (SQLite and artifacts in `dir`), or uses `MLFLOW_TRACKING_URI`. */
export async function startMlflow(options: {
  dir: string;
  env?: Record<string, string | undefined>;
}): Promise<Service> {
  const env = options.env ?? process.env;
  if (env.MLFLOW_TRACKING_URI) {
    const uri = env.MLFLOW_TRACKING_URI.replace(/\/+$/, '');
    return { address: uri, uiUrl: uri, external: true, logFile: undefined, stop: async () => {} };
  }
  const port = await freePort();
  const trackingUri = `http://127.0.0.1:${port}`;
  const logFile = join(options.dir, 'mlflow.log');
  const stop = await launch({
    name: 'the MLflow server',
    command: toolCommand('mlflow', env),
    args: [
      'server',
      '--backend-store-uri',
      `sqlite:///${join(options.dir, 'mlflow.db')}`,
      '--artifacts-destination',
      join(options.dir, 'artifacts'),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      '1',
    ],
    logFile,
    env: {
      ...env,
      PYTHONUNBUFFERED: '1',
      MLFLOW_DISABLE_TELEMETRY: 'true',
      DO_NOT_TRACK: 'true',
      MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false',
    },
    timeoutMs: 180_000,
    ready: async () => {
      const response = await fetch(`${trackingUri}/health`, { signal: AbortSignal.timeout(2000) });
      return response.ok;
    },
  });
  return { address: trackingUri, uiUrl: trackingUri, external: false, logFile, stop };
}
