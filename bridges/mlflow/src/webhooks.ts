import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError, InvalidInputError, type Logger, silentLogger } from '@mltrace/core';
import { type MlflowSyncSummary, type SyncMlflowOptions, syncMlflow } from './sync.js';

/** The headers MLflow signs a delivery with. */
export const MLFLOW_WEBHOOK_HEADERS = {
  deliveryId: 'x-mlflow-delivery-id',
  timestamp: 'x-mlflow-timestamp',
  signature: 'x-mlflow-signature',
} as const;

/** A verified webhook delivery. */
export interface MlflowWebhookEvent {
  /** `model_version_alias.created`, `model_version.created`, ... */
  event: string;
  /** Lower-case entity, e.g. `model_version_alias`. */
  entity: string;
  /** Lower-case action, e.g. `created`. */
  action: string;
  /** When MLflow sent it (ISO 8601). */
  timestamp: string;
  /** The event's fields, e.g. `{ name, alias, version }`. */
  data: Record<string, unknown>;
  /** `X-MLflow-Delivery-Id`. */
  deliveryId: string;
  /** The registered model the event is about (`data.name`), for registry events. */
  model: string | undefined;
}

/** Options of {@link verifyMlflowSignature}. */
export interface VerifyMlflowSignatureOptions {
  secret: string;
  /** The request's headers (Node's lower-cased record, or a `Headers`). */
  headers: IncomingHttpHeaders | Headers;
  /** The raw body bytes, exactly as received. */
  body: Buffer | string;
  /** Largest accepted distance between `X-MLflow-Timestamp` and now. @default 300 */
  toleranceSeconds?: number;
  /** @default Date.now */
  now?: () => number;
}

function header(headers: IncomingHttpHeaders | Headers, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as IncomingHttpHeaders)[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Verifies an MLflow webhook delivery: `X-MLflow-Signature` is `v1,<base64 HMAC-SHA256(secret,
 * "<delivery id>.<timestamp>.<raw body>")>` (several space-separated signatures are accepted),
 * compared in constant time, and `X-MLflow-Timestamp` (Unix seconds) is within the tolerance.
 *
 * @throws {InvalidInputError} naming what failed (missing header, stale timestamp, bad signature)
 */
export function verifyMlflowSignature(options: VerifyMlflowSignatureOptions): void {
  const deliveryId = header(options.headers, MLFLOW_WEBHOOK_HEADERS.deliveryId);
  const timestamp = header(options.headers, MLFLOW_WEBHOOK_HEADERS.timestamp);
  const signatures = header(options.headers, MLFLOW_WEBHOOK_HEADERS.signature);
  const hint = 'check that the webhook secret in MLflow matches the receiver';
  if (!deliveryId || !timestamp || !signatures) {
    throw new InvalidInputError(
      'webhook delivery lacks X-MLflow-Delivery-Id, X-MLflow-Timestamp or X-MLflow-Signature',
      { hint: 'create the MLflow webhook with a secret, so that deliveries are signed' },
    );
  }
  const seconds = Number(timestamp);
  const tolerance = options.toleranceSeconds ?? 300;
  const nowSeconds = (options.now ?? Date.now)() / 1000;
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - seconds) > tolerance) {
    throw new InvalidInputError(
      `webhook delivery timestamp ${timestamp.slice(0, 20)} is more than ${tolerance} s from now (stale or replayed)`,
      { hint: 'check the clocks of the MLflow server and the receiver' },
    );
  }
  const body = typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
  const expected = createHmac('sha256', options.secret)
    .update(`${deliveryId}.${timestamp}.`)
    .update(body)
    .digest();
  for (const candidate of signatures.split(' ')) {
    const [version, value] = candidate.split(',', 2);
    if (version !== 'v1' || !value) continue;
    const given = Buffer.from(value, 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return;
  }
  throw new InvalidInputError('webhook signature does not match', { hint });
}

/** Parses a delivery body (`{entity, action, timestamp, data}`). */
export function parseMlflowWebhookEvent(body: Buffer | string, deliveryId = ''): MlflowWebhookEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (cause) {
    throw new InvalidInputError('webhook body is not JSON', { cause });
  }
  const value = (parsed ?? {}) as { entity?: unknown; action?: unknown; timestamp?: unknown; data?: unknown };
  if (typeof value.entity !== 'string' || typeof value.action !== 'string') {
    throw new InvalidInputError('webhook body lacks entity and action');
  }
  const entity = value.entity.toLowerCase();
  const action = value.action.toLowerCase();
  const data =
    value.data && typeof value.data === 'object' && !Array.isArray(value.data)
      ? (value.data as Record<string, unknown>)
      : {};
  const registry = entity === 'registered_model' || entity.startsWith('model_version');
  return {
    event: `${entity}.${action}`,
    entity,
    action,
    timestamp: typeof value.timestamp === 'string' ? value.timestamp : '',
    data,
    deliveryId,
    model: registry && typeof data.name === 'string' && data.name !== '' ? data.name : undefined,
  };
}

/** Options of {@link createMlflowWebhookHandler}. */
export interface MlflowWebhookHandlerOptions {
  /** The secret the webhook was created with in MLflow. Required: unsigned deliveries are refused. */
  secret: string;
  /** Called with each verified event (after the response is sent). */
  onEvent?: (event: MlflowWebhookEvent) => void | Promise<void>;
  /**
   * When given, each registry event triggers `syncMlflow({ ...sync, model })` for the model it names.
   * Syncs of one model are coalesced: events arriving during a sync cause one more sync after it.
   */
  sync?: Omit<SyncMlflowOptions, 'model' | 'signal' | 'onProgress'>;
  /** Which events trigger a sync. @default every registry event that names a model */
  shouldSync?: (event: MlflowWebhookEvent) => boolean;
  /** A triggered sync finished. */
  onSync?: (summary: MlflowSyncSummary, model: string) => void;
  /** A triggered sync failed (polling will catch up). @default logs a warning */
  onSyncError?: (error: unknown, model: string) => void;
  /** @default 300 */
  toleranceSeconds?: number;
  /** Larger bodies are refused with 413. @default 1_048_576 */
  maxBodyBytes?: number;
  /** @default silentLogger */
  logger?: Logger;
  /** @default Date.now */
  now?: () => number;
}

/** A `node:http` request handler, plus a way to wait for the syncs it started. */
export interface MlflowWebhookHandler {
  (request: IncomingMessage, response: ServerResponse): void;
  /** Resolves when no event callback or triggered sync is running. */
  idle(): Promise<void>;
}

function reply(response: ServerResponse, status: number, body: Record<string, unknown>): void {
  if (response.headersSent) return;
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/**
 * A receiver of MLflow webhooks (MLflow 3.3+) as a plain `node:http` handler: it verifies the
 * signature and the timestamp, answers at once (401 for a bad or stale signature, 400 for a
 * malformed body, 200 otherwise; repeated delivery ids are acknowledged and ignored), then hands
 * the event to `onEvent` and, with `sync`, syncs the named model. Webhooks are fire-and-forget
 * (no stage-transition events, no replay), so keep a polling sync as the source of truth.
 *
 * @example
 * ```ts
 * const handler = createMlflowWebhookHandler({ secret: process.env.MLTRACE_MLFLOW_WEBHOOK_SECRET!, sync: { store, client } });
 * http.createServer(handler).listen(8787);
 * ```
 */
export function createMlflowWebhookHandler(options: MlflowWebhookHandlerOptions): MlflowWebhookHandler {
  if (!options.secret) {
    throw new ConfigError('the MLflow webhook receiver needs a secret', {
      hint: 'create the webhook in MLflow with a secret and give the same one to the receiver',
    });
  }
  const logger = options.logger ?? silentLogger;
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  const tasks = new Set<Promise<void>>();
  const recent: string[] = [];
  const recentSet = new Set<string>();

  const track = (task: Promise<void>) => {
    tasks.add(task);
    void task.finally(() => tasks.delete(task));
  };

  const remember = (deliveryId: string): boolean => {
    if (recentSet.has(deliveryId)) return false;
    recentSet.add(deliveryId);
    recent.push(deliveryId);
    if (recent.length > 1000) recentSet.delete(recent.shift()!);
    return true;
  };

  const trigger = options.sync
    ? createMlflowSyncTrigger({
        ...options.sync,
        ...(options.shouldSync ? { shouldSync: options.shouldSync } : {}),
        ...(options.onSync ? { onSync: options.onSync } : {}),
        ...(options.onSyncError ? { onSyncError: options.onSyncError } : {}),
        logger: options.sync.logger ?? logger,
      })
    : undefined;

  const handle = (request: IncomingMessage, response: ServerResponse, body: Buffer) => {
    try {
      verifyMlflowSignature({
        secret: options.secret,
        headers: request.headers,
        body,
        ...(options.toleranceSeconds === undefined ? {} : { toleranceSeconds: options.toleranceSeconds }),
        ...(options.now ? { now: options.now } : {}),
      });
    } catch (error) {
      logger.warn('mlflow webhook: rejected a delivery', { reason: (error as Error).message });
      return reply(response, 401, { error: (error as Error).message });
    }
    const deliveryId = String(request.headers[MLFLOW_WEBHOOK_HEADERS.deliveryId] ?? '');
    let event: MlflowWebhookEvent;
    try {
      event = parseMlflowWebhookEvent(body, deliveryId);
    } catch (error) {
      return reply(response, 400, { error: (error as Error).message });
    }
    if (!remember(deliveryId)) return reply(response, 200, { status: 'duplicate' });
    reply(response, 200, { status: 'accepted' });
    logger.debug('mlflow webhook: event', { event: event.event, model: event.model });
    track(
      (async () => {
        try {
          await options.onEvent?.(event);
        } catch (error) {
          logger.warn('mlflow webhook: onEvent failed', {
            event: event.event,
            error: (error as Error).message,
          });
        }
        trigger?.(event);
      })(),
    );
  };

  const handler = ((request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== 'POST') {
      response.setHeader('allow', 'POST');
      reply(response, 405, { error: 'MLflow webhooks are POST requests' });
      request.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        tooLarge = true;
        reply(response, 413, { error: `body larger than ${maxBodyBytes} bytes` });
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (!tooLarge) handle(request, response, Buffer.concat(chunks));
    });
    request.on('error', (error) => {
      logger.warn('mlflow webhook: request failed', { error: error.message });
    });
  }) as MlflowWebhookHandler;

  handler.idle = async () => {
    while (tasks.size > 0) await Promise.allSettled([...tasks]);
    await trigger?.idle();
  };
  return handler;
}

/** Options of {@link createMlflowSyncTrigger}: a sync's options, less the model, plus callbacks. */
export interface MlflowSyncTriggerOptions extends Omit<SyncMlflowOptions, 'model' | 'signal' | 'onProgress'> {
  /** Which events trigger a sync. @default every registry event that names a model */
  shouldSync?: (event: MlflowWebhookEvent) => boolean;
  /** A triggered sync finished. */
  onSync?: (summary: MlflowSyncSummary, model: string) => void;
  /** A triggered sync failed (polling will catch up). @default logs a warning */
  onSyncError?: (error: unknown, model: string) => void;
}

/** Starts a sync for a webhook event's model; see {@link createMlflowSyncTrigger}. */
export interface MlflowSyncTrigger {
  (event: MlflowWebhookEvent): void;
  /** Resolves when no triggered sync is running. */
  idle(): Promise<void>;
}

/**
 * Turns verified webhook events into one-model syncs (`syncMlflow({ ...options, model })`),
 * coalesced per model: events that arrive while a model syncs cause one more sync after it.
 * What the receiver uses; an HTTP server that verifies deliveries itself can pass it as its
 * event callback.
 */
export function createMlflowSyncTrigger(options: MlflowSyncTriggerOptions): MlflowSyncTrigger {
  const { shouldSync, onSync, onSyncError, ...sync } = options;
  const logger = options.logger ?? silentLogger;
  const running = new Map<string, { again: boolean }>();
  const tasks = new Set<Promise<void>>();
  const trigger = ((event: MlflowWebhookEvent) => {
    const model = event.model;
    if (model === undefined || !(shouldSync?.(event) ?? true)) return;
    const current = running.get(model);
    if (current) {
      current.again = true;
      return;
    }
    const entry = { again: false };
    running.set(model, entry);
    const task = (async () => {
      try {
        do {
          entry.again = false;
          try {
            onSync?.(await syncMlflow({ ...sync, model }), model);
          } catch (error) {
            if (onSyncError) onSyncError(error, model);
            else logger.warn('mlflow webhook: sync failed', { model, error: (error as Error).message });
          }
        } while (entry.again);
      } finally {
        running.delete(model);
      }
    })();
    tasks.add(task);
    void task.finally(() => tasks.delete(task));
  }) as MlflowSyncTrigger;
  trigger.idle = async () => {
    while (tasks.size > 0) await Promise.allSettled([...tasks]);
  };
  return trigger;
}
