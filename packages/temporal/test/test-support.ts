/**
 * Shared by the plugin's test files (not part of the package): workflow bundles, connections,
 * a TCP proxy that can cut a real PostgreSQL off, and store look-ups.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ComponentRun } from '@mltrace/core';
import type { LineageStore, RunSummary } from '@mltrace/store';
import { temporalAddress } from '@mltrace/test-helpers';
import { Client, Connection } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  type WorkflowBundle,
} from '@temporalio/worker';
import type { MltracePlugin } from '../src/plugin.js';

/** The test workflows module. */
export const workflowsPath = fileURLToPath(new URL('./test-workflows.ts', import.meta.url));

/** Bundles the test workflows with the plugin's workflow interceptors (or with none). */
export async function bundle(plugin?: MltracePlugin): Promise<WorkflowBundle> {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    ...(plugin ? { plugins: [plugin] } : {}),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
  });
  return { code };
}

let runtimeInstalled = false;

/** Installs the Temporal runtime with a warn-level logger (once per test process). */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed by someone else in this process
  }
}

/** A unique name for a task queue or workflow id. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Connections to the run's Temporal server (a worker's and a client's). */
export async function connectTemporal(plugin?: MltracePlugin): Promise<{
  native: NativeConnection;
  client: Client;
  close(): Promise<void>;
}> {
  quietRuntime();
  const address = temporalAddress();
  const native = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default', ...(plugin ? { plugins: [plugin] } : {}) });
  return {
    native,
    client,
    async close() {
      await connection.close();
      await native.close();
    },
  };
}

/** Every run of a workflow in the store (all its runs if `runId` is absent), oldest first. */
export async function runsOfWorkflow(
  store: LineageStore,
  workflowId: string,
  runId?: string,
): Promise<RunSummary[]> {
  const out: RunSummary[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.recent({ limit: 1000, ...(cursor ? { cursor } : {}) });
    out.push(
      ...page.runs.filter(
        (run) =>
          run.workflow.workflowId === workflowId && (runId === undefined || run.workflow.runId === runId),
      ),
    );
    cursor = page.nextCursor;
  } while (cursor);
  return out.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || a.id - b.id);
}

/** One run by key, or undefined. */
export async function runByKey(store: LineageStore, key: string): Promise<ComponentRun | undefined> {
  try {
    return await store.run(key);
  } catch {
    return undefined;
  }
}

/**
 * A TCP proxy in front of a real server: `cut()` closes every connection and refuses new ones
 * (to the client, the server is down); `restore()` accepts again on the same port. This is how
 * the tests take a real PostgreSQL away from the store and give it back.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Starts listening on a free port (or the previous one). */
  async restore(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = tcpConnect(this.targetPort, this.targetHost);
      this.sockets.add(client);
      this.sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address && typeof address === 'object') this.port = address.port;
    this.server = server;
  }

  /** Closes every connection and stops listening. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The URL of `url` through this proxy. */
  through(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }
}

/**
 * Loads a JSON history (as `temporal workflow show -o json` writes it) into a History message.
 *
 * `Worker.runReplayHistories` would do it with `historyFromJSON` from `@temporalio/common`, but in
 * this monorepo npm installs one copy of protobufjs per `@temporalio` package (the root one is
 * 7.x, for grpc), and `historyFromJSON` then fails with "type must be a Type" (its protojson and
 * the History type come from different copies). This uses the copy `@temporalio/proto` uses.
 */
export function historyFromJson(json: unknown): unknown {
  const require = createRequire(import.meta.url);
  const fromProto = createRequire(require.resolve('@temporalio/proto'));
  const proto = fromProto('@temporalio/proto') as object;
  const { patchProtobufRoot } = fromProto('@temporalio/proto/lib/patch-protobuf-root') as {
    patchProtobufRoot(root: object): { lookupType(name: string): unknown };
  };
  const { fromJson } = fromProto('protobufjs/ext/protojson') as {
    fromJson(type: unknown, value: unknown, options: { ignoreUnknownFields: boolean }): unknown;
  };
  return fromJson(patchProtobufRoot(proto).lookupType('temporal.api.history.v1.History'), json, {
    ignoreUnknownFields: true,
  });
}
