import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MlflowClient } from '@mltrace/mlflow';
import { readServerToken } from '@mltrace/server';
import { mlflowTrackingUri } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { BIN, type CliResult, removeTemplate, type Workspace, workspace } from '../test-cli.js';

const URL_LINE = /^mltrace server at (http:\/\/[^ ]+) /m;

/** Waits for `check` to hold, polling (the tests never assert timings). */
async function until<T>(check: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** `mltrace serve ARGS` in-process, stopped through the injected signal. */
async function serveInProcess(
  ws: Workspace,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ url: string; stop(): Promise<CliResult> }> {
  const controller = new AbortController();
  const result: CliResult = { code: -1, stdout: '', stderr: '' };
  const running = runCli(['node', 'mltrace', 'serve', '--port', '0', ...args], {
    stdout: { write: (s: string) => (result.stdout += s) },
    stderr: { write: (s: string) => (result.stderr += s) },
    env: { ...ws.env, ...env },
    cwd: ws.cwd,
    signal: controller.signal,
  }).then((code) => {
    result.code = code;
  });
  const url = await until(
    () => URL_LINE.exec(result.stdout)?.[1] ?? (result.code >= 0 ? `exited: ${result.stderr}` : undefined),
    'the server to print its URL',
  );
  if (!url.startsWith('http')) throw new Error(`mltrace serve ${url}`);
  return {
    url,
    async stop() {
      controller.abort();
      await running;
      return result;
    },
  };
}

describe('mltrace serve', { timeout: 180_000 }, () => {
  let ws: Workspace;

  beforeAll(async () => {
    ws = await workspace();
  });

  afterAll(async () => {
    await ws?.remove();
    await removeTemplate();
  });

  it('serves the health route from the built binary, prints its URL, and stops cleanly on SIGTERM', async () => {
    if (!existsSync(BIN))
      throw new Error(`${BIN} is missing: build first (npx turbo run build --filter=@mltrace/cli)`);
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
      cwd: ws.cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...ws.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await until(() => URL_LINE.exec(stdout)?.[1], `the URL line (stderr: ${stderr})`);
      const health = await fetch(`${url}/api/v1/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const tokenFile = join(ws.env.MLTRACE_HOME!, 'server-token');
      expect(stdout).toMatch(
        new RegExp(
          `^mltrace server at ${url} \\(web UI ${url}/ui/, API ${url}/api/v1\\)\n` +
            `Open the web UI with this one-time link: ${url}/ui/login\\?code=[A-Za-z0-9_-]{32}\n` +
            `API clients send the token in ${tokenFile} \\(made now\\) as Authorization: Bearer\n` +
            'Ctrl-C \\(SIGINT\\) or SIGTERM stops it\n' +
            'mltrace server stopped\n$',
        ),
      );
      // The token made on first start: random, mode 0600, never printed.
      const token = (await readFile(tokenFile, 'utf8')).trim();
      expect(token).toMatch(/^[0-9a-f]{64}$/);
      expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
      expect(stdout + stderr).not.toContain(token);
      expect(stderr).toContain('mltrace: stopping the server\n');
      await expect(fetch(`${url}/api/v1/health`)).rejects.toThrow();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('takes the write token from a file, never printing it, and refuses writes without it', async () => {
    const token = randomBytes(16).toString('hex');
    await writeFile(join(ws.cwd, 'token.txt'), `${token}\n`);
    await ws.ok('log', 'predict', '--output', 's3://bucket/predictions.csv');
    const server = await serveInProcess(ws, ['--token-file', 'token.txt']);
    let result: CliResult | undefined;
    try {
      const flag = (headers: Record<string, string>) =>
        fetch(`${server.url}/api/v1/flag`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ uri: 's3://bucket/predictions.csv' }),
        });
      expect((await flag({})).status).toBe(401);
      const allowed = await flag({ authorization: `Bearer ${token}` });
      expect(allowed.status).toBe(200);
      expect(await allowed.json()).toEqual({ flagged: 1 });
    } finally {
      result = await server.stop();
    }
    expect(result.code).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(token);
    expect(result.stderr).not.toContain('writes are open');
  });

  it('refuses bad settings in one line with the configuration exit code', async () => {
    await writeFile(join(ws.cwd, 'short.txt'), 'short\n');
    const short = await ws.run(['serve', '--port', '0', '--token-file', 'short.txt']);
    expect(short).toEqual({
      code: 5,
      stdout: '',
      stderr:
        'mltrace: error: the token is too short (5 characters)\n' +
        'hint: use at least 16 random characters, e.g. `openssl rand -hex 32`\n',
    });
    const missing = await ws.run(['serve', '--port', '0', '--token-file', 'missing.txt']);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toMatch(
      /^mltrace: error: cannot read --token-file .*missing\.txt: ENOENT\nhint: /,
    );
    // Fail closed: a token file that exists but cannot be read (here a directory, which even root
    // cannot read as a file) stops the server, never opens it.
    const tokenFile = join(ws.env.MLTRACE_HOME!, 'server-token');
    await rm(tokenFile, { force: true });
    await mkdir(tokenFile);
    try {
      const unreadable = await ws.run(['serve', '--port', '0']);
      expect(unreadable.code).toBe(5);
      expect(unreadable.stdout).toBe('');
      expect(unreadable.stderr).toMatch(
        /^mltrace: error: cannot read the server token .*server-token: EISDIR\n/,
      );
    } finally {
      await rm(tokenFile, { recursive: true });
    }
  });

  describe('with MLFLOW_TRACKING_URI', () => {
    it('syncs the model a signed MLflow webhook delivery names', async () => {
      const client = new MlflowClient({ trackingUri: mlflowTrackingUri() });
      const model = `cli-serve-${randomBytes(4).toString('hex')}`;
      await client.createRegisteredModel({ name: model });
      const version = await client.createModelVersion({ name: model, source: `s3://bucket/${model}/1` });
      await client.setRegisteredModelAlias(model, 'champion', version.version);

      const secret = randomBytes(16).toString('hex');
      const server = await serveInProcess(ws, [], {
        MLFLOW_TRACKING_URI: mlflowTrackingUri(),
        MLTRACE_MLFLOW_WEBHOOK_SECRET: secret,
      });
      let result: CliResult | undefined;
      try {
        // What MLflow sends when an alias is set (MLflow 3.3+ webhooks), signed with the secret.
        const body = JSON.stringify({
          entity: 'model_version_alias',
          action: 'created',
          timestamp: new Date().toISOString(),
          data: { name: model, alias: 'champion', version: version.version },
        });
        const deliveryId = randomBytes(8).toString('hex');
        const timestamp = String(Math.floor(Date.now() / 1000));
        const signature = createHmac('sha256', secret)
          .update(`${deliveryId}.${timestamp}.${body}`)
          .digest('base64');
        const delivery = await fetch(`${server.url}/api/v1/webhooks/mlflow`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-mlflow-delivery-id': deliveryId,
            'x-mlflow-timestamp': timestamp,
            'x-mlflow-signature': `v1,${signature}`,
          },
          body,
        });
        expect(delivery.status).toBe(200);
        const trace = await until(async () => {
          const answer = await fetch(
            `${server.url}/api/v1/trace?uri=${encodeURIComponent(`models:/${model}@champion`)}`,
            { headers: { authorization: `Bearer ${await readServerToken({ env: ws.env, cwd: ws.cwd })}` } },
          );
          return answer.status === 200
            ? ((await answer.json()) as { runs: Array<{ component: string }> })
            : undefined;
        }, 'the triggered sync to record the alias');
        expect(trace.runs.map((r) => r.component)).toEqual(['promote', 'register']);
      } finally {
        result = await server.stop();
      }
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(
        'MLflow webhooks at /api/v1/webhooks/mlflow sync the model they name\n',
      );
      expect(result.stderr).toContain(
        `mltrace: info: webhook sync of ${model}: mlflow ${mlflowTrackingUri()}: 1 model`,
      );
      expect(result.stdout + result.stderr).not.toContain(secret);
    });
  });
});
