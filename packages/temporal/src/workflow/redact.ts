/**
 * Secret detection shared by the worker and the workflow sandbox (pure: no Node APIs). A key
 * "looks like a secret" when, lower-cased and stripped of everything but letters and digits, it
 * contains one of the patterns; values such as `Bearer ...`, JWTs and PEM private keys are
 * secrets whatever their key.
 */

/**
 * The key patterns redacted by default. Strings match case-insensitively, ignoring `-`, `_` and
 * other punctuation (`apiKey`, `api_key` and `X-API-KEY` all match `apikey`); extend the list with
 * `redactKeys: [...DEFAULT_REDACT_KEYS, 'ssn']`.
 */
export const DEFAULT_REDACT_KEYS: readonly (string | RegExp)[] = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'authorization',
  'credential',
  'signature',
  'privatekey',
  'accesskey',
  'sessionkey',
  'cookie',
  /^(auth|pwd|sig|x-amz-signature|x-amz-credential)$/i,
];

/** Values that are secrets whatever their key: bearer/basic credentials, JWTs, PEM private keys. */
export const SECRET_VALUE_PATTERNS: readonly RegExp[] = [
  /^\s*(bearer|basic|token)\s+\S{8,}/i,
  /^eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}$/,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
];

/** The replacement of a redacted value. */
export const REDACTED = '[REDACTED]';

/** A predicate over keys built from a list of patterns. */
export type SecretKeyTest = (key: string) => boolean;

function squash(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Builds the key test of a pattern list (see {@link DEFAULT_REDACT_KEYS}). */
export function secretKeyTest(patterns: readonly (string | RegExp)[] = DEFAULT_REDACT_KEYS): SecretKeyTest {
  const substrings = patterns.filter((p): p is string => typeof p === 'string').map(squash);
  const regexps = patterns.filter((p): p is RegExp => p instanceof RegExp);
  const cache = new Map<string, boolean>();
  return (key) => {
    let hit = cache.get(key);
    if (hit === undefined) {
      const squashed = squash(key);
      hit =
        substrings.some((s) => s !== '' && squashed.includes(s)) ||
        regexps.some((r) => {
          r.lastIndex = 0;
          return r.test(key);
        });
      if (cache.size < 10_000) cache.set(key, hit);
    }
    return hit;
  };
}

/** Whether a string value is a secret by its shape alone. */
export function looksLikeSecretValue(value: string): boolean {
  return value.length >= 16 && SECRET_VALUE_PATTERNS.some((pattern) => pattern.test(value));
}

/**
 * A URI with its credentials removed: the password of `user:password@host` and the values of
 * query parameters whose names look like secrets (`?token=...`, S3 presigned signatures) become
 * `[REDACTED]`. Anything that is not a `scheme://` URI is returned unchanged.
 */
export function scrubUri(uri: string, isSecretKey: SecretKeyTest): string {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/?#]*)(.*)$/s.exec(uri);
  if (!scheme) return uri;
  const [, prefix = '', authority = '', rest = ''] = scheme;
  let cleanAuthority = authority;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    if (colon >= 0) cleanAuthority = `${userinfo.slice(0, colon)}:${REDACTED}${authority.slice(at)}`;
  }
  const query = rest.indexOf('?');
  if (query < 0) return `${prefix}${cleanAuthority}${rest}`;
  const hash = rest.indexOf('#', query);
  const path = rest.slice(0, query);
  const search = rest.slice(query + 1, hash < 0 ? undefined : hash);
  const fragment = hash < 0 ? '' : rest.slice(hash);
  const params = search
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // keep the raw name
      }
      return eq >= 0 && isSecretKey(decoded) ? `${name}=${REDACTED}` : pair;
    })
    .join('&');
  return `${prefix}${cleanAuthority}${path}?${params}${fragment}`;
}
