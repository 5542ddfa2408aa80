import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openStore } from '@mltrace/store';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeTemplate, type Workspace, workspace } from '../test-cli.js';

const good = (n: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    component: 'score',
    startedAt: `2024-05-01T10:00:0${n}Z`,
    runKey: `score-${n}`,
    inputs: ['model.pkl'],
    outputs: [`predictions-${n}.csv`],
    ...extra,
  });

interface RunsPage {
  runs: Array<{ runKey: string; component: string }>;
}

describe('import FILE (NDJSON)', { timeout: 180_000 }, () => {
  let ws: Workspace;

  beforeEach(async () => {
    ws = await workspace();
  });

  afterEach(async () => {
    await ws.remove();
  });

  afterAll(async () => {
    await removeTemplate();
  });

  it('reports every bad line by number, writes nothing of them, writes every good line, and exits 2', async () => {
    const lines = [
      good(1),
      '{"component": "score", "startedAt": "2024-05-01T10:00:00Z", "outputs": ["x"',
      JSON.stringify({ startedAt: '2024-05-01T10:00:00Z', outputs: ['orphan-a.csv'] }),
      good(2),
      JSON.stringify({ component: 'score', startedAt: 'yesterday', outputs: ['orphan-b.csv'] }),
      '',
      JSON.stringify({
        component: 'score',
        startedAt: '2024-05-01T10:00:00Z',
        status: 'done',
        outputs: ['orphan-c.csv'],
      }),
      // Valid on its own, refused by the store (unknown upstream run): its batch is retried line by line.
      good(3, { dependsOn: ['no-such-run'], outputs: ['orphan-d.csv'] }),
      good(4),
    ];
    await writeFile(join(ws.cwd, 'runs.ndjson'), `${lines.join('\n')}\n`);

    const result = await ws.run(['import', 'runs.ndjson']);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')).toEqual([
      expect.stringMatching(/^line 2: invalid JSON: /),
      'line 3: missing required field "component"',
      'line 5: startedAt "yesterday" is not an ISO 8601 date (e.g. 2024-05-01T10:00:00Z)',
      'line 7: unknown status "done" (use running, pending, succeeded, failed, cancelled)',
      'line 8: dependsOn names runs that do not exist: no-such-run',
      'mltrace: error: 5 bad lines in runs.ndjson not imported (the good lines were)',
      '',
    ]);
    expect(result.stdout).toBe('imported 3 runs (3 new, 0 updated), 5 bad lines\n');

    const page = await ws.json<RunsPage>('recent');
    expect(page.runs.map((run) => run.runKey).sort()).toEqual(['score-1', 'score-2', 'score-4']);
    // Nothing partial: not a pointer, not a run of a bad line.
    const store = await openStore({ env: ws.env, cwd: ws.cwd });
    try {
      for (const orphan of ['orphan-a.csv', 'orphan-b.csv', 'orphan-c.csv', 'orphan-d.csv']) {
        expect(await store.pointers(orphan), orphan).toEqual([]);
      }
      await expect(store.run('score-3')).rejects.toThrow('no run with run key score-3');
      expect((await store.pointers('predictions-4.csv')).length).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('retries a refused batch line by line in batches of --batch-size', async () => {
    const lines = [
      good(1),
      good(2, { dependsOn: ['missing'] }),
      good(3),
      good(4),
      good(5, { dependsOn: ['score-4'] }),
    ];
    await writeFile(join(ws.cwd, 'runs.ndjson'), lines.join('\n'));
    const result = await ws.run(['import', 'runs.ndjson', '--batch-size', '2', '--json']);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual({
      imported: 4,
      created: 4,
      updated: 0,
      badLines: [{ line: 2, error: 'dependsOn names runs that do not exist: missing' }],
    });
    const inspected = await ws.json<{
      run: { dependsOn: number[] };
      dependencies: Array<{ runKey: string }>;
    }>('inspect', 'score-5');
    expect(inspected.dependencies.map((dep) => dep.runKey)).toEqual(['score-4']);
  });

  it('reads standard input with -, links runs through their I/O, and a second import adds nothing new', async () => {
    const input = [
      JSON.stringify({
        component: 'clean',
        startedAt: '2024-05-01T09:00:00Z',
        inputs: ['raw.csv'],
        outputs: ['clean.csv'],
      }),
      JSON.stringify({
        component: 'train',
        startedAt: '2024-05-01T10:00:00Z',
        inputs: ['clean.csv'],
        outputs: [{ uri: 'model.pkl', version: 'v1' }],
      }),
    ].join('\n');
    const first = await ws.run(['import', '-'], { stdin: input });
    expect(first).toEqual({
      code: 0,
      stdout: 'imported 2 runs (2 new, 0 updated), 0 bad lines\n',
      stderr: '',
    });
    const again = await ws.run(['import', '-'], { stdin: input });
    expect(again.stdout).toBe('imported 2 runs (0 new, 2 updated), 0 bad lines\n');
    expect((await ws.json<RunsPage>('recent')).runs).toHaveLength(2);
    const trace = await ws.ok('trace', 'model.pkl@v1');
    expect(trace).toContain('trace of model.pkl@v1: 2 runs');
    expect(trace).toMatch(/└─ clean {2}run 1 /);
  });

  it('says a missing file does not exist, and exits 3', async () => {
    const result = await ws.run(['import', 'nope.ndjson']);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe('mltrace: error: no such file: nope.ndjson\n');
  });

  it('asks for a file or --from-mltrace, not both nor neither', async () => {
    const neither = await ws.run(['import']);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('mltrace: error: give the NDJSON file to import');
    const both = await ws.run(['import', 'x.ndjson', '--from-mltrace', 'postgresql://u@h/db']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('mltrace: error: give a FILE or --from-mltrace URL, not both');
  });
});
