import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { repoRoot } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type MltraceServer } from '../src/server.js';

const run = promisify(execFile);
const TOKEN = 'python-client-token-0123456789';
const tools = fileURLToPath(new URL('../tools/', import.meta.url));

/** The official OpenLineage Python client, in the pinned venv scripts/setup.sh makes. */
function openLineagePython(): string {
  const python = join(
    process.env.MLTRACE_TOOLS_DIR || join(repoRoot(), '.tools'),
    'openlineage-venv',
    'bin',
    'python',
  );
  if (!existsSync(python)) throw new Error(`${python} is missing: run bash scripts/setup.sh`);
  return python;
}

describe('the official OpenLineage Python client', () => {
  let python: string;
  let store: LineageStore;
  let server: MltraceServer;

  beforeAll(async () => {
    python = openLineagePython();
    store = await openPgliteStore({ dataDir: 'memory://' });
    server = await createServer({ store, port: 0, token: TOKEN });
  });
  afterAll(async () => {
    await server?.close();
    await store?.close();
  });

  it('logs a run with START and COMPLETE, whose datasets then appear in its trace', async () => {
    const runId = randomUUID();
    const { stdout } = await run(python, [join(tools, 'openlineage_emit.py'), server.url, TOKEN, runId]);
    expect(stdout).toContain('sent');

    const stored = await store.run(`openlineage:scripts/score_customers/${runId}`);
    expect(stored).toMatchObject({
      component: 'scripts/score_customers',
      source: 'openlineage',
      status: 'succeeded',
      workflow: {
        namespace: 'scripts',
        workflowId: 'nightly',
        runId: '0190b1c2-3d4e-7f00-8a00-000000000099',
      },
    });
    expect(stored.endedAt).not.toBeNull();
    expect(String(stored.metadata['openlineage.producer'])).toMatch(/openlineage/i);

    const graph = await store.trace({
      uri: 's3://predictions/scores/2026-03-01.parquet',
      version: 'etag-abc',
    });
    expect(graph.runs.map((r) => r.component)).toEqual(['scripts/score_customers']);
    expect(graph.pointers.map((p) => p.uri).sort()).toEqual([
      'file:///data/customers.parquet',
      's3://predictions/scores/2026-03-01.parquet',
    ]);
  });

  it('is refused with a wrong token, and nothing is written', async () => {
    const runId = randomUUID();
    await expect(
      run(python, [join(tools, 'openlineage_emit.py'), server.url, 'wrong-token-0123456789', runId]),
    ).rejects.toThrow(/401/);
    await expect(store.run(`openlineage:scripts/score_customers/${runId}`)).rejects.toThrow(/no run/);
  });
});
