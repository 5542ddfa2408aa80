import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { repoRoot, testDatabaseUrl } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dependencyOrder, parseMltraceUrl } from '../../src/commands/mltrace-import.js';
import { removeTemplate, type Workspace, workspace } from '../test-cli.js';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../fixtures/mltrace_pipeline.py', import.meta.url));

/** mltrace 0.17's Python, from `bash scripts/setup.sh`. */
function mltracePython(): string {
  const python = join(
    process.env.MLTRACE_TOOLS_DIR || join(repoRoot(), '.tools'),
    'mltrace-venv',
    'bin',
    'python',
  );
  if (!existsSync(python))
    throw new Error(`${python} is missing: run \`bash scripts/setup.sh\` (it installs mltrace 0.17)`);
  return python;
}

async function mltrace<T>(...args: string[]): Promise<T> {
  const { stdout } = await run(mltracePython(), [SCRIPT, ...args], {
    env: { ...process.env, GIT_PYTHON_REFRESH: 'quiet' },
    timeout: 120_000,
  });
  return JSON.parse(stdout) as T;
}

interface GraphJson {
  runs: Array<{
    id: number;
    runKey: string;
    component: string;
    depth: number;
    dependsOn: number[];
    source: string;
  }>;
}

describe('dependencyOrder', () => {
  it('puts every run after the runs it depends on, by id otherwise, and survives a cycle', () => {
    const deps = new Map([
      [2, [5]],
      [3, [1, 2]],
      [6, [7]],
      [7, [6]],
    ]);
    expect(dependencyOrder([7, 6, 5, 4, 3, 2, 1], deps)).toEqual([1, 5, 2, 3, 4, 7, 6]);
  });

  it('names the source database by host, port and database, without the password', () => {
    expect(parseMltraceUrl('postgresql+psycopg2://admin:secret@db.local/sqlalchemy')).toEqual({
      url: 'postgresql://admin:secret@db.local/sqlalchemy',
      database: 'db.local:5432/sqlalchemy',
    });
  });
});

describe('import --from-mltrace (a real mltrace 0.17 database on PostgreSQL)', { timeout: 240_000 }, () => {
  let ws: Workspace;
  let url: string;
  let database: string;
  let ids: Record<'clean' | 'featuregen' | 'train' | 'clean_again' | 'predict', number>;
  const key = (id: number) => `mltrace:${database}/${id}`;

  beforeAll(async () => {
    url = await testDatabaseUrl();
    database = parseMltraceUrl(url).database;
    ids = await mltrace('create', url);
    ws = await workspace();
  });

  afterAll(async () => {
    await ws?.remove();
    await removeTemplate();
  });

  it("copies the runs, components, tags and flag, and never prints the URL's password", async () => {
    const password = new URL(url).password;
    const result = await ws.run(['import', '--from-mltrace', url]);
    expect(result).toEqual({
      code: 0,
      stdout: `copied 5 runs from mltrace ${database} (5 new, 0 updated), 4 components, 1 flagged pointer\n`,
      stderr: '',
    });
    if (password) expect(result.stdout + result.stderr).not.toContain(password);
    expect(await ws.json('components', '--owner', 'alice')).toEqual({
      components: [
        { name: 'clean', description: 'drops bad rows', owner: 'alice', tags: ['etl'] },
        { name: 'featuregen', description: 'builds features', owner: 'alice', tags: ['etl', 'features'] },
      ],
    });
  });

  it("traces a copied output to the same runs, at the same depths, as mltrace's own trace", async () => {
    const theirs = await mltrace<Array<[number, number]>>('trace', url, 'predictions.csv');
    const ours = await ws.json<GraphJson>('trace', 'predictions.csv');
    expect(ours.runs.map((r) => [r.depth, r.runKey]).sort()).toEqual(
      theirs.map(([depth, id]) => [depth, key(id)]).sort(),
    );
    // The frozen edges were copied, not re-inferred: featuregen keeps the first clean run.
    const byKey = new Map(ours.runs.map((r) => [r.runKey, r]));
    const idOf = (mltraceId: number) => byKey.get(key(mltraceId))?.id;
    expect(byKey.get(key(ids.featuregen))?.dependsOn).toEqual([idOf(ids.clean)]);
    expect(byKey.get(key(ids.predict))?.dependsOn.sort()).toEqual(
      [idOf(ids.train), idOf(ids.clean_again)].sort(),
    );
    expect(ours.runs.every((r) => r.source === 'mltrace')).toBe(true);

    const text = await ws.ok('trace', 'predictions.csv');
    expect(text).toMatch(/^trace of predictions\.csv: 5 runs\n\npredict {2}run \d+ {2}succeeded /);
    expect(text).toContain('├─ predictions.csv  [data]  ⚑ flagged');
  });

  it('keeps git commit, notes, UTF-8 code, times and hashed pointer versions', async () => {
    const card = await ws.json<{
      run: Record<string, unknown> & { outputs: Array<{ version: string; type: string }> };
    }>('inspect', key(ids.train), '--code');
    expect(card.run).toMatchObject({
      component: 'train',
      source: 'mltrace',
      status: 'succeeded',
      gitCommit: '4be5f2e',
      notes: 'trained on May data',
      codeSnapshot: "def train(df):\n    return 'modèle'\n",
      metadata: { mltrace: { database, runId: ids.train } },
    });
    expect(card.run.outputs).toEqual([
      expect.objectContaining({ version: expect.stringMatching(/^[0-9a-f]{64}$/), type: 'model' }),
    ]);
    expect(Date.parse(card.run.endedAt as string)).toBeGreaterThanOrEqual(
      Date.parse(card.run.startedAt as string),
    );
  });

  it('reviews the flagged output it copied', async () => {
    const review = await ws.json<{
      flagged: Array<{ uri: string }>;
      suspects: Array<{ run: { runKey: string } }>;
    }>('review');
    expect(review.flagged.map((p) => p.uri)).toEqual([`file://${ws.cwd}/predictions.csv`]);
    expect(review.suspects[0]?.run.runKey).toBe(key(ids.predict));
  });

  it('writes nothing new on a second import', async () => {
    const before = await ws.json<{ runs: unknown[] }>('recent');
    const again = await ws.run(['import', '--from-mltrace', url, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      database,
      components: 4,
      imported: 5,
      created: 0,
      updated: 5,
      flagged: 0, // flagged on the first import already
      skipped: [],
    });
    expect(await ws.json('recent')).toEqual(before);
  });

  it('says a database without mltrace tables is not an mltrace database, and exits 3', async () => {
    const empty = await testDatabaseUrl();
    const result = await ws.run(['import', '--from-mltrace', empty]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(
      /^mltrace: error: .+ is not an mltrace database: no components, component_runs/,
    );
    const password = new URL(empty).password;
    if (password) expect(result.stderr).not.toContain(password);
  });

  it('says an unreachable mltrace database is unavailable, and exits 4', async () => {
    const result = await ws.run([
      'import',
      '--from-mltrace',
      'postgresql://admin:hunter2@nohost.invalid:5432/sqlalchemy',
    ]);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(
      /^mltrace: error: cannot read the mltrace database postgresql:\/\/admin:\*\*\*@nohost\.invalid:5432\/sqlalchemy: /,
    );
    expect(result.stderr).not.toContain('hunter2');
  });
});
