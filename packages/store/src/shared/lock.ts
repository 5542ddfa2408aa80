import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir, userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** What the owner of an embedded directory writes in its lock file. */
export interface OwnerLock {
  /** The sharing protocol; an owner speaking another one cannot be used. */
  protocol: number;
  /** `@mltrace/store`'s version in the owner. */
  version: string;
  pid: number;
  hostname: string;
  /** The owner's user id (-1 where there is none). */
  uid: number;
  /** The unix socket the owner serves the store on. */
  socket: string;
  dataDir: string;
  startedAt: string;
}

/** The lock file and the socket of an embedded directory. */
export function sharePaths(dataDir: string): { lock: string; socket: string } {
  // PostgreSQL's own name for a socket, so `psql -h <dir>` finds it.
  const beside = join(`${dataDir}.socket`, '.s.PGSQL.5432');
  // A unix socket path holds at most 107 bytes (Linux; 103 on macOS).
  const socket =
    Buffer.byteLength(beside) <= 100
      ? beside
      : join(
          tmpdir(),
          `mltrace-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`,
          '.s.PGSQL.5432',
        );
  return { lock: `${dataDir}.lock`, socket };
}

/** The lock file's text and its parsed content, or undefined when there is none. */
export async function readLock(
  path: string,
): Promise<{ text: string; lock: OwnerLock | undefined } | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const lock = JSON.parse(text) as OwnerLock;
    return { text, lock: typeof lock?.pid === 'number' ? lock : undefined };
  } catch {
    return { text, lock: undefined };
  }
}

/**
 * Creates the lock file with its whole content at once (written beside it, then hard-linked into
 * place: the link fails if a lock exists, and a reader never sees a half-written lock). Returns
 * false when another lock is there.
 */
export async function createLock(path: string, lock: OwnerLock): Promise<boolean> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}`);
  await writeFile(temp, `${JSON.stringify(lock, null, 2)}\n`, { mode: 0o644 });
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => {});
  }
}

/** Removes this process's lock file (only if it is still this process's). */
export async function removeLock(path: string, text: string): Promise<void> {
  const current = await readLock(path).catch(() => undefined);
  if (current?.text === text) await rm(path, { force: true });
}

/** Whether a process with this id exists (on this machine). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, and belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How long a breaker may hold `<lock>.breaking` before the next one treats it as dead. */
const BREAKER_STALE_MS = 10_000;

/**
 * Removes a dead owner's lock, if the lock is still the one read (`text`). Breakers take turns
 * through a `<lock>.breaking` directory (mkdir is atomic), so one that read the dead owner's lock
 * can never remove the lock a faster process has written since. Returns whether this call
 * removed it (false: another breaker is at work, or the lock changed; read it again).
 */
export async function breakLock(path: string, text: string, socket: string | undefined): Promise<boolean> {
  const breaker = `${path}.breaking`;
  try {
    await mkdir(breaker);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const since = await stat(breaker).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (since > BREAKER_STALE_MS) await rmdir(breaker).catch(() => {});
    return false;
  }
  try {
    const current = await readLock(path);
    if (current?.text !== text) return false;
    if (socket) await rm(socket, { force: true });
    await rm(path, { force: true });
    return true;
  } finally {
    await rmdir(breaker).catch(() => {});
  }
}

/** This process's identity for a new lock. */
export function ownerLock(fields: {
  version: string;
  protocol: number;
  socket: string;
  dataDir: string;
}): OwnerLock {
  let uid = -1;
  try {
    uid = userInfo().uid;
  } catch {}
  return { ...fields, pid: process.pid, hostname: hostname(), uid, startedAt: new Date().toISOString() };
}
