import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError } from './errors.js';

/** Compares two secrets in constant time (over their SHA-256 digests, so lengths do not leak). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/** Whether a listen address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}

/** The bearer token of an Authorization header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** What a request may do. */
export type Access = 'read' | 'write';

/** The tokens a server checks. A write token also grants read access. */
export interface Tokens {
  /** Needed by every write, and by reads unless `publicReads`. */
  write?: string | undefined;
  /** Allows reads only (the write token works too). */
  read?: string | undefined;
  /** Reads need no token (unless a read token is set). @default false */
  publicReads?: boolean;
}

/**
 * Checks a request's Authorization header for an access level. Throws 401 when a needed token is
 * missing or wrong, 403 when a read token is used for a write. Never puts a token in a message.
 */
export function authorize(tokens: Tokens, access: Access, header: string | undefined): void {
  const needed =
    access === 'write'
      ? tokens.write !== undefined
      : tokens.read !== undefined || (tokens.write !== undefined && tokens.publicReads !== true);
  if (!needed) return;
  const given = bearerToken(header);
  if (given === undefined) {
    throw new HttpError('unauthorized', `this ${access} needs a bearer token`, {
      hint: 'send Authorization: Bearer <token>',
    });
  }
  const isWrite = tokens.write !== undefined && safeEqual(given, tokens.write);
  if (access === 'write') {
    if (isWrite) return;
    if (tokens.read !== undefined && safeEqual(given, tokens.read)) {
      throw new HttpError('forbidden', 'the read token does not allow writes', {
        hint: 'use the write token',
      });
    }
    throw new HttpError('unauthorized', 'the bearer token is not valid');
  }
  if (isWrite || (tokens.read !== undefined && safeEqual(given, tokens.read))) return;
  throw new HttpError('unauthorized', 'the bearer token is not valid');
}
