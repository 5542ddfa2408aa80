import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  freePort,
  type ManagedProcess,
  makeTempDir,
  removeDir,
  ServiceStartError,
  startManagedProcess,
} from './process.js';
import { toolPath } from './tools.js';

const SERVICE = 'MLflow server';

/** Options of {@link startMlflowServer}. */
export interface StartMlflowOptions {
  /** Readiness deadline in milliseconds (the first start runs the SQLite migrations). @default 120000 */
  timeoutMs?: number;
  /**
   * Run MLflow's job runner (7 extra huey processes; only needed for MLflow "jobs", not for the
   * registry or webhooks). @default false
   */
  jobs?: boolean;
  /** Extra arguments appended to `mlflow server`. @default [] */
  extraArgs?: readonly string[];
  /**
   * Run MLflow's real basic-auth app (`--app-name basic-auth`) with this admin; every other
   * user gets READ by default. Always starts a server of its own (never the external one).
   * @default off
   */
  basicAuth?: { adminUsername: string; adminPassword: string };
  /**
   * Always start a server of its own, never the external one: for a test that stops and resumes
   * it (`pause`/`resume`). @default false
   */
  dedicated?: boolean;
  /** Environment: `MLFLOW_TRACKING_URI` selects an external server, `MLTRACE_TOOLS_DIR` the tools. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** A running (or external) MLflow tracking server. */
export interface MlflowServer {
  /** Base URL, e.g. `http://127.0.0.1:5123`; REST paths are under `/api/2.0/mlflow/`. */
  trackingUri: string;
  /** True when `MLFLOW_TRACKING_URI` pointed at a server we did not start. */
  external: boolean;
  /** The server's log file (undefined when external). */
  logFile: string | undefined;
  /** Stops the server (its whole process group) and removes its temp dir; no-op when external. Idempotent. */
  stop(): Promise<void>;
  /** Stops the process but keeps its port and data, for a test of an outage. Refused when external. */
  pause(): Promise<void>;
  /** Starts a paused server again, on the same port with the same data. */
  resume(): Promise<void>;
}

/** A Fernet key: 32 random bytes, URL-safe base64 with padding (44 characters). */
export function fernetKey(): string {
  return randomBytes(32).toString('base64').replaceAll('+', '-').replaceAll('/', '_');
}

async function isHealthy(trackingUri: string): Promise<boolean> {
  const response = await fetch(`${trackingUri}/health`, { signal: AbortSignal.timeout(2000) });
  const body = await response.text();
  if (response.ok && body.trim() === 'OK') return true;
  throw new Error(`GET /health answered ${response.status}: ${body.slice(0, 200)}`);
}

/**
 * Starts `mlflow server` on a free port of 127.0.0.1 with a SQLite backend and local artifacts in a
 * temp dir, one worker, and webhooks enabled for tests (a fresh Fernet secret key, `http` URLs and
 * private addresses allowed, a 1 s webhook cache); resolves when `GET /health` answers `OK`. With
 * `MLFLOW_TRACKING_URI` set it starts nothing and checks that server instead.
 *
 * @throws {ServiceStartError} naming the log file, when the server exits or is not ready in time
 */
export async function startMlflowServer(options: StartMlflowOptions = {}): Promise<MlflowServer> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? 120_000;

  const external = options.basicAuth || options.dedicated ? undefined : env.MLFLOW_TRACKING_URI;
  if (external) {
    const trackingUri = external.replace(/\/+$/, '');
    try {
      await isHealthy(trackingUri);
    } catch (error) {
      throw new ServiceStartError(
        `${SERVICE}: the external server MLFLOW_TRACKING_URI=${trackingUri} did not answer GET /health: ` +
          `${(error as Error).message}. Unset MLFLOW_TRACKING_URI to let the tests start their own.`,
        { service: SERVICE, cause: error },
      );
    }
    const refuse = async () => {
      throw new Error(`${SERVICE}: cannot pause or resume the external server ${trackingUri}`);
    };
    return {
      trackingUri,
      external: true,
      logFile: undefined,
      stop: async () => {},
      pause: refuse,
      resume: refuse,
    };
  }

  const mlflow = toolPath('mlflow', env);
  const port = await freePort();
  const dir = await makeTempDir('mlflow');
  const trackingUri = `http://127.0.0.1:${port}`;
  const auth = options.basicAuth;
  if (auth) {
    await writeFile(
      join(dir, 'basic_auth.ini'),
      [
        '[mlflow]',
        'default_permission = READ',
        `database_uri = sqlite:///${join(dir, 'basic_auth.db')}`,
        `admin_username = ${auth.adminUsername}`,
        `admin_password = ${auth.adminPassword}`,
        'authorization_function = mlflow.server.auth:authenticate_request_basic_auth',
        '',
      ].join('\n'),
    );
  }
  // Fixed for the server's life: a resumed server must still decrypt its webhooks' secrets.
  const webhookKey = fernetKey();
  const flaskKey = randomBytes(16).toString('hex');
  const launch = async (): Promise<ManagedProcess> => {
    const proc = await startManagedProcess({
      name: SERVICE,
      command: mlflow,
      args: [
        'server',
        '--backend-store-uri',
        `sqlite:///${join(dir, 'mlflow.db')}`,
        '--artifacts-destination',
        join(dir, 'artifacts'),
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--workers',
        '1',
        ...(auth ? ['--app-name', 'basic-auth'] : []),
        ...(options.extraArgs ?? []),
      ],
      env: {
        ...env,
        PYTHONUNBUFFERED: '1',
        MLFLOW_DISABLE_TELEMETRY: 'true',
        DO_NOT_TRACK: 'true',
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION: options.jobs ? 'true' : 'false',
        MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY: webhookKey,
        // The Python constant is `_MLFLOW_WEBHOOK_ALLOWED_SCHEMES`; the variable it reads has no underscore.
        MLFLOW_WEBHOOK_ALLOWED_SCHEMES: 'http,https',
        // Test receivers listen on 127.0.0.1, which the webhook SSRF guard refuses by default.
        MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS: 'true',
        MLFLOW_WEBHOOK_CACHE_TTL: '1',
        ...(auth
          ? {
              MLFLOW_AUTH_CONFIG_PATH: join(dir, 'basic_auth.ini'),
              // The auth app's CSRF protection needs a fixed key.
              MLFLOW_FLASK_SERVER_SECRET_KEY: flaskKey,
            }
          : {}),
      },
      dir,
      removeDirOnExit: true,
    });
    try {
      await proc.waitUntil(() => isHealthy(trackingUri), {
        timeoutMs,
        what: `GET ${trackingUri}/health to answer OK`,
        intervalMs: 300,
      });
    } catch (error) {
      await proc.stop();
      throw error;
    }
    return proc;
  };
  let proc: ManagedProcess | undefined = await launch();
  const logFile = proc.logFile;
  return {
    trackingUri,
    external: false,
    logFile,
    async stop() {
      await proc?.stop();
      proc = undefined;
      await removeDir(dir);
    },
    async pause() {
      await proc?.stop();
      proc = undefined;
    },
    async resume() {
      proc ??= await launch();
    },
  };
}
