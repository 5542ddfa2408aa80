import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type LineageStore, openStore } from '@mltrace/store';
import { repoRoot, testDatabaseUrl } from '@mltrace/test-helpers';
import { afterAll, describe, expect, it } from 'vitest';
import { PYTHON, pythonEnv } from './python-worker.js';

const run = promisify(execFile);
const PACKAGE = join(repoRoot(), 'python', 'mltrace-temporal');
const WRITE = fileURLToPath(new URL('./write_runs.py', import.meta.url));

async function expectChain(store: LineageStore, base: string): Promise<void> {
  const graph = await store.trace({ uri: `file://${base}/model.pkl` });
  expect(graph.runs.map((r) => r.component).sort()).toEqual(['featurize', 'train']);
  expect(graph.dependencies).toHaveLength(1);
  const featurize = graph.runs.find((r) => r.component === 'featurize');
  const detail = await store.run(featurize!.id);
  expect(JSON.stringify(detail)).not.toContain('must-not-be-stored');
}

describe('the Python package', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('passes its own pytest units', async () => {
    const { stdout } = await run(PYTHON, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'tests'], {
      cwd: PACKAGE,
      env: pythonEnv(process.env),
    });
    expect(stdout).toMatch(/\d+ passed/);
    expect(stdout).not.toMatch(/failed|error/);
  });

  it('writes through the store’s own write function on PostgreSQL, and TypeScript traces the chain', async () => {
    const url = await testDatabaseUrl();
    const store = await openStore({ url }); // migrates
    cleanup.push(() => store.close());
    const base = await mkdtemp(join(tmpdir(), 'mltrace-py-'));
    cleanup.push(() => rm(base, { recursive: true, force: true }));
    const { stdout } = await run(PYTHON, [WRITE, base], {
      env: pythonEnv({ ...process.env, MLTRACE_DATABASE_URL: url }),
    });
    expect(stdout.trim()).toBe('2');
    await expectChain(store, base);
  });

  it('writes to the embedded store through the socket its owner serves, and TypeScript traces the chain', async () => {
    const home = await mkdtemp(join(tmpdir(), 'mltrace-py-home-'));
    cleanup.push(() => rm(home, { recursive: true, force: true }));
    // This test process opens the embedded store first: it owns it and serves it on a socket.
    const store = await openStore({ dataDir: join(home, 'lineage') });
    cleanup.push(() => store.close());
    const { MLTRACE_DATABASE_URL: _unused, ...rest } = process.env;
    const env = { ...rest, MLTRACE_HOME: home };
    const { stdout } = await run(PYTHON, [WRITE, home], { env: pythonEnv(env) });
    expect(stdout.trim()).toBe('2');
    await expectChain(store, home);
  });
});
