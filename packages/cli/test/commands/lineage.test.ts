import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTemplate, type Workspace, workspace } from '../test-cli.js';

const STALE = '⚠ clean (run 1) has 1 fresher run(s) that began before this component run started.';

describe('trace and impact', { timeout: 180_000 }, () => {
  let ws: Workspace;

  beforeAll(async () => {
    ws = await workspace();
    // clean -> featuregen -> train, train also reading clean's output; a second clean run in
    // between re-makes clean.csv, which both still read at its first version: stale.
    await ws.ok(
      'log',
      'clean',
      '-i',
      'raw.csv',
      '-o',
      'clean.csv@a1',
      '--start',
      '2024-05-01T10:00:00Z',
      '--end',
      '2024-05-01T10:01:30Z',
    );
    await ws.ok(
      'log',
      'clean',
      '-i',
      'raw2.csv',
      '-o',
      'clean.csv@b2',
      '--start',
      '2024-05-01T10:01:00Z',
      '--end',
      '2024-05-01T10:01:10Z',
    );
    await ws.ok(
      'log',
      'featuregen',
      '-i',
      'clean.csv@a1',
      '-o',
      'features.csv',
      '--start',
      '2024-05-01T10:02:00Z',
      '--end',
      '2024-05-01T10:03:00Z',
    );
    await ws.ok(
      'log',
      'train',
      '-i',
      'features.csv',
      '-i',
      'clean.csv@a1',
      '-o',
      'model.pkl@v1',
      '-o',
      'metrics.json',
      '--start',
      '2024-05-01T10:04:00Z',
      '--end',
      '2024-05-01T10:10:00Z',
      '--git-commit',
      'abc123',
    );
  });

  afterAll(async () => {
    await ws.remove();
    await removeTemplate();
  });

  it('prints the run that produced a pointer and everything upstream as a tree, each run once', async () => {
    const out = await ws.ok('trace', 'model.pkl');
    expect(out.split('\n')).toEqual([
      'trace of model.pkl@v1: 3 runs',
      '',
      'train  run 4  succeeded  2024-05-01T10:04:00Z  6m 00s',
      `│  ${STALE}`,
      '├─ metrics.json  [metric]',
      '├─ model.pkl@v1  [model]',
      '├─ featuregen  run 3  succeeded  2024-05-01T10:02:00Z  1m 00s',
      `│  │  ${STALE}`,
      '│  ├─ features.csv  [data]',
      '│  └─ clean  run 1  succeeded  2024-05-01T10:00:00Z  1m 30s',
      '│     ├─ clean.csv@a1  [data]',
      '│     └─ ← raw.csv  [data]',
      '└─ clean (see above: run 1)',
      '',
    ]);
  });

  it('traces one version of a pointer given as uri@version, and the same file by absolute path', async () => {
    const byVersion = await ws.ok('trace', 'model.pkl@v1');
    expect(byVersion).toContain('train  run 4');
    const byPath = await ws.ok('trace', `${ws.cwd}/features.csv`);
    expect(byPath.split('\n').slice(0, 3)).toEqual([
      'trace of features.csv: 2 runs',
      '',
      'featuregen  run 3  succeeded  2024-05-01T10:02:00Z  1m 00s',
    ]);
  });

  it('stops at --depth and says how to see further', async () => {
    const out = await ws.ok('trace', 'model.pkl', '--depth', '0');
    expect(out.split('\n').slice(2)).toEqual([
      'train  run 4  succeeded  2024-05-01T10:04:00Z  6m 00s',
      `│  ${STALE}`,
      '├─ metrics.json  [metric]',
      '├─ model.pkl@v1  [model]',
      '└─ … 2 more upstream runs (raise --depth to see them)',
      '',
      '(stopped at depth 0: raise --depth to see further)',
      '',
    ]);
    const deeper = await ws.ok('trace', 'model.pkl', '--depth', '1');
    expect(deeper).not.toContain('stopped at depth');
  });

  it('prints what was derived from a pointer downstream, with the same tree', async () => {
    const out = await ws.ok('impact', 'raw.csv');
    expect(out.split('\n')).toEqual([
      'impact of raw.csv: 1 run used it, 3 runs downstream in all',
      '',
      'clean  run 1  succeeded  2024-05-01T10:00:00Z  1m 30s',
      '├─ clean.csv@a1  [data]',
      '├─ featuregen  run 3  succeeded  2024-05-01T10:02:00Z  1m 00s',
      `│  │  ${STALE}`,
      '│  ├─ features.csv  [data]',
      '│  └─ train  run 4  succeeded  2024-05-01T10:04:00Z  6m 00s',
      `│     │  ${STALE}`,
      '│     ├─ metrics.json  [metric]',
      '│     └─ model.pkl@v1  [model]',
      '└─ train (see above: run 4)',
      '',
    ]);
  });

  it('prints the trace as a JSON graph of distinct runs and edges', async () => {
    const graph = await ws.json<Record<string, unknown>>('trace', 'model.pkl');
    expect(Object.keys(graph)).toEqual([
      'direction',
      'roots',
      'runs',
      'pointers',
      'dependencies',
      'truncated',
    ]);
    expect(graph.direction).toBe('upstream');
    expect(graph.truncated).toBe(false);
    expect(graph.roots).toEqual([
      {
        id: expect.any(Number),
        uri: `file://${ws.cwd}/model.pkl`,
        version: 'v1',
        type: 'model',
        flag: false,
      },
    ]);
    const runs = graph.runs as Array<Record<string, unknown>>;
    expect(runs.map((run) => [run.id, run.component, run.depth])).toEqual([
      [4, 'train', 0],
      [3, 'featuregen', 1],
      [1, 'clean', 1],
    ]);
    expect(runs[0]).toMatchObject({
      status: 'succeeded',
      source: 'api',
      startedAt: '2024-05-01T10:04:00.000Z',
      endedAt: '2024-05-01T10:10:00.000Z',
      durationMs: 360_000,
      gitCommit: 'abc123',
      stale: [STALE.slice(2)],
      dependsOn: [1, 3],
    });
    expect(Object.keys(runs[0] ?? {})).toEqual([
      'id',
      'runKey',
      'component',
      'source',
      'status',
      'startedAt',
      'endedAt',
      'durationMs',
      'attempt',
      'gitCommit',
      'codeHash',
      'error',
      'notes',
      'stale',
      'workflow',
      'metadata',
      'inputs',
      'outputs',
      'dependsOn',
      'depth',
    ]);
    expect(graph.dependencies).toEqual(
      expect.arrayContaining([
        { run: 4, dependsOn: 3 },
        { run: 4, dependsOn: 1 },
        { run: 3, dependsOn: 1 },
      ]),
    );
    expect(graph.dependencies).toHaveLength(3);
  });

  it('prints the impact as a JSON graph going downstream', async () => {
    const graph = await ws.json<{ direction: string; runs: Array<{ id: number; depth: number }> }>(
      'impact',
      'clean.csv',
    );
    expect(graph.direction).toBe('downstream');
    expect(graph.runs.map((run) => [run.id, run.depth])).toEqual([
      [4, 0],
      [3, 0],
    ]);
  });

  it('says no run produced an unknown pointer, and exits 3', async () => {
    const result = await ws.run(['trace', 'nowhere.csv']);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')[0]).toBe('mltrace: error: no run produced nowhere.csv');
    expect(result.stderr).toMatch(/^hint: /m);
  });

  it('says so when a pointer was only ever an input', async () => {
    const result = await ws.run(['trace', 'raw.csv']);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('mltrace: error: no run produced raw.csv');
    expect(result.stderr).toContain('try `impact`');
  });
});
