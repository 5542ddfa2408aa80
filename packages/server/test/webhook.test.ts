import { createHmac } from 'node:crypto';
import type { MlflowWebhookEvent } from '@mltrace/mlflow';
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type MltraceServer } from '../src/server.js';
import { client } from './test-fixtures.js';

const SECRET = 'mlflow-webhook-secret';

function signed(body: string, options: { secret?: string; timestamp?: number; id?: string } = {}) {
  const id = options.id ?? crypto.randomUUID();
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const mac = createHmac('sha256', options.secret ?? SECRET)
    .update(`${id}.${timestamp}.${body}`)
    .digest('base64');
  return {
    raw: body,
    headers: {
      'content-type': 'application/json',
      'x-mlflow-delivery-id': id,
      'x-mlflow-timestamp': timestamp,
      'x-mlflow-signature': `v1,${mac}`,
    },
  };
}

// As MLflow serialises it: Python json.dumps defaults.
const BODY =
  '{"entity": "model_version_alias", "action": "created", "timestamp": "2026-03-01T10:00:00Z", "data": {"name": "taxi", "alias": "champion", "version": "3"}}';

describe('MLflow webhook receiver', () => {
  let store: LineageStore;
  let server: MltraceServer;
  let unconfigured: MltraceServer;
  const events: MlflowWebhookEvent[] = [];

  beforeAll(async () => {
    store = await openPgliteStore({ dataDir: 'memory://' });
    server = await createServer({
      store,
      port: 0,
      mlflowWebhookSecret: SECRET,
      onMlflowEvent: (event) => {
        events.push(event);
      },
    });
    unconfigured = await createServer({ store, port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await unconfigured?.close();
    await store?.close();
  });

  it('hands a correctly signed delivery to onMlflowEvent, once per delivery id', async () => {
    const api = client(server.url);
    const delivery = signed(BODY, { id: 'delivery-1' });
    const first = await api('/api/v1/webhooks/mlflow', delivery);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ received: true, deliveryId: 'delivery-1' });
    const retry = await api('/api/v1/webhooks/mlflow', delivery);
    expect(retry.json.duplicate).toBe(true);
    await server.close(); // waits for the callback
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ entity: 'model_version_alias', action: 'created', model: 'taxi' });
    expect(events[0]!.data).toEqual({ name: 'taxi', alias: 'champion', version: '3' });
    server = await createServer({
      store,
      port: 0,
      mlflowWebhookSecret: SECRET,
      onMlflowEvent: (e) => void events.push(e),
    });
  });

  it('refuses a wrong signature, a wrong secret, a stale timestamp and an unsigned delivery with 401', async () => {
    const api = client(server.url);
    const tampered = signed(BODY);
    tampered.raw = BODY.replace('champion', 'challenger');
    expect((await api('/api/v1/webhooks/mlflow', tampered)).status).toBe(401);
    expect((await api('/api/v1/webhooks/mlflow', signed(BODY, { secret: 'another-secret' }))).status).toBe(
      401,
    );
    const stale = await api(
      '/api/v1/webhooks/mlflow',
      signed(BODY, { timestamp: Math.floor(Date.now() / 1000) - 3600 }),
    );
    expect(stale.status).toBe(401);
    expect(stale.json.error.code).toBe('unauthorized');
    const unsigned = await api('/api/v1/webhooks/mlflow', {
      raw: BODY,
      headers: { 'content-type': 'application/json' },
    });
    expect(unsigned.status).toBe(401);
    expect((await api('/api/v1/webhooks/mlflow', signed('{"entity": 1}'))).status).toBe(400);
    expect(events).toHaveLength(1);
  });

  it('answers a configuration error when no webhook secret is set', async () => {
    const res = await client(unconfigured.url)('/api/v1/webhooks/mlflow', signed(BODY));
    expect(res.status).toBe(500);
    expect(res.json.error).toMatchObject({ code: 'config' });
    expect(res.json.error.hint).toContain('secret');
  });
});
