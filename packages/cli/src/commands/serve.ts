import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError } from '@mltrace/core';
import type { MlflowSyncTrigger } from '@mltrace/mlflow';
import type { ServerOptions } from '@mltrace/server';
import { examples, type Register } from '../command.js';
import { type CommandContext, isDebug, stderrLogger } from '../context.js';
import { collect, nonNegativeInt, positiveInt } from '../options.js';
import { mlflowClient, mlflowConfigured } from '../services.js';

interface ServeCliOptions {
  host: string;
  port: number;
  tokenFile?: string;
  readTokenFile?: string;
  mlflowWebhookSecretFile?: string;
  temporalUi?: string;
  bodyLimit?: number;
  corsOrigin: string[];
  allowedHost: string[];
  publicReads?: boolean;
  maxPageSize?: number;
  maxTraceDepth?: number;
}

/**
 * A secret from a file (`--token-file`) or else the environment, never from a flag value (which
 * `ps` would show). An empty file is an error; an unset variable means none.
 */
async function secret(
  ctx: CommandContext,
  file: string | undefined,
  variable: string,
  flag: string,
): Promise<string | undefined> {
  if (file === undefined) return ctx.io.env[variable]?.trim() || undefined;
  const path = resolve(ctx.io.cwd, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`cannot read ${flag} ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, {
      cause,
      hint: `give a readable file holding the secret, or set ${variable} instead`,
    });
  }
  const value = text.trim();
  if (!value) throw new ConfigError(`${flag} ${path} is empty`);
  return value;
}

async function serveCommand(ctx: CommandContext, options: ServeCliOptions): Promise<number> {
  const given = await secret(ctx, options.tokenFile, 'MLTRACE_SERVER_TOKEN', '--token-file');
  const { loadServerToken } = await import('@mltrace/server');
  // A token by default: the one kept in MLTRACE_HOME (made, mode 0600, on first start).
  const made = given === undefined ? await loadServerToken({ env: ctx.io.env, cwd: ctx.io.cwd }) : undefined;
  const token = given ?? made?.token;
  const readToken = await secret(
    ctx,
    options.readTokenFile,
    'MLTRACE_SERVER_READ_TOKEN',
    '--read-token-file',
  );
  const webhookSecret = await secret(
    ctx,
    options.mlflowWebhookSecretFile,
    'MLTRACE_MLFLOW_WEBHOOK_SECRET',
    '--mlflow-webhook-secret-file',
  );
  const temporalUiUrl = options.temporalUi ?? (ctx.io.env.MLTRACE_TEMPORAL_UI_URL?.trim() || undefined);
  const store = await ctx.store();
  const { createServer } = await import('@mltrace/server');
  // A server's log: its info lines too (requests only at debug, with MLTRACE_DEBUG=1).
  const logger = stderrLogger(ctx.io.stderr, { info: true, debug: isDebug(ctx.io.env) });

  // MLflow webhooks trigger an incremental sync of the model they name (polling stays the source of truth).
  let trigger: MlflowSyncTrigger | undefined;
  if (mlflowConfigured(ctx)) {
    const { createMlflowSyncTrigger, formatSummary } = await import('@mltrace/mlflow');
    trigger = createMlflowSyncTrigger({
      store,
      client: await mlflowClient(ctx),
      env: ctx.io.env,
      cwd: ctx.io.cwd,
      logger,
      onSync: (summary, model) => logger.info(`webhook sync of ${model}: ${formatSummary(summary)}`),
      onSyncError: (error, model) =>
        logger.warn(`webhook sync of ${model} failed (the next sync catches up)`, {
          error: (error as Error).message,
        }),
    });
  }

  const limits = {
    ...(options.maxPageSize !== undefined ? { maxPageSize: options.maxPageSize } : {}),
    ...(options.maxTraceDepth !== undefined ? { maxTraceDepth: options.maxTraceDepth } : {}),
  };
  const serverOptions: ServerOptions = {
    store,
    host: options.host,
    port: options.port,
    logger,
    ...(token !== undefined ? { token } : {}),
    ...(readToken !== undefined ? { readToken } : {}),
    ...(webhookSecret !== undefined ? { mlflowWebhookSecret: webhookSecret } : {}),
    ...(temporalUiUrl !== undefined ? { temporalUiUrl } : {}),
    ...(trigger ? { onMlflowEvent: trigger } : {}),
    ...(options.bodyLimit !== undefined ? { bodyLimitBytes: options.bodyLimit } : {}),
    ...(options.corsOrigin.length > 0 ? { corsOrigins: options.corsOrigin } : {}),
    ...(options.allowedHost.length > 0 ? { allowedHosts: options.allowedHost } : {}),
    ...(options.publicReads ? { publicReads: true } : {}),
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  };
  const signal = ctx.stopSignal();
  const server = await createServer(serverOptions);
  ctx.out(`mltrace server at ${server.url} (web UI ${server.url}/ui/, API ${server.url}/api/v1)`);
  ctx.out(`Open the web UI with this one-time link: ${server.loginUrl()}`);
  if (made) {
    ctx.out(
      `API clients send the token in ${made.file}${made.created ? ' (made now)' : ''} as Authorization: Bearer`,
    );
  }
  if (trigger) ctx.out('MLflow webhooks at /api/v1/webhooks/mlflow sync the model they name');
  ctx.out('Ctrl-C (SIGINT) or SIGTERM stops it');
  if (!signal.aborted) {
    await new Promise<void>((done) => signal.addEventListener('abort', () => done(), { once: true }));
  }
  ctx.err('mltrace: stopping the server');
  await server.close();
  await trigger?.idle();
  ctx.out('mltrace server stopped');
  return 0;
}

/** `mltrace serve`: the HTTP API, OpenLineage ingestion, the MLflow webhook and the web UI. */
export const registerServe: Register = (program, wrap) => {
  program
    .command('serve')
    .description(
      'serve the HTTP API, OpenLineage ingestion, the MLflow webhook, /metrics and the web UI, until SIGINT/SIGTERM',
    )
    .option(
      '--host <address>',
      'the address to listen on (beyond loopback a write token is required)',
      '127.0.0.1',
    )
    .option('--port <port>', 'the port (0: any free one)', nonNegativeInt, 8000)
    .option(
      '--token-file <file>',
      'the bearer token writes and reads need (default: $MLTRACE_SERVER_TOKEN, else $MLTRACE_HOME/server-token, made on first start)',
    )
    .option('--read-token-file <file>', 'the bearer token reads need (default: $MLTRACE_SERVER_READ_TOKEN)')
    .option(
      '--mlflow-webhook-secret-file <file>',
      'the HMAC secret of MLflow webhooks (default: $MLTRACE_MLFLOW_WEBHOOK_SECRET)',
    )
    .option(
      '--temporal-ui <url>',
      "Temporal's web UI, for links from runs (default: $MLTRACE_TEMPORAL_UI_URL, else http://localhost:8233)",
    )
    .option('--body-limit <bytes>', 'the largest request body (default 1048576)', positiveInt)
    .option(
      '--cors-origin <origin>',
      'an origin allowed to call the API from a browser (repeatable)',
      collect,
      [],
    )
    .option(
      '--allowed-host <name>',
      'a host name the server answers to, beyond loopback and its address (repeatable; .example.com for subdomains)',
      collect,
      [],
    )
    .option(
      '--public-reads',
      'let anyone who can reach the server read without a token (writes still need it)',
    )
    .option('--max-page-size <n>', 'the largest page of any list (default 500)', positiveInt)
    .option('--max-trace-depth <n>', 'the deepest trace or impact (default 10000)', positiveInt)
    .addHelpText(
      'after',
      `${examples(
        'mltrace serve',
        'MLTRACE_DATABASE_URL=postgres://mltrace@db:5432/lineage mltrace serve --host 0.0.0.0 --allowed-host lineage.internal --token-file /run/secrets/mltrace-token',
        'MLFLOW_TRACKING_URI=http://mlflow:5000 mltrace serve --mlflow-webhook-secret-file secret.txt',
      )}
Tokens and secrets come from files or the environment, never from a flag value (\`ps\` shows those).
Without one, the token is MLTRACE_HOME/server-token (made with mode 0600 on first start); the web UI
opens through the one-time link printed at start.
With MLFLOW_TRACKING_URI set, each verified MLflow webhook delivery syncs the model it names.
`,
    )
    .action(wrap((ctx, options: ServeCliOptions) => serveCommand(ctx, options)));
};
