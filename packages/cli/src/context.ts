import type { LineageStore } from '@mltrace/store';
import { openStore } from '@mltrace/store';
import type { CliIo } from './io.js';

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
}

/** Holds the store a run of the CLI opened, so it is closed exactly once at the end. */
export class StoreHolder {
  private opened: Promise<LineageStore> | undefined;

  constructor(private readonly injected?: LineageStore) {}

  open(io: CliIo, url: string | undefined): Promise<LineageStore> {
    if (this.injected) return Promise.resolve(this.injected);
    this.opened ??= openStore({ url, cwd: io.cwd, env: io.env });
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

export function createContext(io: CliIo, holder: StoreHolder, db: string | undefined): CommandContext {
  const databaseUrl = db?.trim() || io.env.MLTRACE_DATABASE_URL?.trim() || undefined;
  return {
    io,
    databaseUrl,
    store: () => holder.open(io, databaseUrl),
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
