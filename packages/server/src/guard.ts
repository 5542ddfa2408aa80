import { networkInterfaces } from 'node:os';
import { isLoopback } from './auth.js';
import { HttpError } from './errors.js';

/** The host names a server answers to: its own, and the ones an operator adds. */
export interface HostPolicy {
  /** Whether a Host header's name (no port) is one the server serves. */
  allows(hostname: string): boolean;
  /** The names, for messages. */
  readonly names: readonly string[];
}

function bare(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
}

/** The name of a Host header or an origin's authority without its port (`[::1]:80` is `::1`). */
export function hostnameOf(authority: string): string {
  const value = authority.trim().toLowerCase();
  if (value.startsWith('[')) return value.slice(1, value.indexOf(']') > 0 ? value.indexOf(']') : undefined);
  const colon = value.lastIndexOf(':');
  return colon >= 0 && value.indexOf(':') === colon ? value.slice(0, colon) : value;
}

/**
 * The Host names a server listening on `listen` accepts: loopback names (`localhost`,
 * `127.0.0.0/8`, `::1`), the listen address itself (for a wildcard address, this machine's
 * interface addresses), and `extra` (`--allowed-host`; a leading `.` allows every subdomain,
 * `*` allows any name, for a proxy that checks it).
 */
export function hostPolicy(listen: string, extra: readonly string[] = []): HostPolicy {
  const names = new Set<string>(['localhost']);
  const suffixes: string[] = [];
  let any = false;
  const listenName = bare(listen);
  if (listenName === '0.0.0.0' || listenName === '::') {
    for (const list of Object.values(networkInterfaces()))
      for (const address of list ?? []) names.add(bare(address.address));
  } else {
    names.add(listenName);
  }
  for (const raw of extra) {
    const name = bare(raw);
    if (name === '*') any = true;
    else if (name.startsWith('.')) suffixes.push(name);
    else if (name !== '') names.add(name);
  }
  return {
    names: [...names, ...suffixes.map((s) => `*${s}`), ...(any ? ['*'] : [])],
    allows(hostname) {
      const name = bare(hostname);
      if (any || names.has(name) || isLoopback(name) || name.endsWith('.localhost')) return true;
      return suffixes.some((suffix) => name.endsWith(suffix) || name === suffix.slice(1));
    },
  };
}

/**
 * Refuses a request whose Host header names a host the server does not serve (DNS rebinding: a
 * web page whose own domain resolves to 127.0.0.1 sends its domain as the Host).
 *
 * @throws HttpError 403 `forbidden`
 */
export function checkHost(policy: HostPolicy, host: string | undefined): void {
  if (host === undefined || host.trim() === '') {
    throw new HttpError('forbidden', 'the request has no Host header', { hint: 'send HTTP/1.1 with a Host' });
  }
  const name = hostnameOf(host);
  if (!policy.allows(name)) {
    throw new HttpError('forbidden', `this server does not answer to the host "${name.slice(0, 253)}"`, {
      hint: 'call it by its address (127.0.0.1 or localhost), or start it with --allowed-host NAME',
    });
  }
}

/** What {@link checkOrigin} is told about a request. */
export interface OriginCheck {
  /** The Origin header, if any. */
  origin: string | undefined;
  /** The Host header (already checked). */
  host: string | undefined;
  /** The Sec-Fetch-Site header browsers send, if any. */
  fetchSite: string | undefined;
  /** Origins allowed cross-origin (CORS). */
  cors: ReadonlySet<string>;
  /** The request is authenticated by the session cookie, not a bearer token. */
  cookie: boolean;
  /** The request writes. */
  write: boolean;
}

/**
 * Checks the Origin of a write, or of a read the session cookie authenticates: a browser request
 * must come from the server's own origin (same Host) or a configured CORS origin. A write by
 * cookie must name its Origin (every browser does). Requests without Origin and without a cookie
 * (curl, the clients) pass.
 *
 * @throws HttpError 403 `forbidden`
 */
export function checkOrigin(check: OriginCheck): void {
  const { origin, host } = check;
  if (origin === undefined) {
    if (
      check.cookie &&
      (check.write || check.fetchSite === 'cross-site' || check.fetchSite === 'same-site')
    ) {
      throw new HttpError('forbidden', 'a request with the session cookie must come from the mltrace UI', {
        hint: 'send Authorization: Bearer <token> instead',
      });
    }
    return;
  }
  if (check.cors.has(origin)) return;
  let authority: string | undefined;
  try {
    const url = new URL(origin);
    authority = url.host.toLowerCase();
  } catch {
    authority = undefined;
  }
  if (authority !== undefined && host !== undefined && authority === host.trim().toLowerCase()) return;
  throw new HttpError('forbidden', `requests from the origin ${origin.slice(0, 200)} are not allowed`, {
    hint: 'call the API from the mltrace UI, or add the origin with --cors-origin',
  });
}
