import { createHash } from 'node:crypto';
import { looksLikeSecretValue, REDACTED, type SecretKeyTest, scrubUri } from './workflow/redact.js';

/** Limits of {@link previewValue}. */
export interface PreviewOptions {
  isSecretKey: SecretKeyTest;
  /** Longer strings are cut and stored with their length and sha256. */
  maxStringChars: number;
  /** The JSON of the preview is kept under about this many characters. */
  maxPayloadChars: number;
  /** Counts the sha256 digests computed. */
  counters?: { hashes: number };
}

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const MAX_DEPTH = 8;
const MAX_ITEMS = 50;
const MAX_KEYS = 100;

function sha256(data: string | Uint8Array, counters: { hashes: number } | undefined): string {
  if (counters) counters.hashes++;
  return createHash('sha256').update(data).digest('hex');
}

const URI_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]+:)[^\s@/]+@/gi;
const SECRET_PARAM =
  /([?&;](?:[a-z0-9_-]*(?:token|password|passwd|secret|api[_-]?key|signature|credential|access[_-]?key)[a-z0-9_-]*|sig|auth)=)[^&\s#]+/gi;
const BEARER = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi;

/**
 * Free text (an error message) with credentials removed: URI passwords, secret query
 * parameters and bearer/basic credentials become `[REDACTED]`.
 */
export function scrubText(text: string): string {
  if (looksLikeSecretValue(text)) return REDACTED;
  return text
    .replace(URI_PASSWORD, `$1${REDACTED}@`)
    .replace(SECRET_PARAM, `$1${REDACTED}`)
    .replace(BEARER, `$1 ${REDACTED}`);
}

/**
 * A small, JSON-safe copy of a value for the lineage store: secret keys and secret-looking
 * values become `[REDACTED]`; long strings and binary data are replaced by their length and
 * sha256 (`{ $truncated, length, sha256 }` / `{ $bytes, sha256 }`); long arrays and objects are
 * cut with a `$more` count; when the result is still larger than `maxPayloadChars`, the limits
 * are tightened until it fits, and the copy is wrapped as `{ $truncated: true, chars, sha256, preview }`
 * (the digest of the full redacted copy).
 * Never throws.
 */
export function previewValue(value: unknown, options: PreviewOptions): Json {
  try {
    let stringChars = options.maxStringChars;
    let items = MAX_ITEMS;
    let depth = MAX_DEPTH;
    let preview = walk(value, options, stringChars, items, depth);
    let text = JSON.stringify(preview) ?? 'null';
    if (text.length <= options.maxPayloadChars) return preview;
    const chars = text.length;
    const digest = sha256(text, options.counters);
    for (let round = 0; round < 6 && text.length > options.maxPayloadChars; round++) {
      stringChars = Math.max(16, Math.floor(stringChars / 2));
      items = Math.max(2, Math.floor(items / 2));
      depth = Math.max(2, depth - 1);
      preview = walk(value, options, stringChars, items, depth);
      text = JSON.stringify(preview) ?? 'null';
    }
    if (text.length > options.maxPayloadChars) {
      return { $truncated: true, chars, sha256: digest, preview: text.slice(0, options.maxPayloadChars / 2) };
    }
    return { $truncated: true, chars, sha256: digest, preview };
  } catch (error) {
    return { $unserialisable: error instanceof Error ? error.message : String(error) };
  }
}

function walk(
  value: unknown,
  options: PreviewOptions,
  maxString: number,
  maxItems: number,
  maxDepth: number,
): Json {
  const seen = new WeakSet<object>();
  const visit = (node: unknown, depth: number): Json => {
    switch (typeof node) {
      case 'string': {
        if (looksLikeSecretValue(node)) return REDACTED;
        if (node.length <= maxString)
          return node.includes('://') ? scrubUri(node, options.isSecretKey) : node;
        return {
          $truncated: scrubText(node.slice(0, maxString)),
          length: node.length,
          sha256: sha256(node, options.counters),
        };
      }
      case 'number':
        return Number.isFinite(node) ? node : String(node);
      case 'boolean':
        return node;
      case 'bigint':
        return node.toString();
      case 'undefined':
      case 'function':
      case 'symbol':
        return null;
    }
    if (node === null) return null;
    const object = node as object;
    if (object instanceof Date) return Number.isNaN(object.getTime()) ? null : object.toISOString();
    if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) {
      const bytes =
        object instanceof ArrayBuffer
          ? new Uint8Array(object)
          : new Uint8Array(object.buffer, object.byteOffset, object.byteLength);
      return { $bytes: bytes.byteLength, sha256: sha256(bytes, options.counters) };
    }
    if (seen.has(object)) return '[Circular]';
    if (depth >= maxDepth) return Array.isArray(object) ? `[Array(${object.length})]` : '[Object]';
    seen.add(object);
    try {
      if (object instanceof Error) {
        return { name: object.name, message: visit(object.message, depth + 1) };
      }
      if (Array.isArray(object) || object instanceof Set) {
        const list = Array.isArray(object) ? object : [...object];
        const out = list.slice(0, maxItems).map((item) => visit(item, depth + 1));
        if (list.length > maxItems) out.push({ $more: list.length - maxItems });
        return out;
      }
      const entries = object instanceof Map ? [...object.entries()] : Object.entries(object);
      const out: Record<string, Json> = {};
      let count = 0;
      for (const [rawKey, item] of entries) {
        if (count >= MAX_KEYS) {
          out.$more = entries.length - MAX_KEYS;
          break;
        }
        const key = String(rawKey);
        out[key] = options.isSecretKey(key) ? REDACTED : visit(item, depth + 1);
        count++;
      }
      return out;
    } finally {
      seen.delete(object);
    }
  };
  return visit(value, 0);
}
