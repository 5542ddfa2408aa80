import { createHash } from 'node:crypto';
import { createDvcWorkspace, type DvcWorkspace } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { removeTemplate, type Workspace, workspace } from '../test-cli.js';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

interface SyncJson {
  repo: string;
  head: string;
  incremental: boolean;
  commitsRead: number;
  runsWritten: number;
  runsCreated: number;
  dataRuns: number;
  errors: Array<{ commit: string; file?: string; message: string; hint?: string }>;
}

interface TraceJson {
  runs: Array<{
    component: string;
    source: string;
    gitCommit: string;
    outputs: Array<{ uri: string; version: string }>;
  }>;
}

// DVC and git are local tools (from scripts/setup.sh), not servers: this runs with any MLTRACE_TEST_SERVICES.
describe('mltrace sync dvc', { timeout: 180_000 }, () => {
  let ws: Workspace;
  let repo: DvcWorkspace;
  const v1 = 'id,tip\n1,0.5\n';
  const v2 = 'id,tip\n1,0.5\n2,1.25\n';
  let c1: string;
  let c2: string;
  let rawUri: string;

  beforeAll(async () => {
    ws = await workspace();
    repo = await createDvcWorkspace();
    await repo.writeFile('data/raw.csv', v1);
    await repo.dvc('add', 'data/raw.csv');
    c1 = await repo.commit('raw data v1');
    await repo.writeFile('data/raw.csv', v2);
    await repo.dvc('add', 'data/raw.csv');
    c2 = await repo.commit('raw data v2');
    rawUri = `file://${repo.dir}/data/raw.csv`;
  });

  afterAll(async () => {
    await repo?.cleanup();
    await ws?.remove();
    await removeTemplate();
  });

  it('records both versions of a dvc-added file at their commits, and a re-sync writes nothing new', async () => {
    const first = await ws.run(['sync', 'dvc', repo.dir]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(
      new RegExp(
        `^dvc ${repo.dir} HEAD at ${c2.slice(0, 12)}: 2 commits read, 2 runs written \\(2 new; 0 stage, 2 data, 0 promotion\\), 0 errors in \\d+\\.\\d s\\n$`,
      ),
    );

    const latest = await ws.json<TraceJson>('trace', `${repo.dir}/data/raw.csv`);
    expect(latest.runs.map((r) => [r.component, r.source, r.gitCommit])).toEqual([
      ['dvc add data/raw.csv', 'dvc', c2],
    ]);
    expect(latest.runs[0]?.outputs).toEqual([expect.objectContaining({ uri: rawUri, version: md5(v2) })]);
    const older = await ws.json<TraceJson>('trace', `${repo.dir}/data/raw.csv@${md5(v1)}`);
    expect(older.runs.map((r) => [r.component, r.gitCommit])).toEqual([['dvc add data/raw.csv', c1]]);
    const history = await ws.json<{ runs: TraceJson['runs'] }>('history', 'dvc add data/raw.csv');
    expect(history.runs.map((r) => r.outputs.map((p) => p.version))).toEqual([[md5(v2)], [md5(v1)]]);

    const again = await ws.json<SyncJson>('sync', 'dvc', repo.dir);
    expect(again).toMatchObject({
      head: c2,
      incremental: true,
      commitsRead: 0,
      runsWritten: 0,
      errors: [],
    });
    const full = await ws.json<SyncJson>('sync', 'dvc', repo.dir, '--full');
    expect(full).toMatchObject({ incremental: false, commitsRead: 2, runsWritten: 2, runsCreated: 0 });
    expect((await ws.json<{ runs: unknown[] }>('recent')).runs).toHaveLength(2);
  });

  it('draws a progress bar on a terminal, and clears it before the summary', async () => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['node', 'mltrace', 'sync', 'dvc', repo.dir, '--full'], {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s), isTTY: true },
      env: ws.env,
      cwd: ws.cwd,
    });
    expect(code).toBe(0);
    expect(stderr).toContain('\r\x1b[2Kreading commits [');
    expect(stderr).toContain('\r\x1b[2Kwriting runs [####################] 2/2');
    expect(stderr.endsWith('\r\x1b[2K')).toBe(true);
    expect(stdout).toMatch(/^dvc .+: 2 commits read, 2 runs written \(0 new;/);
  });

  it('reports a malformed dvc.lock with its commit, syncs the rest, and exits 2', async () => {
    await repo.writeFile('dvc.lock', "schema: '2.0'\nstages:\n  train: [unclosed\n");
    const broken = await repo.commit('a broken lock file');
    const v3 = `${v2}3,2.0\n`;
    await repo.writeFile('data/raw.csv', v3);
    await repo.dvc('add', 'data/raw.csv');
    const c4 = await repo.commit('raw data v3');

    const result = await ws.run(['sync', 'dvc', repo.dir]);
    expect(result.code).toBe(2);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(
      /: 2 commits read, 1 run written \(1 new; 0 stage, 1 data, 0 promotion\), 1 error in /,
    );
    expect(lines[1]).toMatch(new RegExp(`^ {2}dvc\\.lock at ${broken.slice(0, 12)}: malformed YAML`));
    expect(result.stdout).toContain('    hint: ');
    expect(result.stderr).toBe(
      'mltrace: error: 1 DVC file could not be read at its commit (the rest was synced)\n',
    );
    const latest = await ws.json<TraceJson>('trace', `${repo.dir}/data/raw.csv`);
    expect(latest.runs[0]).toMatchObject({ gitCommit: c4, outputs: [{ uri: rawUri, version: md5(v3) }] });

    const json = await ws.run(['sync', 'dvc', repo.dir, '--full', '--json']);
    expect(json.code).toBe(2);
    expect((JSON.parse(json.stdout) as SyncJson).errors).toEqual([
      expect.objectContaining({
        commit: broken,
        file: 'dvc.lock',
        message: expect.stringContaining('malformed YAML'),
      }),
    ]);
  });

  it('refuses a directory that is not a git repository in one line, exit 2', async () => {
    const result = await ws.run(['sync', 'dvc', ws.cwd]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^mltrace: error: [^\n]+\n(hint: [^\n]+\n)?$/);
  });
});

describe('mltrace sync dvc with experiments (dvc exp run)', { timeout: 300_000 }, () => {
  let ws: Workspace;
  let repo: DvcWorkspace;
  let baseline: string;
  let applied: string;
  const raw = 'id,tip\n1,0.5\n';
  const model = (lr: string) => md5(`${raw}train:\n  lr: ${lr}\n`);

  beforeAll(async () => {
    ws = await workspace();
    repo = await createDvcWorkspace();
    await repo.writeFile('data/raw.csv', raw);
    await repo.dvc('add', '-q', 'data/raw.csv');
    await repo.commit('raw data');
    await repo.writeFile('params.yaml', 'train:\n  lr: 0.01\n');
    await repo.dvc(
      'stage',
      'add',
      '-q',
      '-n',
      'train',
      '-p',
      'train',
      '-d',
      'data/raw.csv',
      '-o',
      'model.bin',
      'cat data/raw.csv params.yaml > model.bin',
    );
    await repo.dvc('repro', '-q');
    baseline = await repo.commit('baseline');
    await repo.dvc('exp', 'run', '-q', '-S', 'train.lr=0.05', '-n', 'lr05');
    await repo.dvc('exp', 'run', '-q', '-S', 'train.lr=0.1', '-n', 'lr10');
    await repo.dvc('exp', 'apply', '-q', 'lr05');
    applied = await repo.commit('apply lr05');
  });

  afterAll(async () => {
    await repo?.cleanup();
    await ws?.remove();
    await removeTemplate();
  });

  it('records each experiment once, and trace marks the runs of experiments', async () => {
    const first = await ws.run(['sync', 'dvc', repo.dir]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /: 3 commits read, 4 runs written \(4 new; 1 stage, 1 data, 0 promotion, 2 experiment\), 2 experiments read, 0 errors in /,
    );
    const again = await ws.json<SyncJson>('sync', 'dvc', repo.dir);
    expect(again).toMatchObject({ runsWritten: 0, errors: [] });

    // Made only in an experiment: marked, with its baseline.
    const lr10 = await ws.ok('trace', `${repo.dir}/model.bin@${model('0.1')}`);
    expect(lr10).toMatch(
      new RegExp(
        `^ *train {2}run \\d+ {2}succeeded {2}\\S+ {2}0ms {2}\\[experiment lr10 on ${baseline.slice(0, 8)}\\]$`,
        'm',
      ),
    );
    expect(lr10).toContain(`dvc add data/raw.csv  run `);
    // Applied and committed: the experiment's run, with the commit that holds it.
    const lr05 = await ws.ok('trace', `${repo.dir}/model.bin@${model('0.05')}`);
    expect(lr05).toContain(
      `[experiment lr05 on ${baseline.slice(0, 8)}, committed in ${applied.slice(0, 8)}]`,
    );
    // The baseline's own run is not an experiment.
    const base = await ws.ok('trace', `${repo.dir}/model.bin@${model('0.01')}`);
    expect(base).not.toContain('experiment');
  });

  it('why marks a model trained in an experiment', async () => {
    await ws.ok(
      'log',
      'promote',
      '-i',
      `${repo.dir}/model.bin@${model('0.1')}`,
      '-o',
      'models:/tips@champion@1',
    );
    const why = await ws.ok('why', 'models:/tips@champion');
    expect(why).toMatch(new RegExp(`run +train #\\d+ \\S+ \\(experiment lr10 on ${baseline.slice(0, 8)}\\)`));
    expect(why).toMatch(/train #\d+ \[dvc, succeeded, experiment lr10 on [0-9a-f]{8}\] -> /);
  });

  it('reports a ref under refs/exps that is not an experiment, syncs the rest, and exits 2', async () => {
    await repo.git('update-ref', 'refs/exps/zz/not-a-baseline/oops', 'HEAD');
    await repo.dvc('exp', 'run', '-q', '-S', 'train.lr=0.2', '-n', 'lr20');
    const result = await ws.run(['sync', 'dvc', repo.dir]);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(
      /1 run written \(1 new; 0 stage, 0 data, 0 promotion, 1 experiment\), 1 experiment read, 1 error in /,
    );
    expect(result.stdout).toContain(
      '  experiment ref refs/exps/zz/not-a-baseline/oops: not an experiment ref (expected refs/exps/<baseline[:2]>/<baseline[2:]>/<name>); skipped\n    hint: ',
    );
    expect(result.stderr).toBe(
      'mltrace: error: 1 ref under refs/exps/ is not an experiment (the rest was synced)\n',
    );
    const lr20 = await ws.ok('trace', `${repo.dir}/model.bin@${model('0.2')}`);
    expect(lr20).toContain('[experiment lr20 on ');
    // --no-experiments leaves refs/exps alone.
    const without = await ws.run(['sync', 'dvc', repo.dir, '--no-experiments']);
    expect(without.code, without.stderr).toBe(0);
  });
});
