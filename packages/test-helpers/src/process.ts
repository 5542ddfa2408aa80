import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** How many log lines an error message quotes. */
const TAIL_LINES = 20;

/**
 * A service of the test harness did not start: it exited early, or did not become ready in time.
 * The message names the service, its log file and quotes the end of the log.
 */
export class ServiceStartError extends Error {
  override readonly name = 'ServiceStartError';
  /** The service, e.g. `Temporal dev server`. */
  readonly service: string;
  /** The file holding the service's stdout and stderr, when it has one. */
  readonly logFile: string | undefined;
  /** The exit code, when the process exited before it was ready. */
  readonly exitCode: number | null | undefined;
  /** The signal that ended the process, when it was killed before it was ready. */
  readonly signal: NodeJS.Signals | null | undefined;

  constructor(
    message: string,
    fields: {
      service: string;
      logFile?: string | undefined;
      exitCode?: number | null | undefined;
      signal?: NodeJS.Signals | null | undefined;
      cause?: unknown;
    },
  ) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.service = fields.service;
    this.logFile = fields.logFile;
    this.exitCode = fields.exitCode;
    this.signal = fields.signal;
  }
}

/** Options of {@link startManagedProcess}. */
export interface ManagedProcessOptions {
  /** Human name of the service, used in every error message, e.g. `MLflow server`. */
  name: string;
  /** The executable (absolute path, or a name looked up on `PATH`). */
  command: string;
  /** Its arguments. @default [] */
  args?: readonly string[];
  /** The full environment of the child. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Working directory. @default the process's temp dir */
  cwd?: string;
  /** The process's own temp dir (log file, data). @default a fresh `mkdtemp` under the OS temp dir */
  dir?: string;
  /** Run as this user id (e.g. PostgreSQL refuses to run as root). @default the current user */
  uid?: number;
  /** Run as this group id. @default the current group */
  gid?: number;
  /** First signal sent to the process group by {@link ManagedProcess.stop}. @default 'SIGTERM' */
  stopSignal?: NodeJS.Signals;
  /** Milliseconds between the stop signal and SIGKILL. @default 5000 */
  stopGraceMs?: number;
  /**
   * Remove `dir` when the safety net kills a still-running process at Node's exit (`stop()` never
   * removes it). @default true when `dir` is not given (the dir is then created here), else false
   */
  removeDirOnExit?: boolean;
}

/** Options of {@link ManagedProcess.waitUntil}. */
export interface WaitUntilOptions {
  /** Give up after this many milliseconds. @default 30000 */
  timeoutMs?: number;
  /** What is being waited for, for the error message, e.g. `GET /health to answer OK`. */
  what: string;
  /** Milliseconds between two checks. @default 250 */
  intervalMs?: number;
}

/** How a managed process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned at all (e.g. ENOENT). */
  error?: Error;
}

/**
 * Process groups not stopped yet, SIGKILLed by the `exit` safety net, with the temp dir it
 * removes then (undefined: keep it).
 */
const liveGroups = new Map<number, string | undefined>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [pgid, dir] of liveGroups) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
      if (dir !== undefined) {
        try {
          rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
        } catch {
          // best effort: the process may still be writing
        }
      }
    }
    liveGroups.clear();
  });
}

/**
 * True while any process of the group is alive. Zombies (exited, not yet reaped by their parent)
 * count as dead: on Linux the group is read from `/proc` when `kill(-pgid, 0)` still succeeds.
 */
export function isProcessGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
  }
  return false;
}

/** The last `lines` lines of a log file (reads at most its last 64 KiB), or a note why not. */
export async function readLogTail(file: string, lines = TAIL_LINES): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, 64 * 1024);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      const text = buffer.toString('utf8').trimEnd();
      if (text === '') return '(the log is empty)';
      return text.split('\n').slice(-lines).join('\n');
    } finally {
      await handle.close();
    }
  } catch (error) {
    return `(could not read the log: ${(error as Error).message})`;
  }
}

function describeExit(exit: ProcessExit): string {
  if (exit.error) return `could not be started (${exit.error.message})`;
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

/**
 * A child process run for the tests: in its own process group, stdout and stderr appended to
 * `<dir>/<name>.log`. Create it with {@link startManagedProcess}.
 */
export class ManagedProcess {
  /** Human name of the service. */
  readonly name: string;
  /** The process's temp dir. */
  readonly dir: string;
  /** The file holding stdout and stderr. */
  readonly logFile: string;
  /** The process id, which is also its process group id. */
  readonly pid: number | undefined;
  readonly #child: ChildProcess;
  readonly #exited: Promise<ProcessExit>;
  readonly #stopSignal: NodeJS.Signals;
  readonly #stopGraceMs: number;
  #exit: ProcessExit | undefined;
  #stopping: Promise<void> | undefined;

  /** @internal use {@link startManagedProcess} */
  constructor(
    child: ChildProcess,
    fields: { name: string; dir: string; logFile: string } & ManagedProcessOptions,
  ) {
    this.name = fields.name;
    this.dir = fields.dir;
    this.logFile = fields.logFile;
    this.pid = child.pid;
    this.#child = child;
    this.#stopSignal = fields.stopSignal ?? 'SIGTERM';
    this.#stopGraceMs = fields.stopGraceMs ?? 5000;
    this.#exited = new Promise<ProcessExit>((resolve) => {
      child.on('error', (error) => {
        // Spawn failures (ENOENT, EACCES) come as 'error' without 'exit'.
        if (this.pid === undefined) resolve({ code: null, signal: null, error });
      });
      child.once('exit', (code, signal) => resolve({ code, signal }));
    }).then((exit) => {
      this.#exit = exit;
      return exit;
    });
  }

  /** How the process ended, or `undefined` while it runs. */
  get exit(): ProcessExit | undefined {
    return this.#exit;
  }

  /** Resolves when the process (the group leader) has exited. */
  exited(): Promise<ProcessExit> {
    return this.#exited;
  }

  /** The last lines of the log. */
  logTail(lines = TAIL_LINES): Promise<string> {
    return readLogTail(this.logFile, lines);
  }

  /**
   * Polls `check` until it returns true. Rejects with a {@link ServiceStartError} that names the
   * service, its log file and quotes the log's last lines, as soon as the process exits, or when
   * `timeoutMs` passes. A `check` that throws counts as "not ready yet"; its last error is quoted.
   */
  async waitUntil(check: () => boolean | Promise<boolean>, options: WaitUntilOptions): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const intervalMs = options.intervalMs ?? 250;
    const started = Date.now();
    let lastError: unknown;
    const exitedEarly = Symbol('exited');
    const exitRace = this.#exited.then(() => exitedEarly);
    for (;;) {
      if (this.#exit) break;
      const outcome = await Promise.race([
        Promise.resolve()
          .then(check)
          .then(
            (ok) => ok,
            (error: unknown) => {
              lastError = error;
              return false;
            },
          ),
        exitRace,
        // A check that hangs must not outlive the deadline.
        sleep(Math.max(0, started + timeoutMs - Date.now()), false, { ref: false }),
      ]);
      if (outcome === true) return;
      if (outcome === exitedEarly) break;
      if (Date.now() - started >= timeoutMs) {
        const tail = await this.logTail();
        const last = lastError === undefined ? '' : ` The last check failed with: ${errorText(lastError)}.`;
        throw new ServiceStartError(
          `${this.name} was not ready after ${Math.round(timeoutMs / 1000)} s (waiting for ${options.what}); ` +
            `the process is still running.${last}\nLog: ${this.logFile}\n--- last lines of the log ---\n${tail}`,
          { service: this.name, logFile: this.logFile, cause: lastError },
        );
      }
      await Promise.race([sleep(intervalMs), exitRace]);
    }
    const exit = this.#exit ?? (await this.#exited);
    // Let the last output reach the file.
    await sleep(50);
    const tail = await this.logTail();
    throw new ServiceStartError(
      `${this.name} ${describeExit(exit)} before it was ready (waiting for ${options.what}).\n` +
        `Command: ${this.#child.spawnargs.join(' ')}\nLog: ${this.logFile}\n--- last lines of the log ---\n${tail}`,
      {
        service: this.name,
        logFile: this.logFile,
        exitCode: exit.code,
        signal: exit.signal,
        cause: exit.error,
      },
    );
  }

  /**
   * Stops the whole process group: the stop signal, then SIGKILL after the grace period.
   * Idempotent: later calls return the first call's promise.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopGroup();
    return this.#stopping;
  }

  async #stopGroup(): Promise<void> {
    const pgid = this.pid;
    if (pgid === undefined) return;
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(-pgid, sig);
      } catch {
        // the group is already gone
      }
    };
    signal(this.#stopSignal);
    if (!(await waitForGroupExit(pgid, this.#stopGraceMs))) {
      signal('SIGKILL');
      await waitForGroupExit(pgid, 5000);
    }
    if (this.#exit === undefined) await Promise.race([this.#exited, sleep(1000)]);
    liveGroups.delete(pgid);
  }
}

async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessGroupAlive(pgid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (cause: ${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

/** Creates a fresh temp dir `<os tmp>/mltrace-<prefix>-XXXXXX`. */
export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `mltrace-${prefix}-`));
}

/** Removes a dir and everything in it; never throws. */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
}

/**
 * Spawns a service detached, in its own process group, with stdout and stderr appended to
 * `<dir>/<slug of name>.log`. The group is SIGKILLed when this Node process exits, if it is still
 * running then. Pair it with {@link ManagedProcess.waitUntil} and {@link ManagedProcess.stop}.
 *
 * @example
 * const proc = await startManagedProcess({ name: 'MLflow server', command: mlflow, args });
 * await proc.waitUntil(() => isHealthy(url), { what: 'GET /health', timeoutMs: 120_000 });
 */
export async function startManagedProcess(options: ManagedProcessOptions): Promise<ManagedProcess> {
  const slug = options.name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const dir = options.dir ?? (await makeTempDir(slug));
  const logFile = join(dir, `${slug}.log`);
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.command, [...(options.args ?? [])], {
      cwd: options.cwd ?? dir,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
    });
  } finally {
    closeSync(fd);
  }
  // Do not keep the test runner alive for the service; the exit hook and stop() end it.
  child.unref();
  const managed = new ManagedProcess(child, { ...options, dir, logFile });
  if (child.pid !== undefined) {
    installExitHook();
    // Stays registered after the leader exits (its children may live on) until stop().
    const removeOnExit = options.removeDirOnExit ?? options.dir === undefined;
    liveGroups.set(child.pid, removeOnExit ? dir : undefined);
  }
  return managed;
}

/** A TCP port that was free on 127.0.0.1 a moment ago (listen on port 0, then close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a listening socket'));
      });
    });
  });
}
