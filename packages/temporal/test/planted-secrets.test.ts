/**
 * The plugin's records keep no planted secret: short strings under ordinary keys (arguments,
 * results), an error message and a token literal in an activity's source (the code snapshot) go
 * through a real worker with the plugin into PostgreSQL, and every row of every table is searched.
 * The store applies the redaction policy, so this holds whatever the plugin's own sanitizer does.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@mltrace/core';
import { openPostgresStore } from '@mltrace/store/postgres';
import { testDatabaseUrl } from '@mltrace/test-helpers';
import { Worker } from '@temporalio/worker';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMltracePlugin } from '../src/plugin.js';
import * as activities from './test-activities.js';
import { bundle, connectTemporal, runsOfWorkflow, unique } from './test-support.js';

const SECRETS = {
  argNote: 'zzTokArgNote0123456789',
  argUri: 'argUriPass0042',
  code: 'zzTokCodeLiteral0123456789',
  result: 'zzTokResultLiteral0123456789',
  error: 'zzTokError0123456789ab',
};

describe('planted secrets in the plugin records', { timeout: 300_000 }, () => {
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  beforeAll(async () => {
    temporal = await connectTemporal();
  });
  afterAll(async () => {
    await temporal?.close();
  });

  it('stores none of the secrets an activity saw, returned, threw or holds in its source', async () => {
    const url = await testDatabaseUrl();
    const store = await openPostgresStore({ url });
    const lines: string[] = [];
    const log = (level: string) => (message: string, fields?: Record<string, unknown>) =>
      lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
    const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
    const plugin = createMltracePlugin({
      store,
      logger,
      flushIntervalMs: 100,
      spoolDir: await mkdtemp(join(tmpdir(), 'mltrace-spool-')),
    });
    const taskQueue = unique('planted');
    const worker = await Worker.create({
      connection: temporal.native,
      taskQueue,
      workflowBundle: await bundle(plugin),
      activities,
      plugins: [plugin],
    });
    const running = worker.run();
    const workflowId = unique('planted');
    try {
      const handle = await temporal.client.workflow.start('plantedSecrets', {
        taskQueue,
        workflowId,
        args: [
          {
            note: `Authorization: Bearer ${SECRETS.argNote}`,
            endpoint: `https://svc:${SECRETS.argUri}@api.example.com/v1`,
            reason: `upstream said: token=${SECRETS.error}`,
          },
        ],
      });
      expect(await handle.result()).toBe('done');
      await plugin.writer.flush();
    } finally {
      worker.shutdown();
      await running;
      await plugin.close();
    }
    const runs = await runsOfWorkflow(store, workflowId);
    expect(runs.map((r) => r.component)).toEqual(['echo', 'leaky', 'broken']);
    expect((await store.run(runs[1]!.id)).codeSnapshot).toMatch(/API_TOKEN = (["'])\[REDACTED\]\1/);
    await store.close();

    const sql = postgres(url, { max: 1, onnotice: () => {} });
    let dump = '';
    try {
      const tables = await sql<{ name: string }[]>`
        SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name
        FROM information_schema.tables WHERE table_type = 'BASE TABLE'
          AND table_schema NOT IN ('pg_catalog', 'information_schema')`;
      for (const { name } of tables) {
        const rows = await sql.unsafe(`SELECT t::text AS row FROM ${name} t`);
        dump += rows.map((r) => r.row).join('\n');
      }
    } finally {
      await sql.end();
    }
    expect(dump).toContain('leaky');
    const found = (text: string) =>
      Object.entries(SECRETS)
        .filter(([, s]) => text.includes(s))
        .map(([k]) => k);
    expect(found(dump), 'secrets in the database').toEqual([]);
    expect(found(lines.join('\n')), 'secrets in the worker log').toEqual([]);
  });
});
