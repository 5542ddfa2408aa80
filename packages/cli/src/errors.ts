import { type ErrorCode, MltraceError, UnavailableError } from '@mltrace/core';
import type { Writable } from './io.js';

/**
 * The one table of exit codes. Every failure is converted here, once, at the edge.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success |
 * | 1 | unexpected error (a bug: rerun with `MLTRACE_DEBUG=1` for the stack) |
 * | 2 | invalid input or usage (a bad option, a malformed import line) |
 * | 3 | not found (no such run, no run produced that pointer) |
 * | 4 | unavailable (the database cannot be reached) |
 * | 5 | configuration (a malformed or unsupported database URL) |
 * | 6 | conflict |
 */
export const EXIT_CODES = {
  ok: 0,
  unexpected: 1,
  invalid_input: 2,
  not_found: 3,
  unavailable: 4,
  config: 5,
  conflict: 6,
} as const satisfies Record<ErrorCode | 'ok' | 'unexpected', number>;

/** Network failures of a database driver, whatever their message. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
]);

/** A usage error found by the CLI itself (commander reports its own). */
export class UsageError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'UsageError';
    this.hint = hint;
  }
}

/** The error and its causes, outermost first (a wrapped network error is found among them). */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current = error; current !== undefined && current !== null && chain.length < 10; ) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

/** A driver or network error code meaning the database cannot be reached or refused us. */
function isUnavailableCode(code: unknown): boolean {
  return (
    typeof code === 'string' &&
    (NETWORK_CODES.has(code) || /^08/.test(code) || ['57P01', '57P02', '57P03', '53300'].includes(code))
  );
}

/** Turns any thrown value into a known error where one applies (network failures are `unavailable`). */
export function classify(error: unknown): unknown {
  if (error instanceof MltraceError || error instanceof UsageError) return error;
  const chain = causes(error);
  const known = chain.find((e) => e instanceof MltraceError);
  if (known) return known;
  const network = chain.find((e) => isUnavailableCode((e as { code?: unknown }).code));
  if (network) {
    return new UnavailableError(`the database cannot be reached: ${(network as Error).message}`, {
      cause: error,
      hint: 'check that PostgreSQL runs at the --db / MLTRACE_DATABASE_URL address',
    });
  }
  return error;
}

/** What to say of an unexpected error: its message on one line, cut at 300 characters. */
function describeUnexpected(error: unknown): string {
  const line = oneLine(error instanceof Error ? error.message : String(error));
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** The exit code of an error, from {@link EXIT_CODES}. */
export function exitCodeOf(error: unknown): number {
  const known = classify(error);
  if (known instanceof MltraceError) return EXIT_CODES[known.code];
  if (known instanceof UsageError) return EXIT_CODES.invalid_input;
  return EXIT_CODES.unexpected;
}

/**
 * Prints an error as one line, `mltrace: error: <message>`, plus an optional `hint:` line. The
 * stack (and each cause's) only with `MLTRACE_DEBUG=1`.
 */
export function reportError(error: unknown, stderr: Writable, debug: boolean): number {
  const known = classify(error);
  const code = exitCodeOf(known);
  if (known instanceof MltraceError || known instanceof UsageError) {
    stderr.write(`mltrace: error: ${oneLine(known.message)}\n`);
    if (known.hint) stderr.write(`hint: ${oneLine(known.hint)}\n`);
  } else {
    stderr.write(`mltrace: error: unexpected: ${describeUnexpected(known)}\n`);
    if (!debug) stderr.write('hint: rerun with MLTRACE_DEBUG=1 to see the stack trace, and report it\n');
  }
  if (debug) {
    let current: unknown = error;
    for (let depth = 0; current instanceof Error && depth < 5; depth++) {
      stderr.write(`${depth === 0 ? '' : 'caused by: '}${current.stack ?? current.message}\n`);
      current = current.cause;
    }
  }
  return code;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
