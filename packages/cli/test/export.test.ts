import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { testDatabaseUrl } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

interface Graph {
  runs: Array<{ id: number; runKey: string; component: string; status: string }>;
  dependencies: Array<{ run: number; dependsOn: number }>;
}

/** A graph by run keys, so two stores' graphs compare whatever their ids. */
function byKeys(graph: Graph) {
  const key = new Map(graph.runs.map((r) => [r.id, r.runKey]));
  return {
    runs: graph.runs.map((r) => `${r.runKey} ${r.component} ${r.status}`).sort(),
    dependencies: graph.dependencies.map((d) => `${key.get(d.run)} <- ${key.get(d.dependsOn)}`).sort(),
  };
}

describe('mltrace export, then mltrace import into PostgreSQL', () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  let url: string;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'mltrace-export-'));
    env = { ...process.env, MLTRACE_HOME: join(home, '.mltrace') };
    delete env.MLTRACE_DATABASE_URL;
    url = await testDatabaseUrl();
  }, 180_000);
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  const cli = async (...args: string[]) =>
    (await run(process.execPath, [BIN, ...args], { env, cwd: home })).stdout;

  it('moves the embedded store to PostgreSQL: the same runs and the same lineage', async () => {
    await cli(
      'log',
      'clean',
      '--input',
      'data/raw.csv',
      '--output',
      'data/clean.csv',
      '--run-key',
      'k-clean',
    );
    await cli(
      'log',
      'features',
      '--input',
      'data/clean.csv',
      '--output',
      'data/features.csv',
      '--run-key',
      'k-feat',
    );
    await cli(
      'log',
      'train',
      '--input',
      'data/features.csv',
      '--output',
      'models/m.pkl@v1',
      '--run-key',
      'k-train',
      '--notes',
      'first model',
    );
    await cli(
      'log',
      'train',
      '--input',
      'data/features.csv',
      '--output',
      'models/m.pkl@v2',
      '--status',
      'failed',
      '--run-key',
      'k-train-2',
    );

    await cli('export', 'runs.ndjson');
    const lines = (await readFile(join(home, 'runs.ndjson'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ component: 'clean', runKey: 'k-clean' });

    const imported = JSON.parse(await cli('--db', url, 'import', 'runs.ndjson', '--json')) as {
      imported: number;
    };
    expect(imported.imported).toBe(4);

    for (const pointer of ['models/m.pkl@v1', 'models/m.pkl@v2']) {
      const embedded = JSON.parse(await cli('trace', pointer, '--json')) as Graph;
      const moved = JSON.parse(await cli('--db', url, 'trace', pointer, '--json')) as Graph;
      expect(byKeys(moved)).toEqual(byKeys(embedded));
    }
    const card = JSON.parse(await cli('--db', url, 'inspect', 'k-train', '--json')) as {
      run: { notes: string };
    };
    expect(card.run.notes).toBe('first model');
    // Importing the same file again changes nothing: every run is keyed.
    const again = JSON.parse(await cli('--db', url, 'import', 'runs.ndjson', '--json')) as {
      created: number;
    };
    expect(again.created).toBe(0);
  }, 240_000);
});
