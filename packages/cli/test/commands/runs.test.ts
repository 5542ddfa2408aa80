import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTemplate, type Workspace, workspace } from '../test-cli.js';

interface RunJson {
  id: number;
  runKey: string;
  component: string;
  status: string;
  startedAt: string;
}

describe('recent, history, inspect and notes', { timeout: 180_000 }, () => {
  let ws: Workspace;

  beforeAll(async () => {
    ws = await workspace();
    const lines = [
      {
        component: 'ingest',
        startedAt: '2024-05-01T08:00:00Z',
        endedAt: '2024-05-01T08:00:42Z',
        runKey: 'ingest-1',
        outputs: ['raw.csv'],
      },
      {
        component: 'clean',
        startedAt: '2024-05-01T09:00:00Z',
        endedAt: '2024-05-01T09:01:30Z',
        runKey: 'clean-1',
        inputs: ['raw.csv'],
        outputs: ['clean.csv'],
      },
      {
        component: 'clean',
        startedAt: '2024-05-02T09:00:00Z',
        endedAt: '2024-05-02T09:00:05Z',
        runKey: 'clean-2',
        status: 'failed',
        error: { message: 'schema mismatch', type: 'ValueError' },
        inputs: ['raw.csv'],
      },
      {
        component: 'clean',
        startedAt: '2024-05-03T09:00:00Z',
        runKey: 'clean-3',
        status: 'running',
        inputs: ['raw.csv'],
      },
      {
        component: 'train',
        startedAt: '2024-05-03T10:00:00Z',
        endedAt: '2024-05-03T12:05:00Z',
        runKey: 'temporal:default/retrain-7/8f3c/5/2',
        source: 'temporal',
        attempt: 2,
        gitCommit: '4be5f2e',
        inputs: ['clean.csv'],
        outputs: [{ uri: 'models:/taxi', version: '3' }],
        notes: 'first try ran out of memory',
        metadata: { rows: 1200 },
        codeSnapshot: 'def train(df):\n    return fit(df)\n',
        workflow: {
          namespace: 'default',
          workflowId: 'retrain-7',
          runId: '8f3c',
          workflowType: 'Retrain',
          taskQueue: 'ml',
          parentWorkflowId: 'nightly',
        },
      },
    ];
    await writeFile(join(ws.cwd, 'runs.ndjson'), lines.map((line) => JSON.stringify(line)).join('\n'));
    await ws.ok('import', 'runs.ndjson');
  });

  afterAll(async () => {
    await ws.remove();
    await removeTemplate();
  });

  it('pages through recent runs with the cursor, newest first, each run once', async () => {
    const seen: RunJson[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { runs: RunJson[]; nextCursor: string | null } = await ws.json(
        'recent',
        '--limit',
        '2',
        ...(cursor ? ['--cursor', cursor] : []),
      );
      expect(Object.keys(page)).toEqual(['runs', 'nextCursor']);
      seen.push(...page.runs);
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen.map((run) => run.runKey)).toEqual([
      'temporal:default/retrain-7/8f3c/5/2',
      'clean-3',
      'clean-2',
      'clean-1',
      'ingest-1',
    ]);
  });

  it('prints recent runs as a table with the command for the next page', async () => {
    const out = await ws.ok('recent', '--limit', '3');
    const lines = out.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'ID  STARTED               DURATION       STATUS     COMPONENT  OUTPUTS',
      '5   2024-05-03T10:00:00Z  2h 05m 00s     succeeded  train      models:/taxi@3',
      '4   2024-05-03T09:00:00Z  still running  running    clean      -',
      '3   2024-05-02T09:00:00Z  5.00s          failed     clean      -',
    ]);
    expect(lines[5]).toMatch(/^more: mltrace recent --cursor \S+$/);
  });

  it('filters recent runs by component and status', async () => {
    const page = await ws.json<{ runs: RunJson[] }>('recent', '--component', 'clean', '--status', 'failed');
    expect(page.runs.map((run) => run.runKey)).toEqual(['clean-2']);
    const bad = await ws.run(['recent', '--status', 'done']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("mltrace: error: option '--status <status>' argument 'done' is invalid");
  });

  it("lists a component's history newest first, within --from and --to", async () => {
    const all = await ws.json<{ component: string; runs: RunJson[] }>('history', 'clean');
    expect(all.component).toBe('clean');
    expect(all.runs.map((run) => run.runKey)).toEqual(['clean-3', 'clean-2', 'clean-1']);
    const window = await ws.json<{ runs: RunJson[] }>(
      'history',
      'clean',
      '--from',
      '2024-05-02',
      '--to',
      '2024-05-02T23:59:59Z',
    );
    expect(window.runs.map((run) => run.runKey)).toEqual(['clean-2']);
    const limited = await ws.json<{ runs: RunJson[] }>('history', 'clean', '--limit', '1');
    expect(limited.runs.map((run) => run.runKey)).toEqual(['clean-3']);
    const text = await ws.ok('history', 'clean', '--limit', '2');
    expect(text).toContain('2 runs of clean, newest first');
    expect(text).toContain('  error       ValueError: schema mismatch');
  });

  it('says an unknown component has no history, and exits 3', async () => {
    const result = await ws.run(['history', 'nope']);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('mltrace: error: no component named "nope"');
  });

  it('prints a run card with a correct duration, the workflow context and named dependencies', async () => {
    const out = await ws.ok('inspect', '5');
    expect(out.split('\n')).toEqual([
      'train  run 5',
      '  status      succeeded',
      '  run key     temporal:default/retrain-7/8f3c/5/2',
      '  source      temporal',
      '  started     2024-05-03T10:00:00Z',
      '  ended       2024-05-03T12:05:00Z',
      '  duration    2h 05m 00s',
      '  attempt     2',
      '  git commit  4be5f2e',
      '  workflow    retrain-7 (run 8f3c, type Retrain)',
      '              namespace default, task queue ml',
      '              parent workflow nightly',
      '  inputs      clean.csv  [data]',
      '  outputs     models:/taxi@3  [model]',
      '  depends on  clean  run 2  succeeded  2024-05-01T09:00:00Z  1m 30s',
      // clean-2 (failed) and clean-3 (running) started after clean-1 and before train, but wrote
      // no clean.csv: not re-runs over the same output, so no stale line (issue 21).
      '  notes       first try ran out of memory',
      '  metadata    {"rows":1200}',
      expect.stringMatching(/^ {2}code {8}sha256 [0-9a-f]{12}… \(show it with --code\)$/),
      '',
    ]);
  });

  it('finds a run by its run key, and prints its code with --code', async () => {
    const out = await ws.ok('inspect', 'temporal:default/retrain-7/8f3c/5/2', '--code');
    expect(out).toContain('    def train(df):\n        return fit(df)\n');
  });

  it('prints a run as JSON, with its dependencies named', async () => {
    const result = await ws.json<{ run: Record<string, unknown>; dependencies: unknown[] }>(
      'inspect',
      '5',
      '--code',
    );
    expect(Object.keys(result)).toEqual(['run', 'dependencies']);
    expect(result.run).toMatchObject({
      id: 5,
      component: 'train',
      status: 'succeeded',
      startedAt: '2024-05-03T10:00:00.000Z',
      endedAt: '2024-05-03T12:05:00.000Z',
      durationMs: 7_500_000,
      attempt: 2,
      workflow: {
        namespace: 'default',
        workflowId: 'retrain-7',
        runId: '8f3c',
        workflowType: 'Retrain',
        taskQueue: 'ml',
        parentWorkflowId: 'nightly',
      },
      outputs: [{ id: expect.any(Number), uri: 'models:/taxi', version: '3', type: 'model', flag: false }],
      codeSnapshot: 'def train(df):\n    return fit(df)\n',
    });
    expect(result.dependencies).toEqual([
      {
        id: 2,
        runKey: 'clean-1',
        component: 'clean',
        status: 'succeeded',
        startedAt: '2024-05-01T09:00:00.000Z',
      },
    ]);
  });

  it("replaces a run's notes", async () => {
    expect(await ws.ok('notes', 'clean-2', 'upstream schema changed on May 2')).toBe(
      'noted run 3 of clean\n',
    );
    expect(await ws.ok('inspect', '3')).toContain('  notes       upstream schema changed on May 2\n');
  });

  it('says there is no such run, and exits 3', async () => {
    const result = await ws.run(['inspect', '999']);
    expect(result).toMatchObject({ code: 3, stdout: '' });
    expect(result.stderr).toContain('mltrace: error: no run with id 999');
  });
});
