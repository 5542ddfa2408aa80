/**
 * A fast reader for the block-style YAML DVC writes (`dvc.lock`, `.dvc`, `dvc.yaml` as ruamel
 * dumps them): block maps and sequences, plain, single-quoted and one-line double-quoted scalars, `[]` and `{}`. Anything
 * else (flow collections, block scalars, anchors, tags, comments after values, multi-line
 * scalars, escapes, duplicate keys, ...) makes it give up, and the caller parses the text with the
 * `yaml` library instead. On what it accepts it returns exactly what `yaml`'s `parse` (YAML 1.2
 * core schema) returns; the test suite checks the two side by side.
 *
 * Reading history means parsing hundreds of lock files: this is ~10x faster than the general
 * parser, which dominated the sync time.
 */

/** Returned when the text is outside the subset. */
const GIVE_UP: unique symbol = Symbol('give up');

interface Line {
  indent: number;
  /** `key` for `key: ...`, `item` for `- ...`. */
  kind: 'key' | 'item';
  key?: string;
  /** The inline value text, or undefined when the value is on the following lines. */
  value?: string;
}

const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT = /^[-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;
/** Other core-schema numbers (octal, hex, exponents, inf, nan): left to the full parser. */
const EXOTIC_NUMBER =
  /^(?:0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
/** Characters a plain scalar may not start with (YAML indicators). */
const INDICATOR_START = /^[-?:,[\]{}#&*!|>'"%@`]/;

function scalar(text: string): unknown | typeof GIVE_UP {
  if (text === '[]') return [];
  if (text === '{}') return {};
  if (text.startsWith("'")) {
    if (text.length < 2 || !text.endsWith("'")) return GIVE_UP;
    const body = text.slice(1, -1);
    // A lone quote inside ends the scalar early: not ours to judge.
    if (body.replace(/''/g, '').includes("'")) return GIVE_UP;
    return body.replace(/''/g, "'");
  }
  if (text.startsWith('"')) return doubleQuoted(text);
  if (INDICATOR_START.test(text) && !/^[-?:][^\s]/.test(text)) return GIVE_UP;
  if (text.includes(': ') || text.includes(' #') || text.endsWith(':') || text.includes('\t')) return GIVE_UP;
  if (NULL.test(text)) return null;
  if (BOOL.test(text)) return text[0] === 't' || text[0] === 'T';
  if (INT.test(text)) {
    if (text.replace(/^[-+]/, '').length > 15) return GIVE_UP;
    return Number.parseInt(text, 10);
  }
  if (FLOAT.test(text)) return Number.parseFloat(text);
  if (EXOTIC_NUMBER.test(text)) return GIVE_UP;
  return text;
}

const ESCAPES: Record<string, string> = {
  '\\': '\\',
  '"': '"',
  '/': '/',
  n: '\n',
  t: '\t',
  r: '\r',
  '0': '\0',
  ' ': ' ',
};

/** A double-quoted scalar on one line with the common escapes; anything else gives up. */
function doubleQuoted(text: string): string | typeof GIVE_UP {
  let out = '';
  for (let i = 1; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') return i === text.length - 1 ? out : GIVE_UP;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = text[i + 1];
    if (next === undefined) return GIVE_UP;
    const simple = ESCAPES[next];
    if (simple !== undefined) {
      out += simple;
      i++;
      continue;
    }
    const width = next === 'x' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0;
    const hex = text.slice(i + 2, i + 2 + width);
    if (width === 0 || !new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) return GIVE_UP;
    out += String.fromCodePoint(Number.parseInt(hex, 16));
    i += 1 + width;
  }
  return GIVE_UP;
}

/** Splits `key: value` / `key:`; undefined when the line is not a simple plain-key pair. */
function splitKey(text: string): { key: string; value: string | undefined } | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  const key = text.slice(0, colon);
  const after = text.slice(colon + 1);
  if (after !== '' && !after.startsWith(' ')) return undefined;
  if (INDICATOR_START.test(key) || key.endsWith(' ') || key.includes(' #')) return undefined;
  // Keys that resolve to something other than a string could print differently as object keys.
  if (NULL.test(key) || BOOL.test(key) || INT.test(key) || FLOAT.test(key) || EXOTIC_NUMBER.test(key))
    return undefined;
  const value = after.trim();
  return { key, value: value === '' ? undefined : value };
}

/**
 * Joins a scalar's continuation lines as YAML folds them: a line break becomes a space; in a
 * double-quoted scalar an escaped line break (`\` at the end) joins without one. Undefined when
 * a continuation line could mean something else (a comment, a mapping).
 */
function fold(first: string, rest: string[]): string | undefined {
  let joined = first;
  const quote = first[0] === "'" || first[0] === '"' ? first[0] : undefined;
  for (const line of rest) {
    if (
      !quote &&
      (line.startsWith('#') || line.includes(': ') || line.includes(' #') || line.endsWith(':'))
    ) {
      return undefined;
    }
    const backslashes = quote === '"' ? (/\\*$/.exec(joined)?.[0].length ?? 0) : 0;
    joined = backslashes % 2 === 1 ? joined.slice(0, -1) + line : `${joined} ${line}`;
  }
  return joined;
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

function tokenize(text: string): Line[] | typeof GIVE_UP {
  if (text.includes('\r') || text.includes('\t')) return GIVE_UP;
  const raw = text.split('\n');
  const lines: Line[] = [];
  for (let n = 0; n < raw.length; n++) {
    const line = raw[n]!.trimEnd();
    if (line === '') continue;
    const indent = indentOf(line);
    let rest = line.slice(indent);
    if (rest.startsWith('#')) continue;
    if (rest === '---' || rest === '...' || rest.startsWith('--- ') || rest.startsWith('%')) return GIVE_UP;
    let at = indent;
    let token: Line;
    if (rest === '-' || rest.startsWith('- ')) {
      const inner = rest.slice(1).trimStart();
      if (inner === '') {
        lines.push({ indent: at, kind: 'item' });
        continue;
      }
      if (inner.startsWith('- ') || inner === '-') return GIVE_UP;
      const innerAt = at + (rest.length - inner.length);
      const pair = inner.startsWith("'") || inner.startsWith('"') ? undefined : splitKey(inner);
      if (pair) {
        lines.push({ indent: at, kind: 'item' });
        at = innerAt;
        rest = inner;
        token = {
          indent: at,
          kind: 'key',
          key: pair.key,
          ...(pair.value === undefined ? {} : { value: pair.value }),
        };
      } else {
        token = { indent: at, kind: 'item', value: inner };
      }
    } else {
      const pair = splitKey(rest);
      if (!pair) return GIVE_UP;
      token = {
        indent: at,
        kind: 'key',
        key: pair.key,
        ...(pair.value === undefined ? {} : { value: pair.value }),
      };
    }
    if (token.value !== undefined) {
      // A long scalar wrapped over more-indented lines (ruamel wraps at 80 columns).
      const continuation: string[] = [];
      while (n + 1 < raw.length) {
        const next = raw[n + 1]!.trimEnd();
        if (next === '') {
          const after = raw.slice(n + 2).find((l) => l.trim() !== '');
          if (after !== undefined && indentOf(after) > at) return GIVE_UP; // a folded blank line
          break;
        }
        if (indentOf(next) <= at) break;
        continuation.push(next.trim());
        n++;
      }
      if (continuation.length > 0) {
        const folded = fold(token.value, continuation);
        if (folded === undefined) return GIVE_UP;
        token.value = folded;
      }
    }
    lines.push(token);
  }
  return lines;
}

/**
 * Parses DVC-style block YAML; undefined when the text is outside the subset (then use the `yaml`
 * library, which also reports errors).
 */
export function parseDvcYamlFast(text: string): unknown {
  const lines = tokenize(text);
  if (lines === GIVE_UP || lines.length === 0) return undefined;
  let i = 0;

  const block = (): unknown => {
    const line = lines[i]!;
    return line.kind === 'key' ? map(line.indent) : seq(line.indent);
  };

  const nested = (indent: number, sameIndentSeq: boolean): unknown => {
    const next = lines[i];
    if (!next) return null;
    if (next.indent > indent) return block();
    if (sameIndentSeq && next.indent === indent && next.kind === 'item') return seq(indent);
    return null;
  };

  const map = (indent: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    while (i < lines.length) {
      const line = lines[i]!;
      if (line.indent < indent) break;
      if (line.indent > indent || line.kind !== 'key') throw GIVE_UP;
      i++;
      const key = line.key!;
      if (Object.hasOwn(out, key) || key === '__proto__') throw GIVE_UP;
      if (line.value !== undefined) {
        const value = scalar(line.value);
        if (value === GIVE_UP) throw GIVE_UP;
        out[key] = value;
        const next = lines[i];
        if (next && next.indent > indent) throw GIVE_UP; // a continuation line
      } else {
        out[key] = nested(indent, true);
      }
    }
    return out;
  };

  const seq = (indent: number): unknown[] => {
    const out: unknown[] = [];
    while (i < lines.length) {
      const line = lines[i]!;
      if (line.indent < indent || (line.indent === indent && line.kind !== 'item')) break;
      if (line.indent > indent) throw GIVE_UP;
      i++;
      if (line.value !== undefined) {
        const value = scalar(line.value);
        if (value === GIVE_UP) throw GIVE_UP;
        out.push(value);
        const next = lines[i];
        if (next && next.indent > indent) throw GIVE_UP;
      } else {
        out.push(nested(indent, false));
      }
    }
    return out;
  };

  try {
    const value = block();
    return i === lines.length ? value : undefined;
  } catch (error) {
    if (error === GIVE_UP) return undefined;
    throw error;
  }
}
