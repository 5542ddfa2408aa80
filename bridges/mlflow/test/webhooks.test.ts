import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { mlflowTrackingUri } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowClient } from '../src/client.js';
import type { MlflowSyncSummary } from '../src/sync.js';
import {
  createMlflowWebhookHandler,
  type MlflowWebhookEvent,
  type MlflowWebhookHandler,
  parseMlflowWebhookEvent,
  verifyMlflowSignature,
} from '../src/webhooks.js';
import { createExperiment, createTrainingRun, registerVersion, uniqueName } from './test-fixtures.js';

// A delivery recorded from MLflow 3.17.2 (webhook secret "s3cret"), byte for byte.
const RECORDED = {
  secret: 's3cret',
  headers: {
    'x-mlflow-delivery-id': 'abe20152-e477-48bc-b847-e66a1304a0f7',
    'x-mlflow-timestamp': '1795755291',
    'x-mlflow-signature': 'v1,LjPqmlTohhIHd0sfBhFZefxx6cBD9peWZ5Xn7y1tXo4=',
  },
  body: '{"entity": "model_version_alias", "action": "created", "timestamp": "2026-11-27T04:54:51.038184+00:00", "data": {"name": "fx-model", "alias": "champion", "version": "2"}}',
  now: () => 1795755291_000 + 2_000,
};

describe('MLflow webhook signatures', () => {
  it('accepts a delivery signed by MLflow and parses its event', () => {
    expect(() => verifyMlflowSignature(RECORDED)).not.toThrow();
    expect(parseMlflowWebhookEvent(RECORDED.body, 'd1')).toEqual({
      event: 'model_version_alias.created',
      entity: 'model_version_alias',
      action: 'created',
      timestamp: '2026-11-27T04:54:51.038184+00:00',
      data: { name: 'fx-model', alias: 'champion', version: '2' },
      deliveryId: 'd1',
      model: 'fx-model',
    });
  });

  it('rejects a wrong secret, a changed body, a stale timestamp and missing headers', () => {
    expect(() => verifyMlflowSignature({ ...RECORDED, secret: 'other' })).toThrow('signature does not match');
    expect(() => verifyMlflowSignature({ ...RECORDED, body: RECORDED.body.replace('"2"', '"3"') })).toThrow(
      'signature does not match',
    );
    expect(() => verifyMlflowSignature({ ...RECORDED, now: () => 1795755291_000 + 301_000 })).toThrow(
      'more than 300 s from now',
    );
    const { 'x-mlflow-signature': _, ...unsigned } = RECORDED.headers;
    expect(() => verifyMlflowSignature({ ...RECORDED, headers: unsigned })).toThrow('lacks');
  });
});

describe('MLflow webhooks from a real server', () => {
  const secret = `whsec-${uniqueName('s')}`;
  let client: MlflowClient;
  let store: LineageStore;
  let server: Server;
  let receiverUrl: string;
  let handler: MlflowWebhookHandler;
  const events: MlflowWebhookEvent[] = [];
  const syncs: Array<{ model: string; summary: MlflowSyncSummary }> = [];
  const rejected: string[] = [];
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (message, fields) => {
      if (message.includes('rejected')) rejected.push(String(fields?.reason));
    },
    error: () => {},
  };
  const webhookIds: string[] = [];
  let watched: Set<string>;

  beforeAll(async () => {
    client = new MlflowClient({ trackingUri: mlflowTrackingUri() });
    store = await openPgliteStore({ dataDir: 'memory://' });
    watched = new Set();
    handler = createMlflowWebhookHandler({
      secret,
      sync: { store, client },
      // Other test files use the same server: only this file's models are synced.
      shouldSync: (event) => watched.has(event.model ?? ''),
      onEvent: (event) => {
        if (watched.has(event.model ?? '')) events.push(event);
      },
      onSync: (summary, model) => syncs.push({ model, summary }),
      logger,
    });
    server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mlflow/webhook`;
  });

  afterAll(async () => {
    for (const id of webhookIds) await client.deleteWebhook(id).catch(() => {});
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await handler?.idle();
    await store?.close();
  });

  async function until(what: string, check: () => boolean, timeoutMs = 45_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  }

  it('receives a signed delivery from MLflow, verifies it and syncs the model it names', async () => {
    const hook = await client.createWebhook({
      name: uniqueName('mltrace'),
      url: receiverUrl,
      events: ['model_version.created', 'model_version_alias.created', 'model_version_tag.set'],
      secret,
    });
    webhookIds.push(hook.webhookId);
    expect(hook).toMatchObject({ url: receiverUrl, status: 'ACTIVE' });
    expect(hook.events.sort()).toEqual(
      ['model_version.created', 'model_version_alias.created', 'model_version_tag.set'].sort(),
    );
    // MLflow caches subscriptions per event for MLFLOW_WEBHOOK_CACHE_TTL (1 s in the harness).
    await sleep(1500);

    const name = uniqueName('hooked');
    watched.add(name);
    const experimentId = await createExperiment(client, 'hooks');
    const runId = await createTrainingRun(client, experimentId, {
      datasets: [{ name: 'train', digest: 'hd1', uri: 's3://bucket/hooks/train.parquet' }],
    });
    await client.createRegisteredModel({ name });
    await registerVersion(client, name, runId);
    await client.setRegisteredModelAlias(name, 'champion', '1');

    await until('the alias event', () => events.some((e) => e.event === 'model_version_alias.created'));
    await handler.idle();
    const alias = events.find((e) => e.event === 'model_version_alias.created')!;
    expect(alias).toMatchObject({ model: name, data: { name, alias: 'champion', version: '1' } });
    expect(alias.deliveryId).toMatch(/^[0-9a-f-]{36}$/);
    expect(events.map((e) => e.event)).toContain('model_version.created');
    expect(syncs.filter((s) => s.model === name).length).toBeGreaterThanOrEqual(1);
    expect(rejected).toEqual([]);

    const graph = await store.trace({ uri: `models:/${name}@champion` });
    const train = graph.runs.find((r) => r.runKey.endsWith(`/runs/${runId}`))!;
    expect(graph.runs.map((r) => r.component).sort()).toEqual(
      ['promote', 'register', train.component].sort(),
    );
    expect(train.inputs.map((p) => `${p.uri}@${p.version}`)).toContain('s3://bucket/hooks/train.parquet@hd1');

    // A later tag event re-syncs the model; the sync finds nothing new to write but the tag.
    const before = syncs.length;
    await client.setModelVersionTag(name, '1', 'validation_status', 'passed');
    await until('the sync after the tag event', () => syncs.length > before);
    await handler.idle();
    expect(syncs.at(-1)?.summary).toMatchObject({ versions: 0, promotions: 0, updated: 1 });
  });

  it('rejects a delivery signed with the wrong secret with 401, and syncs nothing', async () => {
    const hook = await client.createWebhook({
      name: uniqueName('wrong'),
      url: receiverUrl,
      events: ['model_version.created'],
      secret: 'not-the-receivers-secret',
    });
    webhookIds.push(hook.webhookId);
    const syncsBefore = syncs.length;
    const eventsBefore = events.length;
    const runsBefore = (await store.recent({ limit: 500 })).runs.length;

    // MLflow's test delivery: a real signed request from the server, answered synchronously.
    const result = await client.testWebhook(hook.webhookId);
    expect(result).toMatchObject({ success: false, responseStatus: 401 });
    expect(result.responseBody).toContain('signature does not match');
    expect(rejected.at(-1)).toContain('signature does not match');

    // And a forged request straight to the receiver.
    const forged = await fetch(receiverUrl, {
      method: 'POST',
      headers: { ...RECORDED.headers, 'x-mlflow-timestamp': String(Math.floor(Date.now() / 1000)) },
      body: RECORDED.body,
    });
    expect(forged.status).toBe(401);

    await handler.idle();
    expect(syncs.length).toBe(syncsBefore);
    expect(events.length).toBe(eventsBefore);
    expect((await store.recent({ limit: 500 })).runs.length).toBe(runsBefore);
  });

  it('acknowledges a repeated delivery id without handling it twice, and refuses methods other than POST', async () => {
    const seen: string[] = [];
    const receiver = createServer(
      createMlflowWebhookHandler({
        secret: RECORDED.secret,
        now: RECORDED.now,
        onEvent: (e) => {
          seen.push(e.deliveryId);
        },
      }),
    );
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
      const send = () => fetch(url, { method: 'POST', headers: RECORDED.headers, body: RECORDED.body });
      const first = await send();
      expect([first.status, await first.json()]).toEqual([200, { status: 'accepted' }]);
      const second = await send();
      expect([second.status, await second.json()]).toEqual([200, { status: 'duplicate' }]);
      const get = await fetch(url);
      expect(get.status).toBe(405);
      expect(get.headers.get('allow')).toBe('POST');
      await until('the event', () => seen.length === 1);
      expect(seen).toEqual([RECORDED.headers['x-mlflow-delivery-id']]);
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});
