/**
 * No planted secret survives anywhere: known secrets are planted in every source the CLI and the
 * server take lineage from (an MLflow run and model version logged with the real MLflow Python
 * client, a DVC repository's remote URL and params with real dvc, OpenLineage events, an NDJSON
 * import, `mltrace log`), every sync and ingest runs into one PostgreSQL store, and then the whole
 * database (every row of every table, as text: this machine's pg_dump 15 cannot dump the
 * embedded PostgreSQL 17), the server's log and every command's output are searched: zero hits.
 * The redaction is the driver-agnostic store's, so PGlite stores the same rows. The plugin's records are covered by
 * packages/temporal/test/planted-secrets.test.ts.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '@mltrace/core';
import { createServer } from '@mltrace/server';
import { openPostgresStore } from '@mltrace/store/postgres';
import {
  createDvcWorkspace,
  type DvcWorkspace,
  mlflowTrackingUri,
  repoRoot,
  testDatabaseUrl,
} from '@mltrace/test-helpers';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTemplate, type Workspace, workspace } from './test-cli.js';

const run = promisify(execFile);

/** Every planted secret, by where it was planted. */
const SECRETS = {
  mlflowParam: 'hunter2-secret-value',
  mlflowUriKey: 'AKIAEXAMPLE',
  mlflowUriSecret: 'supersecretkey',
  mlflowTag: 'mlflowTagSecret0123',
  mlflowRunName: 'zzTokRunName0123456789',
  mlflowVersionTag: 'mlflowVersionSecret77',
  dvcRemotePassword: 'dvcRemotePass0042',
  dvcParam: 'dvcParamSecret0042',
  olFacet: 'olFacetSecret0042',
  olDatasetPassword: 'olDatasetPass0042',
  olCode: 'olCodeLiteral0042',
  olError: 'zzTokOlError0123456789',
  importMeta: 'importMetaSecret0042',
  importUri: 'importUriPass0042',
  importNote: 'zzTokImportNote0123456',
  logNotes: 'zzTokLogNotes01234567',
  logUri: 'logUriPass0042',
};

function grep(text: string): string[] {
  return Object.entries(SECRETS)
    .filter(([, secret]) => text.includes(secret))
    .map(([where]) => where);
}

describe('planted secrets', { timeout: 600_000 }, () => {
  let ws: Workspace;
  let repo: DvcWorkspace;
  let url: string;
  let env: Record<string, string>;
  const outputs: string[] = [];
  const logLines: string[] = [];
  const model = `secrets-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    ws = await workspace();
    url = await testDatabaseUrl();
    env = { MLTRACE_DATABASE_URL: url, MLFLOW_TRACKING_URI: mlflowTrackingUri() };
    repo = await createDvcWorkspace({ remote: false });
  });
  afterAll(async () => {
    await repo?.cleanup();
    await ws?.remove();
    await removeTemplate();
  });

  const cli = async (...args: string[]) => {
    const result = await ws.run(args, { env });
    outputs.push(result.stdout, result.stderr);
    expect(result.code, `mltrace ${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result;
  };

  it('plants secrets in every source, syncs and ingests them all, and none reaches the database or a log', async () => {
    // MLflow, through the real Python client.
    const script = `
import mlflow, sys
from mlflow import MlflowClient
mlflow.set_tracking_uri(sys.argv[1])
model = sys.argv[2]
mlflow.set_experiment(model + "-experiment")
with mlflow.start_run(run_name="train Authorization: Bearer ${SECRETS.mlflowRunName}") as run:
    mlflow.log_param("db_password", "${SECRETS.mlflowParam}")
    mlflow.log_param("s3_uri", "s3://${SECRETS.mlflowUriKey}:${SECRETS.mlflowUriSecret}@bucket/x")
    mlflow.set_tag("api_token", "${SECRETS.mlflowTag}")
client = MlflowClient()
client.create_registered_model(model)
version = client.create_model_version(model, "s3://${SECRETS.mlflowUriKey}:${SECRETS.mlflowUriSecret}@bucket/models/1", run_id=run.info.run_id, tags={"deploy_token": "${SECRETS.mlflowVersionTag}"})
client.set_registered_model_alias(model, "champion", version.version)
`;
    const python = join(repoRoot(), '.tools', 'venv', 'bin', 'python');
    await run(python, ['-c', script, mlflowTrackingUri(), model], {
      env: { ...process.env, GIT_PYTHON_REFRESH: 'quiet' },
    });
    await cli('sync', 'mlflow', '--model', model);

    // DVC, with real dvc: a remote URL with a password, and a secret among a stage's params.
    await repo.dvc(
      'remote',
      'add',
      '-d',
      'origin',
      `https://ci:${SECRETS.dvcRemotePassword}@dvc.example.com/store`,
    );
    await repo.writeFile('data/raw.csv', 'id,tip\n1,0.5\n');
    await repo.dvc('add', 'data/raw.csv');
    await repo.writeFile('params.yaml', `db_password: ${SECRETS.dvcParam}\nlr: 0.1\n`);
    await repo.dvc(
      'stage',
      'add',
      '-n',
      'train',
      '-p',
      'db_password,lr',
      '-d',
      'data/raw.csv',
      '-o',
      'model.pkl',
      'cp data/raw.csv model.pkl',
    );
    await repo.dvc('repro');
    await repo.commit('data, params and a stage');
    await cli('sync', 'dvc', repo.dir);

    // OpenLineage, through the server.
    const store = await openPostgresStore({ url });
    const record = (level: string) => (message: string, fields?: Record<string, unknown>) =>
      logLines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
    const logger: Logger = {
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
    };
    const token = randomBytes(24).toString('hex');
    const server = await createServer({ store, port: 0, token, logger });
    try {
      for (const eventType of ['START', 'FAIL']) {
        const answer = await fetch(`${server.url}/api/v1/lineage`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({
            eventType,
            eventTime: '2026-03-02T10:00:00Z',
            run: {
              runId: '0190b1c2-0000-7000-8000-00000000beef',
              facets: {
                errorMessage: {
                  _producer: 'https://example.com',
                  _schemaURL: 'https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json',
                  message: `upstream refused Authorization: Bearer ${SECRETS.olError}`,
                  programmingLanguage: 'python',
                },
                custom: {
                  _producer: 'https://example.com',
                  _schemaURL: 'https://example.com/custom.json',
                  password: SECRETS.olFacet,
                },
              },
            },
            job: {
              namespace: 'etl',
              name: 'load',
              facets: {
                sourceCode: {
                  _producer: 'https://example.com',
                  _schemaURL: 'https://openlineage.io/spec/facets/1-0-1/SourceCodeJobFacet.json',
                  language: 'python',
                  sourceCode: `API_KEY = "${SECRETS.olCode}"\nload()`,
                },
              },
            },
            inputs: [
              {
                namespace: `postgres://etl:${SECRETS.olDatasetPassword}@db:5432`,
                name: 'shop.public.orders',
              },
            ],
            outputs: [{ namespace: 's3://lake', name: 'orders.parquet' }],
            producer: 'https://example.com/producer',
            schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent',
          }),
        });
        expect(answer.status, await answer.clone().text()).toBe(201);
      }
    } finally {
      await server.close();
      await store.close();
    }

    // An NDJSON import and `mltrace log`.
    await writeFile(
      join(ws.cwd, 'runs.ndjson'),
      `${JSON.stringify({
        component: 'score',
        startedAt: '2026-03-02T11:00:00Z',
        inputs: [`https://reader:${SECRETS.importUri}@files.example.com/in.csv`],
        outputs: ['s3://lake/scores.parquet'],
        notes: `called with Bearer ${SECRETS.importNote}`,
        metadata: { config: { secret_key: SECRETS.importMeta, rows: 10 } },
      })}\n`,
    );
    await cli('import', 'runs.ndjson');
    await cli(
      'log',
      'report',
      '--input',
      `https://u:${SECRETS.logUri}@files.example.com/scores.csv`,
      '--output',
      's3://lake/report.html',
      '--notes',
      `token header was Authorization: Bearer ${SECRETS.logNotes}`,
    );

    // What was written is still lineage: the synced and ingested runs are there, by clean names.
    const trace = await cli('trace', `models:/${model}@champion`, '--json');
    expect(trace.stdout).toMatch(/"component":\s*"register"/);
    const orders = await cli('trace', 's3://lake/orders.parquet', '--json');
    expect(orders.stdout).toContain('postgres://db:5432/shop.public.orders');
    const report = await cli('trace', 's3://lake/report.html', '--json');
    expect(report.stdout).toContain('https://files.example.com/scores.csv');

    // The whole database, every row of every table.
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    let dump = '';
    try {
      const tables = await sql<{ name: string }[]>`
        SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name
        FROM information_schema.tables WHERE table_type = 'BASE TABLE'
          AND table_schema NOT IN ('pg_catalog', 'information_schema')`;
      expect(tables.map((t) => t.name)).toContain('public.component_runs');
      for (const { name } of tables) {
        const rows = await sql.unsafe(`SELECT t::text AS row FROM ${name} t`);
        dump += rows.map((r) => r.row).join('\n');
      }
    } finally {
      await sql.end();
    }
    expect(grep(dump), 'secrets in the database').toEqual([]);
    expect(grep(logLines.join('\n')), 'secrets in the server log').toEqual([]);
    expect(grep(outputs.join('\n')), 'secrets in the CLI output').toEqual([]);
    // The dump is the real one: the runs are there, with the redaction marks.
    expect(dump).toContain('register');
    expect(dump).toContain('[REDACTED]');
  });
});
