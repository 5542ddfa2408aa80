/**
 * The CLI's connections to MLflow and Temporal, configured from the injected environment with the
 * ecosystems' own variable names. The client libraries are loaded only by the commands that use
 * them, so `mltrace recent` loads neither.
 */
import { InvalidInputError, NotFoundError, UnavailableError } from '@mltrace/core';
import type { MlflowClient } from '@mltrace/mlflow';
import type { Client, Connection } from '@temporalio/client';
import type { CommandContext } from './context.js';

/** Whether `MLFLOW_TRACKING_URI` names a tracking server (commands where MLflow is optional). */
export function mlflowConfigured(ctx: CommandContext): boolean {
  return Boolean(ctx.io.env.MLFLOW_TRACKING_URI?.trim());
}

/**
 * The MLflow client of `MLFLOW_TRACKING_URI` with `MLFLOW_TRACKING_TOKEN` or
 * `MLFLOW_TRACKING_USERNAME` + `MLFLOW_TRACKING_PASSWORD` (never printed).
 * @throws {ConfigError} when the URI is unset or not http(s)
 */
export async function mlflowClient(ctx: CommandContext): Promise<MlflowClient> {
  const { MlflowClient } = await import('@mltrace/mlflow');
  return new MlflowClient({ env: ctx.io.env, logger: ctx.logger });
}

/** Where Temporal is: `--address`/`--namespace`, else `TEMPORAL_ADDRESS`/`TEMPORAL_NAMESPACE`. */
export interface TemporalTarget {
  /** @default TEMPORAL_ADDRESS, else localhost:7233 */
  address?: string | undefined;
  /** @default TEMPORAL_NAMESPACE, else default */
  namespace?: string | undefined;
}

/** A Temporal client and what closes it. */
export interface TemporalConnection {
  client: Client;
  address: string;
  namespace: string;
  close(): Promise<void>;
}

/** gRPC status codes the CLI converts (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
const GRPC = { invalidArgument: 3, deadlineExceeded: 4, notFound: 5, unavailable: 14 } as const;

/**
 * Converts a Temporal client error to the CLI's errors: an unknown workflow or namespace is
 * `not_found`, a bad visibility query `invalid_input`, an unreachable server `unavailable`.
 */
export function temporalError(error: unknown, target: { address: string; namespace: string }): unknown {
  const name = (error as { name?: string }).name;
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'WorkflowNotFoundError') {
    return new NotFoundError(`${message} (namespace ${target.namespace})`, {
      cause: error,
      hint: 'check the workflow id (and run id), and --namespace / TEMPORAL_NAMESPACE',
    });
  }
  if (name === 'NamespaceNotFoundError') {
    return new NotFoundError(message, {
      cause: error,
      hint: 'check --namespace / TEMPORAL_NAMESPACE (`temporal operator namespace list`)',
    });
  }
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    const detail = (e as { details?: string }).details || (e as Error).message;
    if (code === GRPC.notFound) {
      return new NotFoundError(`Temporal: ${detail}`, {
        cause: error,
        hint: 'check the workflow id and --namespace / TEMPORAL_NAMESPACE',
      });
    }
    if (code === GRPC.invalidArgument) {
      return new InvalidInputError(`Temporal refused the request: ${detail}`, {
        cause: error,
        hint: 'check the visibility query, e.g. WorkflowType = "retraining" AND StartTime > "2024-06-01T00:00:00Z"',
      });
    }
    if (code === GRPC.unavailable || code === GRPC.deadlineExceeded) {
      return unreachable(error, target.address);
    }
  }
  return error;
}

function unreachable(cause: unknown, address: string): UnavailableError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new UnavailableError(`Temporal cannot be reached at ${address}: ${message}`, {
    cause,
    hint: 'start the server (`temporal server start-dev`), or set --address / TEMPORAL_ADDRESS',
  });
}

/** Connects to Temporal (the client library is loaded here). */
export async function connectTemporal(
  ctx: CommandContext,
  target: TemporalTarget,
): Promise<TemporalConnection> {
  const address = target.address?.trim() || ctx.io.env.TEMPORAL_ADDRESS?.trim() || 'localhost:7233';
  const namespace = target.namespace?.trim() || ctx.io.env.TEMPORAL_NAMESPACE?.trim() || 'default';
  const temporal = await import('@temporalio/client');
  let connection: Connection;
  try {
    connection = await temporal.Connection.connect({ address, connectTimeout: '10s' });
  } catch (error) {
    throw unreachable(error, address);
  }
  return {
    client: new temporal.Client({ connection, namespace }),
    address,
    namespace,
    close: () => connection.close(),
  };
}
