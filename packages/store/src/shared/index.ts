/**
 * The embedded store shared by every process that opens it: the first opener of a directory owns
 * it (PGlite in that process) and serves it on a unix socket beside it; later openers are clients
 * over the PostgreSQL wire protocol (postgres.js). This module loads neither PGlite nor
 * postgres.js until it knows which one it needs.
 * @module
 */
import { readFileSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { type Logger, UnavailableError } from '@mltrace/core';
import type { LineageStore, StoreOptions } from '../api.js';
import type { Database } from '../database.js';
import { createStore } from '../store.js';
import {
  breakLock,
  createLock,
  isAlive,
  type OwnerLock,
  ownerLock,
  readLock,
  removeLock,
  sharePaths,
} from './lock.js';

/** The sharing protocol's version: the lock file's format and what the socket speaks. */
const PROTOCOL = 1;
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Options of {@link openSharedStore}. */
export interface SharedStoreOptions extends StoreOptions {
  /** The embedded database directory. */
  dataDir: string;
  /** Where ownership changes are reported (a dead owner recovered, a lost owner replaced). @default quiet */
  logger?: Logger;
  /**
   * How long to wait for an owner that holds the directory but does not answer yet (it may be
   * booting PGlite) before failing. @default 60_000
   */
  ownerTimeoutMs?: number;
}

/** The default embedded database directory: `$MLTRACE_HOME/lineage`, else `.mltrace/lineage`. */
export function defaultDataDir(
  env: Record<string, string | undefined> = process.env,
  cwd = process.cwd(),
): string {
  return join(env.MLTRACE_HOME ? resolve(cwd, env.MLTRACE_HOME) : join(cwd, '.mltrace'), 'lineage');
}

/** One way of reaching the directory: as its owner, or as a client of the owner. */
interface Backend {
  role: 'owner' | 'client';
  database: Database;
  close(): Promise<void>;
}

const CONNECTION_LOST = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOENT',
  'EPIPE',
]);

/** Whether an error says the owner went away (rather than that a statement failed). */
function isConnectionLost(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && CONNECTION_LOST.has(code);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function describeOwner(lock: OwnerLock): string {
  return `process ${lock.pid} on ${lock.hostname} (@mltrace/store ${lock.version}, since ${lock.startedAt})`;
}

/** An error for a directory this process cannot take part in sharing. */
function cannotShare(dataDir: string, reason: string, hint: string, cause?: unknown): UnavailableError {
  return new UnavailableError(`cannot open the embedded lineage store in ${dataDir}: ${reason}`, {
    cause,
    hint,
  });
}

/** Connects to an owner's socket; undefined when nobody listens there (yet). */
async function connectClient(socket: string, dataDir: string, lock: OwnerLock): Promise<Backend | undefined> {
  const { default: postgres } = await import('postgres');
  const { postgresDatabase } = await import('../postgres/session.js');
  const sql = postgres({
    path: socket,
    user: 'postgres',
    database: 'postgres',
    pass: '',
    ssl: false,
    max: 1,
    prepare: true,
    fetch_types: false,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: 'mltrace' },
  });
  try {
    await sql`SELECT 1`;
  } catch (error) {
    await sql.end({ timeout: 0 }).catch(() => {});
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      throw cannotShare(
        dataDir,
        `it is held by ${describeOwner(lock)}, whose socket ${socket} this user may not use`,
        'run as the user that owns it, or give this process its own MLTRACE_HOME',
        error,
      );
    }
    if (isConnectionLost(error)) return undefined;
    throw error;
  }
  const close = () => sql.end({ timeout: 5 });
  return { role: 'client', database: postgresDatabase(sql, true, close), close };
}

/** Becomes the owner: boots PGlite and serves it. The lock file is already ours. */
async function startOwning(
  dataDir: string,
  paths: { lock: string; socket: string },
  lockText: string,
  logger: Logger,
): Promise<Backend> {
  const { startOwner } = await import('./owner.js');
  let owner: Awaited<ReturnType<typeof startOwner>>;
  try {
    owner = await startOwner({ dataDir, socketPath: paths.socket, logger });
  } catch (error) {
    await removeLock(paths.lock, lockText);
    throw cannotShare(
      dataDir,
      (error as Error).message,
      'check that the directory is writable by this user, or set MLTRACE_HOME to another directory',
      error,
    );
  }
  // If the process ends without closing the store, leave no lock behind for a live-looking owner.
  const onExit = () => {
    rmSync(paths.socket, { force: true });
    rmSync(paths.lock, { force: true });
  };
  process.once('exit', onExit);
  logger.debug('embedded store: serving', { dataDir, socket: paths.socket });
  return {
    role: 'owner',
    database: owner.database,
    async close() {
      process.removeListener('exit', onExit);
      try {
        await owner.close();
      } finally {
        await removeLock(paths.lock, lockText);
      }
    },
  };
}

/**
 * Finds the directory's owner and connects to it, or becomes the owner. Decided by the lock file
 * `<dataDir>.lock`, created atomically: whoever creates it owns the directory until it closes
 * the store or exits. A lock whose process is gone (killed, crashed) is removed and the
 * directory taken over; PostgreSQL's WAL recovery then brings back every committed write.
 */
async function openBackend(dataDir: string, logger: Logger, timeoutMs: number): Promise<Backend> {
  const paths = sharePaths(dataDir);
  try {
    await mkdir(dirname(dataDir), { recursive: true });
  } catch (error) {
    throw cannotShare(
      dataDir,
      (error as Error).message,
      'set MLTRACE_HOME to a directory this user can write',
    );
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mine = ownerLock({ protocol: PROTOCOL, version: VERSION, socket: paths.socket, dataDir });
    let created: boolean;
    try {
      created = await createLock(paths.lock, mine);
    } catch (error) {
      throw cannotShare(
        dataDir,
        `cannot write its lock file ${paths.lock} (${(error as Error).message})`,
        'the embedded store needs a writable directory (not a read-only file system or another user’s directory): set MLTRACE_HOME, or use PostgreSQL (MLTRACE_DATABASE_URL)',
        error,
      );
    }
    if (created) {
      const text = `${JSON.stringify(mine, null, 2)}\n`;
      return startOwning(dataDir, paths, text, logger);
    }
    const found = await readLock(paths.lock);
    if (!found) continue;
    const { lock } = found;
    if (!lock) {
      throw cannotShare(
        dataDir,
        `its lock file ${paths.lock} is not one mltrace wrote`,
        `if no mltrace process uses ${dataDir}, delete ${paths.lock}`,
      );
    }
    if (lock.hostname !== hostname()) {
      throw cannotShare(
        dataDir,
        `it is held by ${describeOwner(lock)}, another machine`,
        'the embedded store serves one machine; share lineage between machines through PostgreSQL (MLTRACE_DATABASE_URL)',
      );
    }
    if (!isAlive(lock.pid)) {
      if (await breakLock(paths.lock, found.text, lock.socket)) {
        logger.warn('embedded store: its owner is gone; taking it over', {
          dataDir,
          pid: lock.pid,
        });
      } else {
        await sleep(20);
      }
      continue;
    }
    if (lock.protocol !== PROTOCOL || lock.version !== VERSION) {
      throw cannotShare(
        dataDir,
        `it is held by ${describeOwner(lock)}, and this process runs @mltrace/store ${VERSION}`,
        `stop process ${lock.pid} or run the same version of mltrace in both, then retry`,
      );
    }
    const client = await connectClient(lock.socket, dataDir, lock);
    if (client) return client;
    if (Date.now() > deadline) {
      throw cannotShare(
        dataDir,
        `it is held by ${describeOwner(lock)}, which does not answer on ${lock.socket}`,
        `if process ${lock.pid} is hung, stop it; if it is not an mltrace process, delete ${paths.lock}`,
      );
    }
    // The owner is booting PGlite, or closing (then its lock goes away next).
    await sleep(50);
  }
}

/**
 * A Database that reaches the directory through whichever backend is current. A client whose
 * owner goes away (the owner closed its store or exited, or was killed) opens the directory
 * again: it connects to the next owner or becomes the owner itself, and the operation that
 * failed is retried once on the new backend. Every store write is idempotent (by run key,
 * decision key, or a plain update), so a write retried after its commit was lost in flight is
 * written once.
 */
class SharedDatabase implements Database {
  private backend: Backend | undefined;
  private opening: Promise<Backend> | undefined;
  private closed = false;

  constructor(
    private readonly dataDir: string,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
  ) {}

  /** The current backend, opening one when there is none. */
  current(): Promise<Backend> {
    if (this.closed) {
      return Promise.reject(
        new UnavailableError('the embedded lineage store is closed', { hint: 'open it again' }),
      );
    }
    if (this.backend) return Promise.resolve(this.backend);
    this.opening ??= openBackend(this.dataDir, this.logger, this.timeoutMs).then(
      (backend) => {
        this.opening = undefined;
        this.backend = backend;
        return backend;
      },
      (error: unknown) => {
        this.opening = undefined;
        throw error;
      },
    );
    return this.opening;
  }

  private async retry<T>(op: (database: Database) => Promise<T>): Promise<T> {
    const backend = await this.current();
    try {
      return await op(backend.database);
    } catch (error) {
      if (this.closed || backend.role === 'owner' || !isConnectionLost(error)) throw error;
      if (this.backend === backend) {
        this.backend = undefined;
        void backend.close().catch(() => {});
        this.logger.warn('embedded store: lost its owner; opening it again', { dataDir: this.dataDir });
      }
      return op((await this.current()).database);
    }
  }

  rows<T = Record<string, unknown>>(query: Parameters<Database['rows']>[0]): Promise<T[]> {
    return this.retry((database) => database.rows<T>(query));
  }

  transaction<T>(fn: (tx: Database) => Promise<T>): Promise<T> {
    return this.retry((database) => database.transaction(fn));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const backend = this.backend ?? (await this.opening?.catch(() => undefined));
    this.backend = undefined;
    await backend?.close();
  }
}

/**
 * Opens (and migrates) the embedded store in a directory, shared with every other process that
 * opens it: see the module's description. Throws UnavailableError when the directory cannot be
 * shared (another user's, another machine's, a read-only file system, another mltrace version
 * serving it), saying which process holds it and what to do.
 */
export async function openSharedStore(options: SharedStoreOptions): Promise<LineageStore> {
  const database = new SharedDatabase(
    resolve(options.dataDir),
    options.logger ?? quiet,
    options.ownerTimeoutMs ?? 60_000,
  );
  try {
    await database.current();
    return await createStore(database, options);
  } catch (error) {
    await database.close().catch(() => {});
    throw error;
  }
}
