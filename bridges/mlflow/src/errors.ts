import { type ErrorCode, MltraceError } from '@mltrace/core';

/** What went wrong talking to MLflow, beyond the HTTP status. */
export type MlflowFailure =
  /** The server answered with an HTTP error (see `status` and `errorCode`). */
  | 'http'
  /** No answer within the timeout. */
  | 'timeout'
  /** The connection failed or dropped (refused, reset, DNS). */
  | 'unreachable';

/** Fields of an {@link MlflowError}. */
export interface MlflowErrorDetails {
  /** HTTP status; 0 when no response arrived (timeout, unreachable). */
  status: number;
  /**
   * MLflow's `error_code` (`RESOURCE_DOES_NOT_EXIST`, `UNAUTHENTICATED`, ...) when the body was
   * MLflow's JSON error; else `HTTP_<status>`, `TIMEOUT` or `UNREACHABLE`.
   */
  errorCode: string;
  /** The call, e.g. `GET registered-models/get`. */
  endpoint: string;
  /** The tracking server's base URL, without credentials. */
  trackingUri: string;
  failure: MlflowFailure;
  /** How many HTTP attempts were made (retries included). */
  attempts: number;
  /** MLflow's own message (or the start of a plain-text body), secrets removed. */
  serverMessage: string;
  cause?: unknown;
  /** What to do about it; the message already ends with it. */
  advice: string;
}

function codeOf(failure: MlflowFailure, status: number): ErrorCode {
  if (failure !== 'http') return 'unavailable';
  if (status === 400 || status === 422) return 'invalid_input';
  if (status === 401 || status === 403) return 'config';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  return 'unavailable';
}

/**
 * The one error of the MLflow client: an HTTP error answered by MLflow (its
 * `{error_code, message}` JSON or a plain-text body from a proxy or the auth app), a timeout, or
 * an unreachable server. The message says what happened and what to do (it ends with the
 * {@link MlflowError.advice}, which is therefore not repeated as a `hint`); it never contains a
 * token or a password.
 *
 * Its `code` (shared by every mltrace error, for the CLI's exit code and the server's HTTP status)
 * follows the status: 400 `invalid_input`, 401/403 `config`, 404 `not_found`, 409 `conflict`,
 * anything else (429, 5xx, timeouts, unreachable) `unavailable`.
 */
export class MlflowError extends MltraceError {
  /** HTTP status; 0 when no response arrived. */
  readonly status: number;
  /** MLflow's `error_code`, or `HTTP_<status>`, `TIMEOUT`, `UNREACHABLE`. */
  readonly errorCode: string;
  /** The call, e.g. `GET registered-models/get`. */
  readonly endpoint: string;
  /** The server's base URL, without credentials. */
  readonly trackingUri: string;
  readonly failure: MlflowFailure;
  /** HTTP attempts made, retries included. */
  readonly attempts: number;
  /** MLflow's own message, secrets removed. */
  readonly serverMessage: string;
  /** What to do about it (the end of the message). */
  readonly advice: string;

  constructor(message: string, details: MlflowErrorDetails) {
    super(codeOf(details.failure, details.status), message, { cause: details.cause });
    this.status = details.status;
    this.errorCode = details.errorCode;
    this.endpoint = details.endpoint;
    this.trackingUri = details.trackingUri;
    this.failure = details.failure;
    this.attempts = details.attempts;
    this.serverMessage = details.serverMessage;
    this.advice = details.advice;
  }
}

/** Whether `error` is an {@link MlflowError}, optionally with this HTTP status. */
export function isMlflowError(error: unknown, status?: number): error is MlflowError {
  return error instanceof MlflowError && (status === undefined || error.status === status);
}
