import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '@mltrace/core';

/** The file name of the server token inside `MLTRACE_HOME`. */
export const SERVER_TOKEN_FILE = 'server-token';

/** Options of {@link serverTokenPath}, {@link loadServerToken} and {@link readServerToken}. */
export interface ServerTokenOptions {
  /** The token file. @default `$MLTRACE_HOME/server-token`, else `.mltrace/server-token` under `cwd` */
  file?: string;
  /** Where `MLTRACE_HOME` is read. @default process.env */
  env?: Record<string, string | undefined>;
  /** Relative paths resolve against it. @default process.cwd() */
  cwd?: string;
}

/** Where the server token lives: `$MLTRACE_HOME/server-token`, else `./.mltrace/server-token`. */
export function serverTokenPath(options: ServerTokenOptions = {}): string {
  const cwd = options.cwd ?? process.cwd();
  if (options.file !== undefined) return resolve(cwd, options.file);
  const home = (options.env ?? process.env).MLTRACE_HOME;
  return join(home ? resolve(cwd, home) : join(cwd, '.mltrace'), SERVER_TOKEN_FILE);
}

async function readToken(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // Fail closed: a token file that exists but cannot be read is an error, never open access.
    throw new ConfigError(`cannot read the server token ${path}: ${code ?? cause}`, {
      cause,
      hint: 'make the file readable by this user (mode 0600), or give another with --token-file',
    });
  }
  const token = text.trim();
  if (token === '') {
    throw new ConfigError(`the server token ${path} is empty`, {
      hint: 'delete the file to have a new token made, or write one (at least 16 random characters)',
    });
  }
  return token;
}

/**
 * The server's bearer token, made on first use: read from the token file, or, when there is none,
 * a new random one (32 bytes, hex) written there with mode 0600 (its directory 0700). A file that
 * exists but cannot be read, or is empty, is an error: the server never starts open.
 *
 * @throws ConfigError for an unreadable or empty token file
 */
export async function loadServerToken(
  options: ServerTokenOptions = {},
): Promise<{ token: string; file: string; created: boolean }> {
  const file = serverTokenPath(options);
  const existing = await readToken(file);
  if (existing !== undefined) return { token: existing, file, created: false };
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('hex');
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (cause) {
    // Another process made it first: use theirs.
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      const theirs = await readToken(file);
      if (theirs !== undefined) return { token: theirs, file, created: false };
    }
    throw new ConfigError(`cannot create the server token ${file}: ${(cause as Error).message}`, { cause });
  }
  try {
    await handle.writeFile(`${token}\n`);
    await chmod(file, 0o600);
  } finally {
    await handle.close();
  }
  return { token, file, created: true };
}

/**
 * The token a client of a local `mltrace serve` sends: `MLTRACE_SERVER_TOKEN` when set, else the
 * token file the server made (see {@link loadServerToken}); undefined when there is neither.
 *
 * @throws ConfigError for a token file that exists but cannot be read
 */
export async function readServerToken(options: ServerTokenOptions = {}): Promise<string | undefined> {
  const fromEnv = (options.env ?? process.env).MLTRACE_SERVER_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  return readToken(serverTokenPath(options));
}
