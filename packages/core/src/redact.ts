import rules from './redaction.json' with { type: 'json' };
import type { ComponentRunInput, PointerInput, PromotionDecisionInput } from './types.js';

/**
 * The one redaction policy of mltrace: what the store removes from every record before writing
 * it, whoever the writer is (the Temporal plugin, the bridges, OpenLineage ingest, imports, the
 * CLI). Pure and deterministic, so a run key or a pointer redacts to the same text every time and
 * idempotent writes stay idempotent.
 *
 * - values under keys that name secrets (`password`, `db_password`, `apiKey`, `token`...) become
 *   `[REDACTED]`, at any depth, also `{ key: "db_password", value: ... }` pairs;
 * - in every string, of every length: bearer and basic credentials, JWTs, PEM private keys,
 *   well-known token shapes (AWS access key ids, GitHub, Slack), URI passwords, secret query
 *   parameters and `secret_key = value` assignments (code, logs, connection strings);
 * - pointer URIs lose their credentials outright (see {@link stripUriCredentials}), so the same
 *   pointer is named with and without them.
 */

/** The replacement of a redacted value. */
export const REDACTED: string = rules.replacement;

// The policy's data (key words, patterns) lives in redaction.json, which the Python package
// reads too: one source for both languages, the logic around it written once in each.
type PatternName = keyof typeof rules.patterns;
const pattern = (name: PatternName, global = false): RegExp => {
  const { source, flags } = rules.patterns[name];
  return new RegExp(source, global ? `${flags}g` : flags);
};

const SECRET_KEY_PARTS: readonly string[] = rules.secretKeyParts;
const SECRET_KEY_EXACT: ReadonlySet<string> = new Set(rules.secretKeyExact);
/** Keys that contain a secret word but count things (LLM token budgets, tokenizers). */
const NOT_SECRET_KEY = pattern('notSecretKey');

const squash = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Whether a key names a secret (case and punctuation ignored: `apiKey`, `API_KEY`, `x-api-key`). */
export function isSecretKey(key: string): boolean {
  let secret = secretKeys.get(key);
  if (secret === undefined) {
    const squashed = squash(key);
    secret =
      squashed !== '' &&
      !NOT_SECRET_KEY.test(squashed) &&
      (SECRET_KEY_EXACT.has(squashed) || SECRET_KEY_PARTS.some((part) => squashed.includes(part)));
    if (secretKeys.size >= MAX_MEMO_ENTRIES) secretKeys.clear();
    secretKeys.set(key, secret);
  }
  return secret;
}

/** Keys by key: every run of a worker has the same few metadata keys. */
const secretKeys = new Map<string, boolean>();

/** Any text a secret key's squashed form contains: a part, or an exact key. */
const SECRET_WORD = new RegExp([...SECRET_KEY_PARTS, ...SECRET_KEY_EXACT].join('|'));

/** A character of an assignment's key (`[A-Za-z0-9_.-]`). */
function isKeyChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45
  );
}

/**
 * Whether an assignment's key before a `:` of this text (no `=`, no whitespace) may be a secret
 * key. Such a key ends right before the `:` (or its closing quote), so it is a tail of the run of
 * key characters there, and its squashed form is in that run's: a run without a secret word
 * rules the key out.
 */
function secretKeyBeforeColon(text: string): boolean {
  for (let colon = text.indexOf(':'); colon >= 0; colon = text.indexOf(':', colon + 1)) {
    let end = colon;
    const before = text.charCodeAt(end - 1);
    if (before === 34 || before === 39 || before === 96) end--; // ", ', `
    let start = end;
    while (start > 0 && isKeyChar(text.charCodeAt(start - 1))) start--;
    if (start < end && SECRET_WORD.test(squash(text.slice(start, end)))) return true;
  }
  return false;
}

/**
 * `name = value`, `name: value`, `"name": "value"`; the name is checked by {@link isSecretKey}.
 * Every repetition is bounded, so the scan stays linear on long unbroken text.
 */
const ASSIGNMENT = pattern('assignment', true);
/** Unquoted values left alone: identifiers and member chains in code (`token = getToken()`). */
const CODE_VALUE = pattern('codeValue');
const PEM = pattern('pem', true);
const BEARER = pattern('bearer', true);
const TOKEN = pattern('token', true);
const BASIC = pattern('basic', true);
const JWT = pattern('jwt', true);
const KNOWN_TOKENS = pattern('knownTokens', true);
const URI_USERINFO = pattern('uriUserinfo', true);
const SECRET_PARAM = pattern('secretParam', true);
const URI_PARTS = pattern('uriParts');
const PLAIN_USER = pattern('plainUser');
const TOKEN_PREFIX = pattern('tokenPrefix');
const SIGNATURE_PARAM = pattern('signatureParam');

function redactAssignment(
  match: string,
  quote: string,
  key: string,
  separator: string,
  valueQuote: string | undefined,
  quoted: string | undefined,
  bare: string | undefined,
): string {
  if (!isSecretKey(key)) {
    // Not a secret, but its value may hold one (`said: token=...`): scan the value on its own.
    const inner = (value: string) => value.replace(ASSIGNMENT, redactAssignment);
    if (valueQuote !== undefined)
      return `${quote}${key}${quote}${separator}${valueQuote}${inner(quoted ?? '')}${valueQuote}`;
    return `${quote}${key}${quote}${separator}${inner(bare ?? '')}`;
  }
  if (valueQuote !== undefined) {
    if (quoted === undefined || quoted === '' || quoted === REDACTED) return match;
    return `${quote}${key}${quote}${separator}${valueQuote}${REDACTED}${valueQuote}`;
  }
  if (bare === undefined || bare === REDACTED || CODE_VALUE.test(bare)) return match;
  return `${quote}${key}${quote}${separator}${REDACTED}`;
}

/** Userinfo that is only a plain, short user name (`git@`, `alice@`), not a credential. */
function plainUser(userinfo: string): boolean {
  return PLAIN_USER.test(userinfo) && !TOKEN_PREFIX.test(userinfo);
}

/** Query parameters that carry credentials or a signature (dropped from pointers, redacted in text). */
function secretParam(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    // keep the raw name
  }
  return isSecretKey(decoded) || SIGNATURE_PARAM.test(decoded);
}

/**
 * Free text (of any length) with every credential it carries replaced by `[REDACTED]`: PEM
 * private keys, bearer/basic credentials, JWTs, well-known token shapes, URI userinfo with a
 * password or a token, secret query parameters, and `secret_name = value` assignments.
 */
export function redactText(text: string): string {
  if (text.length < 6) return text;
  if (!NEEDS_ALL_PATTERNS.test(text)) {
    // Only an assignment (`name: value`) can match a text whose one trigger is `:` (a URI, a
    // time, a run key): the other patterns each need one of NEEDS_ALL_PATTERNS. And it changes
    // the text only where its key, a span of the text, is a secret key. So: one pass at most, not
    // nine, and no memo entry for texts that are new with every run.
    return secretKeyBeforeColon(text) ? text.replace(ASSIGNMENT, redactAssignment) : text;
  }
  if (text.length > MAX_MEMO_CHARS) return redactUncached(text);
  let redacted = memo.get(text);
  if (redacted === undefined) {
    redacted = redactUncached(text);
    if (memo.size >= MAX_MEMO_ENTRIES) memo.clear();
    memo.set(text, redacted);
  }
  return redacted;
}

/**
 * What every pattern above but the assignment needs at least one of (a query parameter's `=`,
 * userinfo's `@`, bearer/basic/token and PEM whitespace, a JWT's `eyJ`, a known token's prefix).
 * An assignment needs `=` or `:`. A text with none of them is returned as it is.
 */
const NEEDS_ALL_PATTERNS = /[=@\s]|eyJ|AKIA|ASIA|gh[pousr]_|github_pat_|glpat-|xox[abprs]-|sk-/;
/**
 * Redacted texts by text: the same component names, workflow ids, task queues and pointers come
 * with every run of a batch, and the policy is a pure function of the text.
 */
const memo = new Map<string, string>();
const MAX_MEMO_ENTRIES = 10_000;
const MAX_MEMO_CHARS = 1024;
/**
 * Redacted code snapshots by text: a worker's snapshot (`fn.toString()`, up to 20,000
 * characters) comes with every run of its activity, and nine patterns over 5,000 characters took
 * ~130 us where a lookup takes a hash of the text (kept by the string once computed). Only
 * snapshots, so that one-off long texts (errors, previews) neither evict them nor stay in memory.
 */
const codeMemo = new Map<string, string>();
const MAX_CODE_MEMO_ENTRIES = 256;

/** {@link redactText} of a code snapshot, memoized (the oldest entry goes first when full). */
function redactCode(code: string): string {
  let redacted = codeMemo.get(code);
  if (redacted === undefined) {
    redacted = redactText(code);
    if (codeMemo.size >= MAX_CODE_MEMO_ENTRIES) codeMemo.delete(codeMemo.keys().next().value as string);
    codeMemo.set(code, redacted);
  }
  return redacted;
}

/** Every pattern, without the shortcuts of {@link redactText}: what they are tested against. */
export function redactAllPatterns(text: string): string {
  return redactUncached(text);
}

function redactUncached(text: string): string {
  return text
    .replace(PEM, REDACTED)
    .replace(JWT, REDACTED)
    .replace(KNOWN_TOKENS, REDACTED)
    .replace(BEARER, `$1$2${REDACTED}`)
    .replace(TOKEN, `$1$2${REDACTED}`)
    .replace(BASIC, `$1$2${REDACTED}`)
    .replace(URI_USERINFO, (match, scheme: string, userinfo: string) =>
      plainUser(userinfo) || userinfo === REDACTED ? match : `${scheme}${REDACTED}@`,
    )
    .replace(SECRET_PARAM, (match, sep: string, name: string, value: string) =>
      value !== '' && value !== REDACTED && secretParam(name) ? `${sep}${name}=${REDACTED}` : match,
    )
    .replace(ASSIGNMENT, redactAssignment);
}

/**
 * A `scheme://` URI without its credentials: userinfo other than a plain user name
 * (`user:password@`, `TOKEN@`) and query parameters that carry secrets or signatures
 * (`?token=`, `X-Amz-Signature=`) are removed, not masked, so a pointer names the same thing
 * with and without them. Anything else is returned unchanged.
 */
export function stripUriCredentials(uri: string): string {
  const parts = URI_PARTS.exec(uri);
  if (!parts) return uri;
  const [, prefix = '', authority = '', rest = ''] = parts;
  const at = authority.lastIndexOf('@');
  const host = at >= 0 && !plainUser(authority.slice(0, at)) ? authority.slice(at + 1) : authority;
  const query = rest.indexOf('?');
  if (query < 0) return `${prefix}${host}${rest}`;
  const hash = rest.indexOf('#', query);
  const search = rest.slice(query + 1, hash < 0 ? undefined : hash);
  const kept = search.split('&').filter((pair) => {
    const eq = pair.indexOf('=');
    return !(eq > 0 && secretParam(pair.slice(0, eq)));
  });
  const path = rest.slice(0, query);
  const fragment = hash < 0 ? '' : rest.slice(hash);
  return `${prefix}${host}${path}${kept.length > 0 ? `?${kept.join('&')}` : ''}${fragment}`;
}

/** A pointer URI as the store keeps it: credentials stripped, then any other secret redacted. */
export function redactUri(uri: string): string {
  return redactText(stripUriCredentials(uri));
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A JSON-like value with {@link redactText} applied to every string and every value under a
 * secret key (see {@link isSecretKey}) replaced by `[REDACTED]`: copied where something changed,
 * the same objects where nothing did (most records hold no secret, and copying them was most of
 * the cost). Only arrays and plain objects are walked (Dates and other instances are kept as they
 * are); never throws. The input is not modified.
 */
export function redactValue<T>(value: T): T {
  const seen = new WeakSet<object>();
  const visit = (node: unknown): unknown => {
    if (typeof node === 'string') return redactText(node);
    if (node === null || typeof node !== 'object') return node;
    if (seen.has(node)) return node;
    if (Array.isArray(node)) {
      seen.add(node);
      let out: unknown[] | undefined;
      for (let i = 0; i < node.length; i++) {
        const item = visit(node[i]);
        if (item !== node[i]) {
          out ??= node.slice(0, i);
        }
        if (out) out.push(item);
      }
      seen.delete(node);
      return out ?? node;
    }
    if (!isPlain(node)) return node;
    seen.add(node);
    const record = node as Record<string, unknown>;
    // { key: "db_password", value: "..." } and { name: "token", value: "..." }: MLflow params, tags.
    const named =
      typeof record.key === 'string' ? record.key : typeof record.name === 'string' ? record.name : '';
    const pairSecret = named !== '' && 'value' in record && isSecretKey(named);
    let out: Record<string, unknown> | undefined;
    const keys = Object.keys(record);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const item = record[key];
      const redacted =
        item !== null &&
        item !== undefined &&
        item !== '' &&
        (isSecretKey(key) || (pairSecret && key === 'value'))
          ? REDACTED
          : visit(item);
      if (redacted !== item && !out) {
        out = {};
        for (let j = 0; j < i; j++) out[keys[j]!] = record[keys[j]!];
      }
      if (out) out[key] = redacted;
    }
    seen.delete(node);
    return out ?? node;
  };
  return visit(value) as T;
}

const text = <T>(value: T): T => (typeof value === 'string' ? (redactText(value) as T) : value);

function redactPointer(pointer: unknown): unknown {
  if (typeof pointer === 'string') return redactUri(pointer);
  if (pointer === null || typeof pointer !== 'object' || Array.isArray(pointer)) return pointer;
  const p = pointer as PointerInput;
  return { ...p, uri: typeof p.uri === 'string' ? redactUri(p.uri) : p.uri, version: text(p.version) };
}

/**
 * A run as the store may keep it: {@link redactText} on its texts (component, run key, error,
 * notes, code snapshot, git commit, workflow context, dependencies), {@link redactValue} on its
 * metadata, {@link redactUri} on its pointers. Fields of the wrong type are left for the store's
 * validation to reject; the input is not modified.
 */
export function redactRunInput(run: ComponentRunInput): ComponentRunInput {
  if (run === null || typeof run !== 'object') return run;
  const out: ComponentRunInput = { ...run, component: text(run.component) };
  if (run.runKey !== undefined) out.runKey = text(run.runKey);
  if (run.gitCommit !== undefined) out.gitCommit = text(run.gitCommit);
  if (run.codeSnapshot !== undefined)
    out.codeSnapshot = typeof run.codeSnapshot === 'string' ? redactCode(run.codeSnapshot) : run.codeSnapshot;
  if (run.notes !== undefined) out.notes = text(run.notes);
  if (run.error && typeof run.error === 'object') {
    out.error = { ...run.error, message: text(run.error.message) };
    if (run.error.type !== undefined) out.error.type = text(run.error.type);
  }
  if (run.workflow && typeof run.workflow === 'object') out.workflow = redactValue(run.workflow);
  if (run.metadata !== undefined) out.metadata = redactValue(run.metadata);
  if (Array.isArray(run.inputs)) out.inputs = run.inputs.map(redactPointer) as ComponentRunInput['inputs'];
  if (Array.isArray(run.outputs))
    out.outputs = run.outputs.map(redactPointer) as ComponentRunInput['outputs'];
  if (Array.isArray(run.dependsOn)) out.dependsOn = run.dependsOn.map(text);
  return out;
}

/** A promotion decision as the store may keep it: {@link redactValue} on all of it but its times. */
export function redactPromotionDecision(decision: PromotionDecisionInput): PromotionDecisionInput {
  if (decision === null || typeof decision !== 'object') return decision;
  return redactValue({ ...decision });
}
