import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { Gauge } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedMetrics } from '../src/metrics.js';
import { createServer } from '../src/server.js';
import { client, loadPipeline } from './test-fixtures.js';

const TOKEN = 'server-token-0123456789abcdef';

describe('server setup and security', () => {
  let store: LineageStore;
  beforeAll(async () => {
    store = await openPgliteStore({ dataDir: 'memory://' });
    await loadPipeline(store);
  });
  afterAll(async () => {
    await store?.close();
  });

  it('refuses to listen beyond loopback without a write token, or with a short one', async () => {
    await expect(createServer({ store, host: '0.0.0.0', port: 0 })).rejects.toMatchObject({
      code: 'config',
      message: expect.stringContaining('without a write token'),
    });
    await expect(createServer({ store, port: 0, token: 'short' })).rejects.toMatchObject({ code: 'config' });
    await expect(createServer({ store, port: 0, readToken: TOKEN })).rejects.toMatchObject({
      code: 'config',
    });
  });

  it('never logs the token', async () => {
    const lines: string[] = [];
    const record = (message: string, fields?: Record<string, unknown>) =>
      lines.push(`${message} ${JSON.stringify(fields)}`);
    const server = await createServer({
      store,
      port: 0,
      token: TOKEN,
      logger: { debug: record, info: record, warn: record, error: record },
    });
    try {
      const api = client(server.url);
      await api('/api/v1/flag', { body: { uri: 'file:///nope' }, token: TOKEN });
      await api('/api/v1/flag', { body: { uri: 'file:///nope' }, token: `${TOKEN}-wrong` });
      await api('/api/v1/runs', { token: TOKEN });
    } finally {
      await server.close();
    }
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(TOKEN);
  });

  it('answers CORS only for the configured origins', async () => {
    const closed = await createServer({ store, port: 0 });
    const open = await createServer({ store, port: 0, corsOrigins: ['http://dashboard.local'] });
    try {
      const headers = { origin: 'http://dashboard.local' };
      const none = await client(closed.url)('/api/v1/tags', { headers });
      expect(none.headers.get('access-control-allow-origin')).toBeNull();
      const allowed = await client(open.url)('/api/v1/tags', { headers });
      expect(allowed.headers.get('access-control-allow-origin')).toBe('http://dashboard.local');
      const other = await client(open.url)('/api/v1/tags', { headers: { origin: 'http://evil.local' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      const preflight = await client(open.url)('/api/v1/flag', {
        method: 'OPTIONS',
        headers: { ...headers, 'access-control-request-method': 'POST' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    } finally {
      await closed.close();
      await open.close();
    }
  });

  it('exports runs by component and status, HTTP counts and registered collectors on /metrics', async () => {
    const server = await createServer({
      store,
      port: 0,
      metrics: {
        register: (registry) => {
          const shared = sharedMetrics(registry);
          shared.writerQueueSize.set(7);
          shared.bridgeSyncErrors.inc({ bridge: 'mlflow' });
          new Gauge({ name: 'custom_plugin_gauge', help: 'a plugin gauge', registers: [registry] }).set(3);
        },
      },
    });
    try {
      const api = client(server.url);
      await api('/api/v1/runs');
      const { status, text, headers } = await api('/metrics');
      expect(status).toBe(200);
      expect(headers.get('content-type')).toContain('text/plain');
      expect(text).toContain('mltrace_runs{component="clean",status="succeeded"} 1');
      expect(text).toContain('mltrace_runs{component="train",status="succeeded"} 1');
      expect(text).toContain('mltrace_stale_runs 0');
      expect(text).toMatch(
        /mltrace_http_requests_total\{method="GET",route="\/api\/v1\/runs",status="200"\} 1/,
      );
      expect(text).toContain('mltrace_http_request_duration_seconds_bucket');
      expect(text).toContain('mltrace_writer_queue_size 7');
      expect(text).toContain('mltrace_bridge_sync_errors_total{bridge="mlflow"} 1');
      expect(text).toContain('custom_plugin_gauge 3');
      expect(sharedMetrics(server.metrics).writerQueueSize).toBe(
        sharedMetrics(server.metrics).writerQueueSize,
      );
    } finally {
      await server.close();
    }
  });
});
