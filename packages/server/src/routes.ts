import {
  InvalidInputError,
  NotFoundError,
  RUN_SOURCES,
  RUN_STATUSES,
  type RunSource,
  type RunStatus,
} from '@mltrace/core';
import { MLFLOW_WEBHOOK_HEADERS, parseMlflowWebhookEvent, verifyMlflowSignature } from '@mltrace/mlflow';
import { promotionTimeline } from '@mltrace/store';
import type { FastifyInstance } from 'fastify';
import { HttpError } from './errors.js';
import { boundedGraph } from './limits.js';
import { ingestOpenLineageEvent } from './openlineage/ingest.js';
import { validateOpenLineageEvent } from './openlineage/validate.js';
import type { ServerContext } from './server.js';

/** The version of the HTTP API; every route is under `/api/v1`. */
export const API_PREFIX = '/api/v1';

function parseDate(value: string | undefined, name: string, endOfDay: boolean): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const date = new Date(dateOnly ? `${value}T${endOfDay ? '23:59:59.999' : '00:00:00.000'}Z` : value);
  if (Number.isNaN(date.getTime())) {
    throw new InvalidInputError(`${name} must be a date (YYYY-MM-DD) or an ISO-8601 time, got "${value}"`);
  }
  return date;
}

function runId(value: string): number {
  const id = Number(value);
  if (!Number.isSafeInteger(id) || id < 1)
    throw new InvalidInputError(`run id must be a positive integer, got "${value}"`);
  return id;
}

/** Registers the JSON API (reads, writes, OpenLineage, MLflow webhook). */
export function registerApiRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { store, limits } = ctx;
  const read = { access: 'read' as const };
  const write = { access: 'write' as const };
  const limit = (fallback: number) => ({
    type: 'integer',
    minimum: 1,
    maximum: limits.maxPageSize,
    default: fallback,
  });
  const pointerQuery = {
    type: 'object',
    required: ['uri'],
    properties: {
      uri: { type: 'string', minLength: 1, maxLength: 4096 },
      version: { type: 'string', maxLength: 1024 },
      maxDepth: {
        type: 'integer',
        minimum: 1,
        maximum: limits.maxTraceDepth,
        default: limits.defaultTraceDepth,
      },
      maxRuns: { type: 'integer', minimum: 1, maximum: limits.maxGraphRuns, default: limits.maxGraphRuns },
    },
  };
  const pointerBody = {
    type: 'object',
    required: ['uri'],
    additionalProperties: false,
    properties: {
      uri: { type: 'string', minLength: 1, maxLength: 4096 },
      version: { type: 'string', maxLength: 1024 },
    },
  };
  type PointerQ = { uri: string; version?: string; maxDepth: number; maxRuns: number };
  // A graph costs one bounded query (a slot of the gate, at most maxRuns runs) and bounded bytes.
  const graphRoute =
    (walk: 'trace' | 'impact') =>
    async (request: { query: PointerQ }, reply: { type(t: string): { send(b: string): unknown } }) => {
      const { maxDepth, maxRuns } = request.query;
      const graph = await ctx.heavy.run(() => store[walk](pointerOf(request.query), { maxDepth, maxRuns }));
      const body = boundedGraph(graph, { maxRuns, maxBytes: limits.maxResponseBytes, maxDepth });
      return reply.type('application/json; charset=utf-8').send(body);
    };
  const pointerOf = (q: { uri: string; version?: string }) =>
    q.version === undefined || q.version === '' ? { uri: q.uri } : { uri: q.uri, version: q.version };

  app.register(
    async (api) => {
      api.get('/health', async () => ({ status: 'ok' }));

      api.get('/config', async (request) => ({
        apiVersion: 1,
        temporalUiUrl: ctx.temporalUiUrl,
        // What this caller still needs a bearer token for (nothing, with the UI's session cookie).
        auth: ctx.hasSession(request.headers.cookie) ? { read: false, write: false } : ctx.auth,
        limits,
      }));

      api.get<{ Querystring: PointerQ }>(
        '/trace',
        { config: read, schema: { querystring: pointerQuery } },
        graphRoute('trace'),
      );

      api.get<{ Querystring: PointerQ }>(
        '/impact',
        { config: read, schema: { querystring: pointerQuery } },
        graphRoute('impact'),
      );

      api.get<{ Querystring: { uri: string } }>(
        '/pointers',
        {
          config: read,
          schema: {
            querystring: {
              type: 'object',
              required: ['uri'],
              properties: { uri: { type: 'string', minLength: 1 } },
            },
          },
        },
        async (request) => ({ pointers: await store.pointers(request.query.uri) }),
      );

      api.get<{
        Querystring: {
          limit: number;
          cursor?: string;
          component?: string;
          status?: RunStatus;
          source?: RunSource;
        };
      }>(
        '/runs',
        {
          config: read,
          schema: {
            querystring: {
              type: 'object',
              properties: {
                limit: limit(20),
                cursor: { type: 'string', maxLength: 200 },
                component: { type: 'string', minLength: 1 },
                status: { type: 'string', enum: [...RUN_STATUSES] },
                source: { type: 'string', enum: [...RUN_SOURCES] },
              },
            },
          },
        },
        async (request) => {
          const { limit: n, cursor, component, status, source } = request.query;
          return store.recent({
            limit: n,
            ...(cursor ? { cursor } : {}),
            ...(component ? { component } : {}),
            ...(status ? { status } : {}),
            ...(source ? { source } : {}),
          });
        },
      );

      api.get<{ Params: { idOrKey: string } }>('/runs/:idOrKey', { config: read }, async (request) => {
        const { idOrKey } = request.params;
        return store.run(/^\d+$/.test(idOrKey) ? runId(idOrKey) : idOrKey);
      });

      api.put<{ Params: { id: string }; Body: { notes: string } }>(
        '/runs/:id/notes',
        {
          config: write,
          schema: {
            body: {
              type: 'object',
              required: ['notes'],
              additionalProperties: false,
              properties: { notes: { type: 'string', maxLength: 100_000 } },
            },
          },
        },
        async (request) => {
          const id = runId(request.params.id);
          await store.setNotes(id, request.body.notes);
          return { id, notes: request.body.notes };
        },
      );

      api.get<{ Querystring: { component: string; limit: number; from?: string; to?: string } }>(
        '/history',
        {
          config: read,
          schema: {
            querystring: {
              type: 'object',
              required: ['component'],
              properties: {
                component: { type: 'string', minLength: 1 },
                limit: limit(50),
                from: { type: 'string' },
                to: { type: 'string' },
              },
            },
          },
        },
        async (request) => {
          const { component, limit: n } = request.query;
          const from = parseDate(request.query.from, 'from', false);
          const to = parseDate(request.query.to, 'to', true);
          const runs = await store.history(component, {
            limit: n,
            ...(from ? { from } : {}),
            ...(to ? { to } : {}),
          });
          const info = await store.component(component).catch((error: unknown) => {
            if (error instanceof NotFoundError) return null;
            throw error;
          });
          return { component: info, runs };
        },
      );

      api.get<{ Querystring: { tag?: string; owner?: string } }>(
        '/components',
        {
          config: read,
          schema: {
            querystring: {
              type: 'object',
              properties: { tag: { type: 'string' }, owner: { type: 'string' } },
            },
          },
        },
        async (request) => {
          const { tag, owner } = request.query;
          return {
            components: await store.components({ ...(tag ? { tag } : {}), ...(owner ? { owner } : {}) }),
          };
        },
      );

      api.get('/tags', { config: read }, async () => ({ tags: await store.tags() }));

      api.get<{ Querystring: { limit: number } }>(
        '/review',
        { config: read, schema: { querystring: { type: 'object', properties: { limit: limit(20) } } } },
        async (request) => ctx.heavy.run(() => store.review({ limit: request.query.limit })),
      );

      api.get<{
        Querystring: { model?: string; alias?: string; since?: string; until?: string; limit: number };
      }>(
        '/promotions',
        {
          config: read,
          schema: {
            querystring: {
              type: 'object',
              properties: {
                model: { type: 'string', minLength: 1 },
                alias: { type: 'string', minLength: 1 },
                since: { type: 'string' },
                until: { type: 'string' },
                limit: limit(50),
              },
            },
          },
        },
        async (request) => {
          const { model, alias, limit: n } = request.query;
          const since = parseDate(request.query.since, 'since', false);
          const until = parseDate(request.query.until, 'until', true);
          return {
            promotions: await promotionTimeline(store, {
              limit: n,
              ...(model ? { model } : {}),
              ...(alias ? { alias } : {}),
              ...(since ? { since } : {}),
              ...(until ? { until } : {}),
            }),
          };
        },
      );

      api.post<{ Body: { uri: string; version?: string } }>(
        '/flag',
        { config: write, schema: { body: pointerBody } },
        async (request) => ({ flagged: await store.flag(pointerOf(request.body)) }),
      );

      api.post<{ Body: { uri?: string; version?: string; all?: boolean } }>(
        '/unflag',
        {
          config: write,
          schema: {
            body: {
              type: 'object',
              additionalProperties: false,
              properties: { ...pointerBody.properties, all: { type: 'boolean' } },
            },
          },
        },
        async (request) => {
          const { uri, all } = request.body;
          if (all === true) return { unflagged: await store.unflagAll() };
          if (!uri)
            throw new InvalidInputError('give the pointer to unflag as uri (and version), or all: true');
          return { unflagged: await store.unflag(pointerOf({ ...request.body, uri })) };
        },
      );

      api.post('/lineage', { config: write }, async (request, reply) => {
        const result = await ingestOpenLineageEvent(store, request.body);
        return reply.code(201).send(result);
      });

      api.post('/lineage/batch', { config: write }, async (request, reply) => {
        const events = request.body;
        if (!Array.isArray(events))
          throw new InvalidInputError('the body must be a JSON array of OpenLineage events');
        if (events.length > limits.maxBatchEvents) {
          throw new HttpError(
            'too_large',
            `a batch holds at most ${limits.maxBatchEvents} events, got ${events.length}`,
          );
        }
        // Validate every event before writing any.
        events.forEach((event, i) => {
          try {
            validateOpenLineageEvent(event);
          } catch (error) {
            throw new InvalidInputError(`event ${i}: ${(error as Error).message}`);
          }
        });
        const results = [];
        for (const event of events) results.push(await ingestOpenLineageEvent(store, event));
        return reply.code(201).send({ results });
      });

      // The webhook parses its own body: the signature covers the raw bytes.
      api.register(async (hook) => {
        hook.removeAllContentTypeParsers();
        hook.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
        hook.post('/webhooks/mlflow', { config: { access: 'public' } }, async (request) => {
          const secret = ctx.mlflowWebhookSecret;
          if (secret === undefined) {
            throw new HttpError('config', 'the MLflow webhook receiver is not configured', {
              hint: 'start the server with an MLflow webhook secret, and give MLflow the same secret',
            });
          }
          const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
          try {
            verifyMlflowSignature({ secret, body: raw, headers: request.headers });
          } catch (error) {
            ctx.logger.warn('mlflow webhook: rejected a delivery', { reason: (error as Error).message });
            throw new HttpError('unauthorized', (error as Error).message, {
              hint: 'check that the webhook secret in MLflow matches the server',
            });
          }
          const deliveryId = String(request.headers[MLFLOW_WEBHOOK_HEADERS.deliveryId] ?? '');
          const event = parseMlflowWebhookEvent(raw, deliveryId);
          if (recentDeliveries.has(deliveryId)) return { received: true, duplicate: true, deliveryId };
          remember(deliveryId);
          // Answer at once (MLflow waits at most 30 s and does not queue); the callback runs after.
          if (ctx.onMlflowEvent) ctx.track(ctx.onMlflowEvent(event), event.event);
          return { received: true, deliveryId, event: event.event };
        });
      });
    },
    { prefix: API_PREFIX },
  );

  // Retries of a delivery share its id: remember the last ones so a retry is not handled twice.
  const recentDeliveries = new Set<string>();
  const remember = (id: string) => {
    recentDeliveries.add(id);
    if (recentDeliveries.size > 1_000) recentDeliveries.delete(recentDeliveries.values().next().value!);
  };
}
