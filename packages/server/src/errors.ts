import { MltraceError } from '@mltrace/core';

/** Every error code an HTTP answer can carry: the store's codes plus the server's own. */
export type HttpErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'unavailable'
  | 'config'
  | 'conflict'
  | 'unauthorized'
  | 'forbidden'
  | 'too_large'
  | 'unsupported_media_type'
  | 'method_not_allowed'
  | 'internal';

/** The one table from error code to HTTP status. */
export const HTTP_STATUS: Readonly<Record<HttpErrorCode, number>> = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  config: 500,
  internal: 500,
  unavailable: 503,
};

/** The body of every error answer. */
export interface ErrorBody {
  error: { code: HttpErrorCode; message: string; hint?: string };
}

/** An error raised by the server itself (auth, body size, media type), with its code. */
export class HttpError extends Error {
  readonly code: HttpErrorCode;
  readonly hint: string | undefined;

  constructor(code: HttpErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.code = code;
    this.hint = options.hint;
  }
}

/** Fastify's own error codes (body parsing, routing) and what they mean to a client. */
const FASTIFY_CODES: Record<string, { code: HttpErrorCode; message?: string; hint?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'too_large',
    message: 'the request body is larger than the server accepts',
    hint: 'send smaller requests (split a batch), or raise the server body limit (bodyLimitBytes)',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'unsupported_media_type',
    message: 'the request body must be JSON',
    hint: 'send Content-Type: application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'invalid_input',
    message: 'the Content-Length does not match the body',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'invalid_input',
    message: 'the request body is empty',
    hint: 'send a JSON object',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'invalid_input', message: 'the request body is not valid JSON' },
  FST_ERR_CTP_INVALID_CONTENT_ENCODING: {
    code: 'unsupported_media_type',
    message: 'unsupported Content-Encoding',
    hint: 'send the body uncompressed or gzip-compressed',
  },
};

/**
 * Converts anything thrown while answering a request into a status and an error body: the named
 * errors of mltrace by their code, the server's own HttpErrors, fastify's parse and validation
 * errors; anything else is an internal error whose details are not shown to the client.
 */
export function toErrorResponse(error: unknown): { status: number; body: ErrorBody; internal: boolean } {
  const answer = (code: HttpErrorCode, message: string, hint?: string, internal = false) => ({
    status: HTTP_STATUS[code],
    body: { error: hint === undefined ? { code, message } : { code, message, hint } },
    internal,
  });
  if (error instanceof HttpError || error instanceof MltraceError) {
    return answer(error.code, error.message, error.hint);
  }
  const e = error as { code?: string; statusCode?: number; validation?: unknown; message?: string };
  if (e && typeof e === 'object') {
    if (e.validation !== undefined) {
      return answer('invalid_input', `invalid request: ${e.message ?? 'validation failed'}`);
    }
    const known = e.code ? FASTIFY_CODES[e.code] : undefined;
    if (known) return answer(known.code, known.message ?? e.message ?? known.code, known.hint);
    if (error instanceof SyntaxError || (e.statusCode === 400 && typeof e.message === 'string')) {
      return answer('invalid_input', `the request body is not valid JSON: ${e.message}`);
    }
    if (e.statusCode === 413) return answer('too_large', e.message ?? 'the request body is too large');
    if (e.statusCode === 415) return answer('unsupported_media_type', e.message ?? 'unsupported media type');
  }
  return answer('internal', 'internal server error', 'see the server log', true);
}
