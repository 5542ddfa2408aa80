/**
 * The server's security suite: each case is an attack as a client or a web page would make it,
 * and asserts a clear 4xx and that nothing was written. Raw HTTP requests (node:http, so the Host
 * header is the attacker's) and real Chromium for what only a browser does (DNS rebinding, CSRF,
 * SameSite cookies).
 */
import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { launchBrowser, serveStatic } from '@mltrace/test-helpers';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type MltraceServer } from '../src/server.js';
import { loadPipeline, MODEL } from './test-fixtures.js';

const TOKEN = 'security-write-token-0123456789';
const READ_TOKEN = 'security-read-token-0123456789';
const SECRET = 'security-webhook-secret';

/** An HTTP request with exactly these headers (Host included), as curl sends it. */
function raw(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  json: any;
}> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
        headers: { host: url.host, ...options.headers },
        setHost: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const EVENT = (name: string) =>
  JSON.stringify({
    eventType: 'COMPLETE',
    eventTime: '2026-03-02T10:00:00Z',
    run: { runId: '0190b1c2-0000-7000-8000-00000000aaaa' },
    job: { namespace: 'attack', name },
    inputs: [],
    outputs: [{ namespace: 'file', name: `/forged/${name}.csv` }],
    producer: 'https://attacker.example',
    schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent',
  });

describe('the security suite', () => {
  let store: LineageStore;
  let server: MltraceServer;
  let host: string;
  /** Everything a write could change: runs, notes, flags. */
  const snapshot = async () =>
    JSON.stringify({
      counts: await store.countRuns(),
      runs: (await store.recent({ limit: 100 })).runs.map((r) => [r.runKey, r.notes]),
      flagged: (await store.review()).flagged,
    });
  let before: string;

  beforeAll(async () => {
    store = await openPgliteStore({ dataDir: 'memory://' });
    await loadPipeline(store);
    server = await createServer({
      store,
      port: 0,
      token: TOKEN,
      readToken: READ_TOKEN,
      mlflowWebhookSecret: SECRET,
      allowedHosts: ['lineage.internal'],
      bodyLimitBytes: 64 * 1024,
    });
    host = new URL(server.url).host;
    before = await snapshot();
  });
  afterAll(async () => {
    await server?.close();
    await store?.close();
  });

  const lineage = (headers: Record<string, string>, body = EVENT('forged')) =>
    raw(server.url, '/api/v1/lineage', { headers: { 'content-type': 'application/json', ...headers }, body });

  it('tokens: a missing or wrong token gets 401, the read token on a write 403, reads need a token', async () => {
    expect((await lineage({})).status).toBe(401);
    expect((await lineage({ authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    expect((await lineage({ authorization: `Bearer ${TOKEN.slice(0, -1)}` })).status).toBe(401);
    expect(
      (await lineage({ authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` })).status,
    ).toBe(401);
    expect((await raw(server.url, `/api/v1/runs?token=${TOKEN}`)).status).toBe(401);
    const forbidden = await lineage({ authorization: `Bearer ${READ_TOKEN}` });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.error.code).toBe('forbidden');
    expect((await raw(server.url, '/api/v1/runs')).status).toBe(401);
    expect(
      (await raw(server.url, '/api/v1/runs', { headers: { authorization: `Bearer ${READ_TOKEN}` } })).status,
    ).toBe(200);
    expect(await snapshot()).toBe(before);
  });

  it('DNS rebinding: a Host the server does not serve gets 403 before routing, read or write', async () => {
    const evil = {
      host: `attacker.example:${new URL(server.url).port}`,
      origin: `http://attacker.example:${new URL(server.url).port}`,
    };
    const write = await lineage({ ...evil, authorization: `Bearer ${TOKEN}` });
    expect(write.status).toBe(403);
    expect(write.json.error.message).toContain('does not answer to the host "attacker.example"');
    const read = await raw(server.url, '/api/v1/runs', {
      headers: { ...evil, authorization: `Bearer ${TOKEN}` },
    });
    expect(read.status).toBe(403);
    expect(read.text).not.toContain('clean');
    expect((await raw(server.url, '/ui/', { headers: evil })).status).toBe(403);
    expect((await raw(server.url, '/api/v1/nowhere', { headers: evil })).status).toBe(403);
    expect((await raw(server.url, '/api/v1/health', { headers: { host: '' } })).status).toBe(403);
    // Loopback names and the configured names are served.
    for (const name of ['localhost', '127.0.0.1', 'lineage.internal'])
      expect((await raw(server.url, '/api/v1/health', { headers: { host: `${name}:80` } })).status).toBe(200);
    expect(await snapshot()).toBe(before);
  });

  it('CSRF: a write from another origin, a form post and a text/plain post are refused', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const foreign = await lineage({ ...auth, origin: 'http://attacker.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.json.error.message).toContain('origin http://attacker.example');
    expect((await lineage({ ...auth, origin: 'null' })).status).toBe(403);
    const form = await raw(server.url, '/api/v1/flag', {
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://attacker.example' },
      body: `uri=${encodeURIComponent(MODEL)}`,
    });
    expect(form.status).toBe(403);
    const plain = await raw(server.url, '/api/v1/flag', {
      headers: { ...auth, 'content-type': 'text/plain', origin: `http://${host}` },
      body: JSON.stringify({ uri: MODEL }),
    });
    expect(plain.status).toBe(415);
    expect(await snapshot()).toBe(before);
  });

  it('oversized and gzip-bomb bodies get 413, malformed JSON and OpenLineage events 400', async () => {
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const huge = await raw(server.url, '/api/v1/lineage', {
      headers: auth,
      body: `"${'x'.repeat(200_000)}"`,
    });
    expect(huge.status).toBe(413);
    const { gzipSync } = await import('node:zlib');
    const bomb = gzipSync(Buffer.from(`"${'0'.repeat(5_000_000)}"`));
    expect(
      (
        await raw(server.url, '/api/v1/lineage', {
          headers: { ...auth, 'content-encoding': 'gzip' },
          body: bomb,
        })
      ).status,
    ).toBe(413);
    const broken = await raw(server.url, '/api/v1/lineage', { headers: auth, body: '{"eventType": ' });
    expect(broken.status).toBe(400);
    expect(broken.json.error.code).toBe('invalid_input');
    const invalid = await raw(server.url, '/api/v1/lineage', {
      headers: auth,
      body: JSON.stringify({ eventType: 'COMPLETE', run: {} }),
    });
    expect(invalid.status).toBe(400);
    expect(invalid.json.error.message).toMatch(/eventTime|job|producer/);
    expect(await snapshot()).toBe(before);
  });

  it('SQL injection strings in every field that reaches SQL are inert: stored literally, or refused', async () => {
    const injection = "x'); DROP TABLE component_runs; --";
    const auth = { authorization: `Bearer ${TOKEN}` };
    for (const path of [
      `/api/v1/trace?uri=${encodeURIComponent(injection)}`,
      `/api/v1/impact?uri=${encodeURIComponent(injection)}&version=${encodeURIComponent(injection)}`,
      `/api/v1/runs?component=${encodeURIComponent(injection)}&cursor=${encodeURIComponent(injection)}`,
      `/api/v1/runs/${encodeURIComponent(injection)}`,
      `/api/v1/history?component=${encodeURIComponent(injection)}`,
      `/api/v1/components?tag=${encodeURIComponent(injection)}&owner=${encodeURIComponent(injection)}`,
      `/api/v1/promotions?model=${encodeURIComponent(injection)}`,
      `/api/v1/pointers?uri=${encodeURIComponent(injection)}`,
    ]) {
      const answer = await raw(server.url, path, { headers: auth });
      expect([200, 400, 404], path).toContain(answer.status);
    }
    const flag = await raw(server.url, '/api/v1/flag', {
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ uri: injection, version: injection }),
    });
    expect(flag.status).toBe(404);
    expect(await snapshot()).toBe(before);
    // Written through the API, the string comes back as it was.
    const written = await lineage(auth, EVENT(injection));
    expect(written.status).toBe(201);
    const run = await store.run(written.json.run.id);
    expect(run.component).toBe(`attack/${injection}`);
    expect((await store.countRuns()).reduce((n, c) => n + c.count, 0)).toBe(4);
  });

  it('path traversal on the UI routes never reaches a file outside the UI', async () => {
    for (const path of [
      '/ui/../package.json',
      '/ui/%2e%2e/%2e%2e/package.json',
      '/ui/assets/..%2f..%2f..%2fsrc%2fserver.ts',
      '/ui/assets/%2e%2e%5c%2e%2e%5cpackage.json',
      '/ui/..%00/etc/passwd',
    ]) {
      const answer = await raw(server.url, path);
      expect([200, 400, 404], path).toContain(answer.status);
      expect(answer.text, path).not.toContain('"@mltrace/server"');
      expect(answer.text, path).not.toContain('root:x:0:0');
      expect(answer.text, path).not.toContain('createServer');
    }
  });

  it('webhooks: a bad signature, a stale timestamp and a replayed delivery are refused or ignored', async () => {
    const body =
      '{"entity": "model_version_alias", "action": "created", "timestamp": "2026-03-01T10:00:00Z", "data": {"name": "m", "alias": "champion", "version": "1"}}';
    const deliver = (id: string, timestamp: number, secret = SECRET) =>
      raw(server.url, '/api/v1/webhooks/mlflow', {
        headers: {
          'content-type': 'application/json',
          'x-mlflow-delivery-id': id,
          'x-mlflow-timestamp': String(timestamp),
          'x-mlflow-signature': `v1,${createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest('base64')}`,
        },
        body,
      });
    const now = Math.floor(Date.now() / 1000);
    expect((await deliver('d-1', now, 'wrong-secret')).status).toBe(401);
    expect((await deliver('d-2', now - 301)).status).toBe(401);
    expect((await deliver('d-3', now)).json).toMatchObject({ received: true });
    expect((await deliver('d-3', now)).json).toMatchObject({ duplicate: true });
  });
});

describe('DNS rebinding and CSRF in Chromium', () => {
  let store: LineageStore;
  let server: MltraceServer;
  let browser: Browser;
  let before: string;
  const snapshot = async () =>
    JSON.stringify({ counts: await store.countRuns(), flagged: (await store.review()).flagged });

  beforeAll(async () => {
    store = await openPgliteStore({ dataDir: 'memory://' });
    await loadPipeline(store);
    before = await snapshot();
    browser = await launchBrowser({ args: ['--host-resolver-rules=MAP attacker.example 127.0.0.1'] });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await store?.close();
  });

  it('a page whose domain rebinds to 127.0.0.1 can neither read nor write, even with the UI logged in', async () => {
    // The attacker's page loads from attacker.example:PORT; then "DNS rebinds": the attacker's
    // server goes away and mltrace answers on that address, and the page calls it same-origin.
    const attacker = await serveStatic({ '/': '<!doctype html><title>cats</title><p>cute cats</p>' });
    const port = Number(new URL(attacker.url).port);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`http://attacker.example:${port}/`);
    await attacker.close();
    server = await createServer({ store, port, token: TOKEN });
    // The user is logged in to the UI in the same browser.
    const ui = await context.newPage();
    await ui.goto(server.loginUrl()!);
    expect(new URL(ui.url()).pathname).toBe('/ui/');
    const answers = await page.evaluate(async (event) => {
      const read = await fetch('/api/v1/runs', { credentials: 'include' });
      const write = await fetch('/api/v1/lineage', {
        method: 'POST',
        credentials: 'include',
        headers: { 'content-type': 'application/json' },
        body: event,
      });
      return { read: [read.status, await read.text()], write: write.status };
    }, EVENT('rebound'));
    expect(answers.read[0]).toBe(403);
    expect(answers.read[1]).not.toContain('clean');
    expect(answers.write).toBe(403);
    expect(await snapshot()).toBe(before);
    await context.close();
  });

  it('a cross-site page cannot use the session cookie; the UI itself can, once per login link', async () => {
    const context = await browser.newContext();
    const ui = await context.newPage();
    const login = server.loginUrl()!;
    const landed = await ui.goto(login);
    expect(landed?.status()).toBe(200);
    // HttpOnly: the page's scripts never see the session.
    expect(await ui.evaluate(() => document.cookie)).toBe('');
    const [cookie] = await context.cookies(server.url);
    expect(cookie).toMatchObject({ name: 'mltrace_session', httpOnly: true, sameSite: 'Strict' });
    // The UI's own requests carry it: reads and writes work without a token.
    const own = await ui.evaluate(async (model) => {
      const runs = await fetch('/api/v1/runs');
      const config = await (await fetch('/api/v1/config')).json();
      const flag = await fetch('/api/v1/flag', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ uri: model }),
      });
      const unflag = await fetch('/api/v1/unflag', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ all: true }),
      });
      return [runs.status, config.auth, flag.status, unflag.status];
    }, MODEL);
    expect(own).toEqual([200, { read: false, write: false }, 200, 200]);
    // A link works once.
    const again = await (await context.newPage()).goto(login);
    expect(again?.status()).toBe(401);

    // Another site, in the same browser: the cookie is not sent (SameSite=Strict), the Origin is
    // refused, and a classic form post is refused too.
    const site = await serveStatic({
      '/': `<!doctype html><form id="f" method="POST" action="${server.url}/api/v1/flag" enctype="text/plain">
        <input name='{"uri":"${MODEL}","x":"' value='"}'></form>`,
    });
    const evil = await context.newPage();
    await evil.goto(site.url.replace('127.0.0.1', 'attacker.example'));
    const cross = await evil.evaluate(
      async ([base, model]) => {
        const read = await fetch(`${base}/api/v1/runs`, { credentials: 'include', mode: 'no-cors' });
        const write = await fetch(`${base}/api/v1/flag`, {
          method: 'POST',
          credentials: 'include',
          mode: 'no-cors',
          headers: { 'content-type': 'text/plain' },
          body: JSON.stringify({ uri: model }),
        });
        return [read.type, write.type];
      },
      [server.url, MODEL] as const,
    );
    expect(cross).toEqual(['opaque', 'opaque']);
    const posted = evil.waitForNavigation();
    await evil.evaluate(() => (document.getElementById('f') as HTMLFormElement).submit());
    await posted;
    expect(await evil.content()).toContain('forbidden');
    await site.close();
    expect(await snapshot()).toBe(before);
    await context.close();
  });
});
