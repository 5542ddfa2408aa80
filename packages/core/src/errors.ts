/**
 * The few named errors of mltrace. Each carries a stable `code`; the CLI and the HTTP server
 * convert them once, at the edge, to an exit code or an HTTP status.
 */
export type ErrorCode = 'invalid_input' | 'not_found' | 'unavailable' | 'config' | 'conflict';

export class MltraceError extends Error {
  readonly code: ErrorCode;
  /** What the user can do about it, when there is something to say. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

/** The input was malformed: a bad URI, an unknown status, an invalid line in an import file. */
export class InvalidInputError extends MltraceError {
  constructor(message: string, options: { cause?: unknown; hint?: string } = {}) {
    super('invalid_input', message, options);
  }
}

/** The thing asked for does not exist: no run with that id, no run produced that pointer. */
export class NotFoundError extends MltraceError {
  constructor(message: string, options: { cause?: unknown; hint?: string } = {}) {
    super('not_found', message, options);
  }
}

/** A system we depend on (the database, a server) could not be reached or failed. */
export class UnavailableError extends MltraceError {
  constructor(message: string, options: { cause?: unknown; hint?: string } = {}) {
    super('unavailable', message, options);
  }
}

/** The configuration is wrong: a malformed database URL, a missing setting. */
export class ConfigError extends MltraceError {
  constructor(message: string, options: { cause?: unknown; hint?: string } = {}) {
    super('config', message, options);
  }
}
