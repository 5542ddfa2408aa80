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
  const database = pgliteDatabase(client, lock);
  return {
    database,
    async close() {
      try {
        await server.close();
      } finally {
        await database.close();
      }
    },
  };
}
