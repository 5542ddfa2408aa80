import type { Logger } from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';
import type { CliIo, Writable } from './io.js';

/** What every command gets: the injected I/O and the store, opened on first use. */
export interface CommandContext {
  readonly io: CliIo;
  /** The database URL of `--db`, else `MLTRACE_DATABASE_URL`; undefined = the embedded store. */
  readonly databaseUrl: string | undefined;
  /** Opens the store once (applying migrations); later calls return the same store. */
  store(): Promise<LineageStore>;
  /** Writes lines to stdout. */
  out(...lines: string[]): void;
  /** Writes lines to stderr. */
  err(...lines: string[]): void;
  /** Writes a value as indented JSON (dates become ISO strings). */
  json(value: unknown): void;
  /** Redraws a one-line progress message on stderr when it is a terminal; `undefined` clears it. */
  progress(message: string | undefined): void;
  /**
   * A logger writing to stderr, for the libraries a command runs: warnings and errors (info and
   * debug lines only with `MLTRACE_DEBUG=1`; the command prints its own summary).
   */
  readonly logger: Logger;
  /**
   * Aborts when a long-running command should stop: the injected `io.signal`, else the process's
   * SIGINT or SIGTERM (listened to from the first call until the end of the run).
   */
  stopSignal(): AbortSignal;
}

/**
 * The stop signal of one run of the CLI: the injected one, or one aborted by SIGINT/SIGTERM. The
 * process's signal handlers exist only while a command waits on it; a second signal after the
 * first finds none and ends the process the default way.
 */
export class StopSignal {
  private controller: AbortController | undefined;
  private readonly handlers: Array<[NodeJS.Signals, () => void]> = [];

  constructor(private readonly injected?: AbortSignal) {}

  get(): AbortSignal {
    if (this.injected) return this.injected;
    if (!this.controller) {
      const controller = new AbortController();
      this.controller = controller;
      for (const name of ['SIGINT', 'SIGTERM'] as const) {
        const handler = () => {
          this.dispose();
          controller.abort(new Error(`stopped by ${name}`));
        };
        this.handlers.push([name, handler]);
        process.once(name, handler);
      }
    }
    return this.controller.signal;
  }

  /** Removes the process's signal handlers. */
  dispose(): void {
    for (const [name, handler] of this.handlers.splice(0)) process.removeListener(name, handler);
  }
}

/** Fields as ` key=value` (strings quoted when they hold spaces). */
function formatFields(fields: Record<string, unknown> | undefined): string {
  if (!fields) return '';
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      return ` ${key}=${typeof value === 'string' && /\s/.test(value) ? JSON.stringify(value) : text}`;
    })
    .join('');
}

/**
 * The CLI's logger: `mltrace: warn: message key=value` lines on stderr. Warnings and errors always;
 * info lines when `info` (a server's log) or `debug`; debug lines when `debug`.
 */
export function stderrLogger(stderr: Writable, levels: { info: boolean; debug: boolean }): Logger {
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    stderr.write(`mltrace: ${level}: ${message}${formatFields(fields)}\n`);
  };
  const off = () => {};
  return {
    debug: levels.debug ? write('debug') : off,
    info: levels.info || levels.debug ? write('info') : off,
    warn: write('warn'),
    error: write('error'),
  };
}

/** `MLTRACE_DEBUG=1` (or `true`): stack traces and debug logs. */
export function isDebug(env: Record<string, string | undefined>): boolean {
  return env.MLTRACE_DEBUG === '1' || env.MLTRACE_DEBUG === 'true';
}

/** Holds the store a run of the CLI opened, so it is closed exactly once at the end. */
export class StoreHolder {
  private opened: Promise<LineageStore> | undefined;

  constructor(private readonly injected?: LineageStore) {}

  open(io: CliIo, url: string | undefined, logger: Logger): Promise<LineageStore> {
    if (this.injected) return Promise.resolve(this.injected);
    // Loaded on first use: `mltrace --help` and the commands that need no store load none of it,
    // and on the embedded store a client of a running owner never loads PGlite.
    this.opened ??= import('@mltrace/store').then(({ openStore }) =>
      openStore({ url, cwd: io.cwd, env: io.env, logger }),
    );
    return this.opened;
  }

  /** Closes the store if this run opened it (an injected store belongs to the caller). */
  async close(): Promise<void> {
    if (!this.opened) return;
    const opened = this.opened;
    this.opened = undefined;
    const store = await opened.catch(() => undefined);
    await store?.close();
  }
}

export function createContext(
  io: CliIo,
  holder: StoreHolder,
  stop: StopSignal,
  db: string | undefined,
): CommandContext {
  const databaseUrl = db?.trim() || io.env.MLTRACE_DATABASE_URL?.trim() || undefined;
  const logger = stderrLogger(io.stderr, { info: false, debug: isDebug(io.env) });
  return {
    io,
    databaseUrl,
    logger,
    stopSignal: () => stop.get(),
    store: () => holder.open(io, databaseUrl, logger),
    out: (...lines) => {
      for (const line of lines) io.stdout.write(`${line}\n`);
    },
    err: (...lines) => {
      for (const line of lines) io.stderr.write(`${line}\n`);
    },
    json: (value) => {
      io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    progress: (message) => {
      if (io.stderr.isTTY !== true) return;
      io.stderr.write(message === undefined ? '\r\x1b[2K' : `\r\x1b[2K${message}`);
    },
  };
}
