import type { AddressInfo } from 'node:net';
import type { Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ConfigError, type Logger, NotFoundError, silentLogger } from '@mltrace/core';
import type { MlflowWebhookEvent } from '@mltrace/mlflow';
import type { LineageStore } from '@mltrace/store';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { type Access, authorize, bearerToken, isLoopback } from './auth.js';
import { HttpError, toErrorResponse } from './errors.js';
import { checkHost, checkOrigin, hostPolicy } from './guard.js';
import { createQueryGate, type QueryGate } from './limits.js';
import { createServerMetrics, type MetricsOptions } from './metrics.js';
import { registerApiRoutes } from './routes.js';
import { createSessions, type Sessions } from './session.js';
import { API_CSP, defaultUiDir, loadUiAssets, UI_CSP } from './ui-assets.js';

/** Limits on what one request may ask for. */
export interface ServerLimits {
  /** Largest `limit` of a list (history, recent, review, promotions). @default 500 */
  maxPageSize?: number;
  /** Trace and impact depth when none is asked for. @default 100 */
  defaultTraceDepth?: number;
  /** Largest `maxDepth` of a trace or impact. @default 10_000 */
  maxTraceDepth?: number;
  /** Most events in one `POST /api/v1/lineage/batch`. @default 1_000 */
  maxBatchEvents?: number;
  /** Most runs in one trace or impact answer (the nearest first; more set `truncated`). @default 2_000 */
  maxGraphRuns?: number;
  /** Largest trace or impact answer, in bytes of JSON (the farthest runs are cut). @default 8_388_608 */
  maxResponseBytes?: number;
  /** Expensive queries (trace, impact, review) running at once; the others wait. @default 2 */
  maxConcurrentQueries?: number;
  /** Expensive queries waiting at most; more get 503. @default 32 */
  maxQueuedQueries?: number;
}

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** The lineage store the server reads and writes. Not closed by `close()`. */
  store: LineageStore;
  /**
   * Bearer token every write needs (and reads, unless `publicReads`); it also signs the web UI's
   * session cookies. Without one the server accepts no writes at all. Required beyond loopback.
   * `loadServerToken()` makes and keeps one in `MLTRACE_HOME`, as `mltrace serve` does.
   */
  token?: string;
  /** A second bearer token that allows reads only (the write token works too). */
  readToken?: string;
  /** Let anyone who can reach the server read without a token (writes still need it). @default false */
  publicReads?: boolean;
  /**
   * Host names the server answers to, beyond loopback names and its listen address (DNS
   * rebinding defence): the names users and proxies call it by. `.example.com` allows every
   * subdomain; `*` any name (only behind a proxy that checks it). @default []
   */
  allowedHosts?: string[];
  /** Address to listen on. @default '127.0.0.1' */
  host?: string;
  /** Port to listen on; 0 picks a free one. @default 8000 */
  port?: number;
  /** @default silentLogger */
  logger?: Logger;
  /** Base URL of Temporal's web UI, for links from runs with workflow context. @default 'http://localhost:8233' */
  temporalUiUrl?: string;
  /** Secret shared with MLflow webhooks (HMAC-SHA256). Without it the webhook endpoint refuses deliveries. */
  mlflowWebhookSecret?: string;
  /** Called with each verified MLflow webhook delivery (e.g. to trigger a registry sync). */
  onMlflowEvent?: (event: MlflowWebhookEvent) => void | Promise<void>;
  /** Largest request body, in bytes (after gzip decoding). @default 1_048_576 */
  bodyLimitBytes?: number;
  /** Origins allowed to call the API from a browser (CORS). @default none: CORS off */
  corsOrigins?: string[];
  limits?: ServerLimits;
  metrics?: MetricsOptions;
  /** Directory of the built web UI. @default `dist/ui` of this package */
  uiDir?: string;
}

/** A running server. */
export interface MltraceServer {
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  url: string;
  /** The Prometheus registry behind `/metrics` (register more collectors here). */
  metrics: Registry;
  /**
   * A one-time URL that opens the web UI with a session (HttpOnly, SameSite=Strict cookie, 7
   * days): print it for the user, as Jupyter does. Each call mints a new one; each works once.
   * Undefined when the server has no token (then the UI needs none).
   */
  loginUrl(): string | undefined;
  /** Stops accepting connections and waits for open requests. Leaves the store open. */
  close(): Promise<void>;
}

/** Resolved options, as the routes see them. */
export interface ServerContext {
  store: LineageStore;
  logger: Logger;
  temporalUiUrl: string;
  mlflowWebhookSecret: string | undefined;
  onMlflowEvent: ServerOptions['onMlflowEvent'];
  bodyLimitBytes: number;
  limits: Required<ServerLimits>;
  auth: { read: boolean; write: boolean };
  /** Runs an expensive query when a slot is free (see `maxConcurrentQueries`). */
  heavy: QueryGate;
  /** Whether a Cookie header carries a valid web UI session. */
  hasSession(cookie: string | undefined): boolean;
  /** Runs a callback after the answer; its failure is logged, and `close()` waits for it. */
  track(work: void | Promise<void>, what: string): void;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route. */
    access?: Access | 'public';
  }
}

/** Applies every default of {@link ServerOptions} and checks them. */
function resolveOptions(options: ServerOptions) {
  const host = options.host ?? '127.0.0.1';
  const token = options.token?.trim() || undefined;
  const readToken = options.readToken?.trim() || undefined;
  if (!isLoopback(host) && token === undefined) {
    throw new ConfigError(`refusing to listen on ${host} without a write token`, {
      hint: 'set a token (MLTRACE_SERVER_TOKEN), or listen on 127.0.0.1 only',
    });
  }
  if (readToken !== undefined && token === undefined) {
    throw new ConfigError('a read token without a write token would leave writes open', {
      hint: 'set the write token too',
    });
  }
  for (const [name, value] of [
    ['token', token],
    ['readToken', readToken],
  ] as const) {
    if (value !== undefined && value.length < 16) {
      throw new ConfigError(`the ${name} is too short (${value.length} characters)`, {
        hint: 'use at least 16 random characters, e.g. `openssl rand -hex 32`',
      });
    }
  }
  const temporalUiUrl = (options.temporalUiUrl ?? 'http://localhost:8233').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/i.test(temporalUiUrl)) {
    throw new ConfigError(`the Temporal UI URL must be an http(s) URL, got "${temporalUiUrl}"`);
  }
  const limits: Required<ServerLimits> = {
    maxPageSize: options.limits?.maxPageSize ?? 500,
    defaultTraceDepth: options.limits?.defaultTraceDepth ?? 100,
    maxTraceDepth: options.limits?.maxTraceDepth ?? 10_000,
    maxBatchEvents: options.limits?.maxBatchEvents ?? 1_000,
    maxGraphRuns: options.limits?.maxGraphRuns ?? 2_000,
    maxResponseBytes: options.limits?.maxResponseBytes ?? 8_388_608,
    maxConcurrentQueries: options.limits?.maxConcurrentQueries ?? 2,
    maxQueuedQueries: options.limits?.maxQueuedQueries ?? 32,
  };
  return {
    host,
    port: options.port ?? 8000,
    tokens: { write: token, read: readToken, publicReads: options.publicReads === true },
    hosts: hostPolicy(host, options.allowedHosts ?? []),
    limits,
    bodyLimitBytes: options.bodyLimitBytes ?? 1_048_576,
    logger: options.logger ?? silentLogger,
    temporalUiUrl,
    cors: new Set(options.corsOrigins ?? []),
  };
}

/** Counts the compressed bytes of a gzip body, so fastify checks Content-Length against them. */
function gunzipped(payload: NodeJS.ReadableStream): NodeJS.ReadableStream {
  const gunzip = createGunzip();
  const counted = gunzip as unknown as Transform & { receivedEncodedLength: number };
  counted.receivedEncodedLength = 0;
  payload.on('data', (chunk: Buffer) => {
    counted.receivedEncodedLength += chunk.length;
  });
  payload.on('error', (error) => gunzip.destroy(error));
  gunzip.on('error', () => {});
  return payload.pipe(gunzip);
}

/**
 * The id of the run with key `key`, or, for a prefix ending in `/` (a Temporal activity call's
 * `temporal:<ns>/<workflow>/<run>/<activity>/`), of its latest recorded attempt.
 */
async function latestAttempt(store: LineageStore, key: string): Promise<number | undefined> {
  const find = async (k: string) => {
    try {
      return (await store.run(k)).id;
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  };
  if (!key.endsWith('/')) return find(key);
  let latest: number | undefined;
  // Attempts are numbered from 1; stop at the first gap (bounded: 1,000 attempts at most).
  for (let attempt = 1; attempt <= 1000; attempt++) {
    const id = await find(`${key}${attempt}`);
    if (id === undefined) break;
    latest = id;
  }
  return latest;
}

/**
 * Starts the mltrace HTTP server: the JSON API under `/api/v1`, OpenLineage ingestion, the MLflow
 * webhook receiver, Prometheus `/metrics` and the web UI under `/ui`.
 *
 * @throws ConfigError when listening beyond loopback without a token, or for a too-short token
 */
export async function createServer(options: ServerOptions): Promise<MltraceServer> {
  const resolved = resolveOptions(options);
  const { logger, tokens } = resolved;
  // Reads need a token when there is one to check, unless the operator opened them.
  const readsNeedToken = tokens.read !== undefined || (tokens.write !== undefined && !tokens.publicReads);
  const sessions: Sessions | undefined =
    tokens.write === undefined ? undefined : createSessions({ secret: tokens.write });
  const metrics = createServerMetrics(options.store, options.metrics);
  const ui = loadUiAssets(options.uiDir ?? defaultUiDir());
  const pending = new Set<Promise<void>>();
  const context: ServerContext = {
    store: options.store,
    logger,
    temporalUiUrl: resolved.temporalUiUrl,
    mlflowWebhookSecret: options.mlflowWebhookSecret?.trim() || undefined,
    onMlflowEvent: options.onMlflowEvent,
    bodyLimitBytes: resolved.bodyLimitBytes,
    limits: resolved.limits,
    auth: { read: readsNeedToken, write: tokens.write !== undefined },
    heavy: createQueryGate(resolved.limits.maxConcurrentQueries, resolved.limits.maxQueuedQueries),
    hasSession: (cookie) => sessions?.verify(cookie) === true,
    track(work, what) {
      const task = Promise.resolve(work)
        .catch((error: unknown) =>
          logger.warn(`${what}: callback failed`, { error: (error as Error).message }),
        )
        .finally(() => pending.delete(task));
      pending.add(task);
    },
  };

  const app: FastifyInstance = Fastify({
    logger: false,
    // Never trust X-Forwarded-*: the server does not sit behind a known proxy.
    trustProxy: false,
    // A client gets this long to send a whole request (slow-body clients are cut off).
    requestTimeout: 60_000,
    bodyLimit: resolved.bodyLimitBytes,
    // Path parameters may hold URL-encoded run keys.
    routerOptions: { maxParamLength: 2_000, ignoreTrailingSlash: true },
    ajv: { customOptions: { coerceTypes: true, allErrors: false, removeAdditional: false } },
  });

  // JSON only: no text/plain parser (fastify's default), so other media types get 415.
  app.removeContentTypeParser('text/plain');

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    // Before anything else: only the Host names this server serves (DNS rebinding).
    checkHost(resolved.hosts, request.headers.host);
    const origin = request.headers.origin;
    if (origin !== undefined && resolved.cors.has(origin)) {
      reply.header('access-control-allow-origin', origin);
      reply.header('vary', 'Origin');
      if (request.method === 'OPTIONS') {
        reply
          .header('access-control-allow-methods', 'GET, POST, PUT, OPTIONS')
          .header('access-control-allow-headers', 'authorization, content-type, content-encoding')
          .header('access-control-max-age', '600')
          .code(204)
          .send();
        return reply;
      }
    }
    const access = request.routeOptions.config?.access ?? 'public';
    if (access === 'public') return undefined;
    const bearer = bearerToken(request.headers.authorization);
    const cookie = bearer === undefined && sessions !== undefined && sessions.verify(request.headers.cookie);
    // A write, or a read by cookie, must come from the server's own origin or a CORS one (CSRF).
    if (access === 'write' || cookie) {
      checkOrigin({
        origin,
        host: request.headers.host,
        fetchSite: request.headers['sec-fetch-site'] as string | undefined,
        cors: resolved.cors,
        cookie,
        write: access === 'write',
      });
    }
    if (cookie) return undefined;
    if (access === 'write' && tokens.write === undefined) {
      throw new HttpError('unauthorized', 'this server accepts no writes: it was started without a token', {
        hint: 'start it with a token (mltrace serve makes one in MLTRACE_HOME)',
      });
    }
    if (access === 'read' && !readsNeedToken) return undefined;
    authorize(tokens, access, request.headers.authorization);
    return undefined;
  });

  app.addHook('preParsing', async (request, _reply, payload) => {
    const encoding = String(request.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding === 'identity') return payload;
    if (encoding === 'gzip') return gunzipped(payload);
    throw new HttpError('unsupported_media_type', `unsupported Content-Encoding "${encoding}"`, {
      hint: 'send the body uncompressed or gzip-compressed',
    });
  });

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-opener-policy', 'same-origin');
    const isUi = request.url === '/ui' || request.url.startsWith('/ui/') || request.url.startsWith('/ui?');
    reply.header('content-security-policy', isUi ? UI_CSP : API_CSP);
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: request.method, route }, seconds);
    // Never the headers: they carry tokens.
    logger.debug('request', {
      method: request.method,
      route,
      status: reply.statusCode,
      ms: reply.elapsedTime,
    });
  });

  app.setErrorHandler(async (error, request, reply) => {
    const { status, body, internal } = toErrorResponse(error);
    if (internal) {
      logger.error('request failed', {
        method: request.method,
        route: request.routeOptions.url ?? request.url.split('?')[0],
        error: (error as Error).message,
        stack: (error as Error).stack,
      });
    }
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="mltrace"');
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });

  app.setNotFoundHandler(async (request, reply) => {
    return reply.code(404).send({
      error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` },
    });
  });

  registerApiRoutes(app, context);

  app.get('/metrics', { config: { access: 'read' } }, async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });

  app.get('/', async (_request, reply) => reply.redirect('/ui/'));
  // Links from Temporal's UI: a workflow's details name each activity call by its run key without
  // the attempt (the workflow never learns it); this finds the latest attempt's run card.
  app.get<{ Querystring: { key?: string } }>(
    '/go/run',
    { config: { access: 'read' } },
    async (request, reply) => {
      const key = request.query.key ?? '';
      if (!key || key.length > 4096)
        throw new HttpError('invalid_input', 'give ?key=<run key or run key prefix>');
      const id = await latestAttempt(options.store, key);
      if (id === undefined) {
        throw new HttpError('not_found', `no run with the run key ${key}`, {
          hint: 'the worker may not have flushed it yet, or it wrote to another store',
        });
      }
      return reply.redirect(`/ui/run?id=${id}`);
    },
  );
  // The one-time login URL: spends its code and sets the session cookie the UI's requests carry.
  app.get<{ Querystring: { code?: string } }>('/ui/login', async (request, reply) => {
    const cookie = sessions?.redeem(String(request.query.code ?? ''));
    if (cookie === undefined) {
      throw new HttpError('unauthorized', 'this login link is not valid (each works once)', {
        hint: 'restart `mltrace serve` for a new link, or send the token as Authorization: Bearer',
      });
    }
    reply.header('set-cookie', cookie);
    reply.header('cache-control', 'no-store');
    return reply.redirect('/ui/', 303);
  });
  const sendUi = async (request: FastifyRequest<{ Params: { '*'?: string } }>, reply: FastifyReply) => {
    if (ui.size === 0) {
      throw new HttpError('unavailable', 'the web UI is not built', {
        hint: 'run `npm run build -w @mltrace/server`',
      });
    }
    const path = request.params['*'] ?? '';
    const asset = ui.get(path);
    if (asset && path !== 'index.html') {
      reply.header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      return reply.type(asset.contentType).send(asset.body);
    }
    if (path.startsWith('assets/')) {
      throw new HttpError('not_found', `no UI asset ${path}`);
    }
    const index = ui.get('index.html')!;
    reply.header('cache-control', 'no-cache');
    return reply.type(index.contentType).send(index.body);
  };
  app.get('/ui', sendUi);
  app.get('/ui/*', sendUi);

  try {
    await app.listen({ host: resolved.host, port: resolved.port });
  } catch (cause) {
    await app.close().catch(() => {});
    throw new ConfigError(`cannot listen on ${resolved.host}:${resolved.port}: ${(cause as Error).message}`, {
      cause,
      hint: 'is another server using the port? choose another with --port',
    });
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  if (tokens.write === undefined) {
    logger.warn('no token is set: this server accepts no writes', { url });
  }
  logger.info('mltrace server listening', { url, ui: ui.size > 0 ? `${url}/ui/` : 'not built' });
  return {
    url,
    metrics: metrics.registry,
    loginUrl() {
      return sessions === undefined ? undefined : `${url}/ui/login?code=${sessions.mintCode()}`;
    },
    async close() {
      await app.close();
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
