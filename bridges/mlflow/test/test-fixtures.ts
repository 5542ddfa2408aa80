/**
 * Test fixtures (not built): MLflow models, versions and runs created through the real server's
 * REST API, and a small HTTP proxy that injects the faults a real server cannot be made to produce
 * on demand (a slow answer, a dropped connection, an auth app's 401).
 */
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MlflowClient } from '../src/client.js';
import type { ModelVersion } from '../src/types.js';

/** A name no other test uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A dataset a fixture run logs. */
export interface FixtureDataset {
  name: string;
  digest: string;
  /** The dataset source's location (`{"uri": ...}`). */
  uri: string;
  sourceType?: string;
  context?: string;
}

/** An experiment per test file. */
export async function createExperiment(client: MlflowClient, prefix = 'exp'): Promise<string> {
  return client.createExperiment(uniqueName(prefix));
}

/** A finished training run that logged datasets, params, a metric and a git commit. */
export async function createTrainingRun(
  client: MlflowClient,
  experimentId: string,
  options: { datasets?: FixtureDataset[]; gitCommit?: string; runName?: string } = {},
): Promise<string> {
  const run = await client.createRun({
    experimentId,
    runName: options.runName ?? uniqueName('train'),
    tags: { 'mlflow.source.git.commit': options.gitCommit ?? 'a1b2c3d', 'mlflow.user': 'tester' },
  });
  const runId = run.info.runId;
  await client.logBatch({ runId, params: { alpha: '0.5' }, metrics: { rmse: 0.25 } });
  if (options.datasets?.length) {
    await client.logInputs(
      runId,
      options.datasets.map((d) => ({
        dataset: {
          name: d.name,
          digest: d.digest,
          sourceType: d.sourceType ?? 'local',
          source: JSON.stringify({ uri: d.uri }),
        },
        tags: { 'mlflow.data.context': d.context ?? 'training' },
      })),
    );
  }
  await client.updateRun({ runId, status: 'FINISHED', endTime: Date.now() });
  return runId;
}

/** A registered version from a run (a non-local source avoids MLflow's local-path check). */
export async function registerVersion(
  client: MlflowClient,
  name: string,
  runId: string,
): Promise<ModelVersion> {
  return client.createModelVersion({ name, source: `s3://bucket/models/${name}/${runId}`, runId });
}

/**
 * An MLflow 3 LoggedModel logged by a run, through the server's REST API (`POST logged-models`,
 * then `PATCH` to READY), as `mlflow.<flavor>.log_model` does; returns its id (`m-...`).
 */
export async function createLoggedModel(
  trackingUri: string,
  options: { experimentId: string; runId: string; name?: string; params?: Record<string, string> },
): Promise<string> {
  const api = `${trackingUri}/api/2.0/mlflow/logged-models`;
  const created = await fetch(api, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      experiment_id: options.experimentId,
      name: options.name ?? 'model',
      source_run_id: options.runId,
      params: Object.entries(options.params ?? {}).map(([key, value]) => ({ key, value })),
    }),
  });
  if (!created.ok) throw new Error(`creating a LoggedModel: ${created.status} ${await created.text()}`);
  const id = ((await created.json()) as { model: { info: { model_id: string } } }).model.info.model_id;
  const ready = await fetch(`${api}/${id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model_id: id, status: 'LOGGED_MODEL_READY' }),
  });
  if (!ready.ok) throw new Error(`finalizing LoggedModel ${id}: ${ready.status} ${await ready.text()}`);
  return id;
}

/** What the proxy does with one request. */
export type FaultAction =
  | { kind: 'forward'; delayMs?: number }
  /** Close the client's connection without answering. */
  | { kind: 'drop' }
  /** Forward to the server, then close the client's connection instead of passing the answer on. */
  | { kind: 'drop-after-forward' }
  | { kind: 'answer'; status: number; body: string; headers?: Record<string, string> };

/** A proxy in front of a real MLflow server. */
export interface FaultProxy {
  url: string;
  /** Requests seen, as `METHOD path`. */
  seen: string[];
  /** Decides per request (default: forward). */
  setRule(rule: (request: IncomingMessage) => FaultAction): void;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 that forwards to `target` unless its rule injects a fault. */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  let rule: (request: IncomingMessage) => FaultAction = () => ({ kind: 'forward' });
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const action = rule(req);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (action.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      if (action.kind === 'answer') {
        res.writeHead(action.status, { 'content-type': 'text/plain', ...action.headers });
        res.end(action.body);
        return;
      }
      const forward = () => {
        const upstream = httpRequest(
          {
            host: targetUrl.hostname,
            port: targetUrl.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: targetUrl.host },
          },
          (up) => {
            const body: Buffer[] = [];
            up.on('data', (c: Buffer) => body.push(c));
            up.on('end', () => {
              if (action.kind === 'drop-after-forward') {
                req.socket.destroy();
                return;
              }
              if (res.destroyed) return;
              res.writeHead(up.statusCode ?? 502, up.headers);
              res.end(Buffer.concat(body));
            });
          },
        );
        upstream.on('error', () => req.socket.destroy());
        upstream.end(Buffer.concat(chunks));
      };
      if (action.kind === 'forward' && action.delayMs) setTimeout(forward, action.delayMs);
      else forward();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    setRule(next) {
      rule = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
