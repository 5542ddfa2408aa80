import { createHmac, randomBytes } from 'node:crypto';
import { safeEqual } from './auth.js';

/** The name of the web UI's session cookie. */
export const SESSION_COOKIE = 'mltrace_session';

/** Web UI sessions: one-time login codes that become HttpOnly, SameSite=Strict cookies. */
export interface Sessions {
  /** Mints a one-time login code (valid once, for `codeTtlMs`). */
  mintCode(): string;
  /** Spends a login code; the Set-Cookie value of a new session, or undefined for a bad or used code. */
  redeem(code: string): string | undefined;
  /** Whether a Cookie header carries a valid, unexpired session. */
  verify(cookieHeader: string | undefined): boolean;
}

/** Options of {@link createSessions}. */
export interface SessionOptions {
  /** The key sessions are signed with (the write token: rotating it ends every session). */
  secret: string;
  /** How long a session lasts. @default 7 days */
  maxAgeSeconds?: number;
  /** How long a login code stays valid. @default 24 hours */
  codeTtlMs?: number;
  /** @default Date.now */
  now?: () => number;
}

function cookieValue(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Sessions signed with the write token: the cookie is `<expiry>.<nonce>.<HMAC>`, so every replica
 * sharing the token accepts it and nothing is stored but the outstanding login codes (in memory,
 * at most 100).
 */
export function createSessions(options: SessionOptions): Sessions {
  const maxAge = options.maxAgeSeconds ?? 7 * 86_400;
  const codeTtl = options.codeTtlMs ?? 86_400_000;
  const now = options.now ?? Date.now;
  const codes = new Map<string, number>();
  const sign = (payload: string) =>
    createHmac('sha256', options.secret).update(`mltrace-session:${payload}`).digest('base64url');
  return {
    mintCode() {
      for (const [code, expires] of codes) if (expires < now()) codes.delete(code);
      while (codes.size >= 100) codes.delete(codes.keys().next().value!);
      const code = randomBytes(24).toString('base64url');
      codes.set(code, now() + codeTtl);
      return code;
    },
    redeem(code) {
      const expires = codes.get(code);
      if (expires === undefined) return undefined;
      codes.delete(code);
      if (expires < now()) return undefined;
      const payload = `${Math.floor(now() / 1000) + maxAge}.${randomBytes(16).toString('base64url')}`;
      return `${SESSION_COOKIE}=${payload}.${sign(payload)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`;
    },
    verify(header) {
      const value = cookieValue(header);
      if (!value) return false;
      const last = value.lastIndexOf('.');
      if (last <= 0) return false;
      const payload = value.slice(0, last);
      const expiry = Number(payload.split('.')[0]);
      if (!Number.isFinite(expiry) || expiry * 1000 < now()) return false;
      return safeEqual(value.slice(last + 1), sign(payload));
    },
  };
}
