import { mkdir } from 'node:fs/promises';
import { Mutex, PGlite } from '@electric-sql/pglite';
import type { Logger } from '@mltrace/core';
import type { Database } from '../database.js';
import { pgliteDatabase } from '../pglite/session.js';
import { serveWire } from './wire.js';

/** The owner's side of a shared directory: PGlite in this process, served on a unix socket. */
export interface Owner {
  /** This process's own session, in process (no socket). */
  database: Database;
  /** Stops serving (clients are disconnected, open transactions rolled back), then closes PGlite. */
  close(): Promise<void>;
}

/**
 * Boots PGlite on `dataDir` and serves it on `socketPath`. Only the holder of the directory's
 * lock file calls this: no directory is ever opened by two PGlite instances.
 */
export async function startOwner(options: {
  dataDir: string;
  socketPath: string;
  logger: Logger;
}): Promise<Owner> {
  await mkdir(options.dataDir, { recursive: true });
  const client = await PGlite.create(options.dataDir);
  const lock = new Mutex();
  let server: Awaited<ReturnType<typeof serveWire>>;
  try {
    server = await serveWire({ client, lock, socketPath: options.socketPath, logger: options.logger });
  } catch (error) {
    await client.close().catch(() => {});
    throw error;
  }
  const session = pgliteDatabase(client, lock);
  // PGlite answers within the same turn of the event loop, so an owner writing in a tight loop
  // would never let a client connect or its requests in: each of the owner's own operations
  // first lets pending I/O run (a client's batch then queues for the lock first). A few
  // microseconds against the ~2 ms of a write.
  const letClientsIn = () => new Promise<void>((resolve) => setImmediate(resolve));
  const database: Database = {
    async rows(query) {
      await letClientsIn();
      return session.rows(query);
    },
    async transaction(fn) {
      await letClientsIn();
      return session.transaction(fn);
    },
    close: () => session.close(),
  };
  return {
    database,
    async close() {
      try {
        await server.close();
      } finally {
        await session.close();
      }
    },
  };
}
