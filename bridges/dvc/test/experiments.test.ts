import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { createDvcWorkspace, type DvcWorkspace, toolPath } from '@mltrace/test-helpers';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DvcExperimentMark } from '../src/experiments.js';
import { type DvcSyncSummary, formatSummary, syncDvc } from '../src/sync.js';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const RAW = 'id,val\n1,a\n2,b\n';
// The model and the metrics depend on the learning rate, so each experiment makes its own.
const TRAIN_CMD = `cat data/raw.csv params.yaml > model.bin && awk '/lr:/ {print "{\\"acc\\": " $2 "}"}' params.yaml > metrics.json`;

interface StageMeta {
  kind: string;
  entry: string;
  params: Record<string, unknown>;
  metrics?: Record<string, unknown>;
  commit: { sha: string };
}
const markOf = (run: { metadata: Record<string, unknown> }) =>
  run.metadata.experiment as DvcExperimentMark | undefined;
const dvcOf = (run: { metadata: Record<string, unknown> }) => run.metadata.dvc as StageMeta;

/** A project with data, a `train` stage and a baseline commit, ready for `dvc exp run`. */
async function trainingProject(): Promise<{ ws: DvcWorkspace; baseline: string }> {
  const ws = await createDvcWorkspace();
  await ws.writeFile('data/raw.csv', RAW);
  await ws.dvc('add', '-q', 'data/raw.csv');
  await ws.commit('raw data');
  await ws.writeFile('params.yaml', 'train:\n  lr: 0.01\n');
  await ws.dvc(
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
    '-M',
    'metrics.json',
    TRAIN_CMD,
  );
  await ws.dvc('repro', '-q');
  const baseline = await ws.commit('baseline: lr 0.01');
  return { ws, baseline };
}

/** The experiment refs by name: `{ lr05: { ref, commit } }`. */
async function experimentRefs(ws: DvcWorkspace): Promise<Record<string, { ref: string; commit: string }>> {
  const out = await ws.git('for-each-ref', '--format=%(objectname) %(refname)', 'refs/exps/');
  const refs: Record<string, { ref: string; commit: string }> = {};
  for (const line of out.split('\n')) {
    const [commit = '', ref = ''] = line.split(' ');
    const parts = ref.split('/');
    if (parts.length === 5 && parts[2]?.length === 2) refs[parts[4]!] = { ref, commit };
  }
  return refs;
}

/** The model.bin `dvc exp run -S train.lr=<lr>` makes. */
const modelFor = (lr: string) => md5(`${RAW}train:\n  lr: ${lr}\n`);

describe('syncDvc reads DVC experiments (dvc exp run) as runs marked as experiments, each execution once', () => {
  let ws: DvcWorkspace;
  let store: LineageStore;
  let root: string;
  let baseline: string;
  let applied: string;
  let summary: DvcSyncSummary;
  let exps: Record<string, { ref: string; commit: string }>;
  const uri = (path: string) => `file://${root}/${path}`;
  const trainRuns = () => store.history('train', { limit: 100 });

  beforeAll(async () => {
    ({ ws, baseline } = await trainingProject());
    root = await realpath(ws.dir);
    store = await openPgliteStore({ dataDir: 'memory://' });
    await ws.dvc('exp', 'run', '-q', '-S', 'train.lr=0.05', '-n', 'lr05');
    await ws.dvc('exp', 'run', '-q', '-S', 'train.lr=0.1', '-n', 'lr10');
    await ws.dvc('exp', 'apply', '-q', 'lr05');
    applied = await ws.commit('apply experiment lr05');
    exps = await experimentRefs(ws);
    summary = await syncDvc({ store, repo: ws.dir });
  }, 300_000);

  afterAll(async () => {
    await store?.close();
    await ws?.cleanup();
  });

  it('reads both experiments and reports no errors', () => {
    expect(Object.keys(exps).sort()).toEqual(['lr05', 'lr10']);
    expect(summary.errors).toEqual([]);
    // dvc add, train at the baseline, and one run per experiment (lr05's applied commit is lr05's run).
    expect(summary).toMatchObject({
      experimentsRead: 2,
      runsWritten: 4,
      runsCreated: 4,
      stageRuns: 1,
      dataRuns: 1,
      experimentRuns: 2,
    });
    expect(formatSummary(summary)).toContain(
      '4 runs written (4 new; 1 stage, 1 data, 0 promotion, 2 experiment), 2 experiments read, 0 errors',
    );
  });

  it("records each experiment's stage as a run keyed by the experiment commit, marked with its name, baseline and ref, with its params and metrics", async () => {
    const run = await store.run(`dvc:${root}/${exps.lr10!.commit}/train`);
    expect(run).toMatchObject({ component: 'train', source: 'dvc', gitCommit: exps.lr10!.commit });
    expect(markOf(run)).toEqual({ name: 'lr10', baseline, ref: exps.lr10!.ref, commit: exps.lr10!.commit });
    expect(dvcOf(run)).toMatchObject({
      kind: 'stage',
      params: { 'params.yaml': { train: { lr: 0.1 } } },
      metrics: { 'metrics.json': { acc: 0.1 } },
      commit: { sha: exps.lr10!.commit },
    });
    expect(run.inputs.map((p) => [p.uri, p.version])).toContainEqual([uri('data/raw.csv'), md5(RAW)]);
    expect(run.outputs.map((p) => [p.uri, p.version])).toContainEqual([uri('model.bin'), modelFor('0.1')]);
  });

  it('an experiment applied and committed is one run, with the branch commit in its mark', async () => {
    const runs = await trainRuns();
    expect(runs.map((r) => r.gitCommit).sort()).toEqual(
      [baseline, exps.lr05!.commit, exps.lr10!.commit].sort(),
    );
    const lr05 = runs.find((r) => r.gitCommit === exps.lr05!.commit)!;
    expect(lr05.runKey).toBe(`dvc:${root}/${exps.lr05!.commit}/train`);
    expect(markOf(lr05)).toEqual({
      name: 'lr05',
      baseline,
      ref: exps.lr05!.ref,
      commit: exps.lr05!.commit,
      committedIn: [applied],
    });
    // The branch's own record of the model: the experiment's run, not a second one.
    const graph = await store.trace({ uri: uri('model.bin'), version: modelFor('0.05') });
    expect(graph.runs.filter((r) => r.component === 'train').map((r) => r.id)).toEqual([lr05.id]);
    const baselineRun = runs.find((r) => r.gitCommit === baseline)!;
    expect(markOf(baselineRun)).toBeUndefined();
  });

  it('an output made only in an experiment traces to its experiment run, and on to the data', async () => {
    const graph = await store.trace({ uri: uri('model.bin'), version: modelFor('0.1') });
    expect(graph.runs.map((r) => [r.component, markOf(r)?.name])).toEqual([
      ['train', 'lr10'],
      ['dvc add data/raw.csv', undefined],
    ]);
  });

  it('a re-sync adds nothing', async () => {
    const again = await syncDvc({ store, repo: ws.dir });
    expect(again).toMatchObject({ commitsRead: 0, experimentsRead: 0, runsWritten: 0, errors: [] });
  });

  it('an experiment applied and committed after it was synced is still one run', async () => {
    await ws.dvc('exp', 'apply', '-q', 'lr10');
    const appliedLater = await ws.commit('apply experiment lr10');
    const after = await syncDvc({ store, repo: ws.dir });
    expect(after).toMatchObject({
      commitsRead: 1,
      runsWritten: 1,
      runsCreated: 0,
      experimentRuns: 1,
      errors: [],
    });
    expect(await trainRuns()).toHaveLength(3);
    const run = await store.run(`dvc:${root}/${exps.lr10!.commit}/train`);
    expect(markOf(run)?.committedIn).toEqual([appliedLater]);
    // Its experiment metadata (metrics read at the experiment commit) is kept.
    expect(dvcOf(run).metrics).toEqual({ 'metrics.json': { acc: 0.1 } });
    expect(await syncDvc({ store, repo: ws.dir })).toMatchObject({ runsWritten: 0 });
  });

  it('a branch made from an experiment (dvc exp branch) is the same run', async () => {
    await ws.dvc('exp', 'run', '-q', '-S', 'train.lr=0.2', '-n', 'lr20');
    const lr20 = (await experimentRefs(ws)).lr20!;
    await ws.dvc('exp', 'branch', 'lr20', 'lr20-branch');
    const first = await syncDvc({ store, repo: ws.dir });
    expect(first).toMatchObject({ experimentsRead: 1, runsCreated: 1, experimentRuns: 1 });
    const onBranch = await syncDvc({ store, repo: ws.dir, rev: 'lr20-branch' });
    expect(onBranch).toMatchObject({ commitsRead: 1, runsCreated: 0, errors: [] });
    const graph = await store.trace({ uri: uri('model.bin'), version: modelFor('0.2') });
    const producers = graph.runs.filter((r) => r.component === 'train');
    expect(producers.map((r) => [r.runKey, markOf(r)?.name])).toEqual([
      [`dvc:${root}/${lr20.commit}/train`, 'lr20'],
    ]);
    expect(await trainRuns()).toHaveLength(4);
  });

  it('a removed experiment (dvc exp remove) keeps its synced runs, and a sync after writes nothing', async () => {
    const lr20 = (await experimentRefs(ws)).lr20!;
    await ws.dvc('exp', 'remove', 'lr20');
    expect((await experimentRefs(ws)).lr20).toBeUndefined();
    const after = await syncDvc({ store, repo: ws.dir });
    expect(after).toMatchObject({ runsWritten: 0, errors: [] });
    const run = await store.run(`dvc:${root}/${lr20.commit}/train`);
    expect(markOf(run)?.name).toBe('lr20');

    // Its results committed on main after the removal (from the branch): still its one run.
    await ws.git('checkout', 'lr20-branch', '--', 'dvc.lock', 'params.yaml', 'metrics.json');
    const committed = await ws.commit('take the results of lr20');
    const later = await syncDvc({ store, repo: ws.dir });
    expect(later).toMatchObject({ commitsRead: 1, runsWritten: 1, runsCreated: 0, errors: [] });
    expect(markOf(await store.run(`dvc:${root}/${lr20.commit}/train`))?.committedIn).toEqual([committed]);
    expect(await trainRuns()).toHaveLength(4);
  });

  it('refs under refs/exps that are not experiments are reported one by one, and the rest is synced', async () => {
    await ws.git('reset', '-q', '--hard');
    const head = await ws.git('rev-parse', 'HEAD');
    const [h2, h38] = [head.slice(0, 2), head.slice(2)];
    // A valid experiment, and an experiment commit whose dvc.lock is cut short.
    await ws.dvc('exp', 'run', '-q', '-S', 'train.lr=0.3', '-n', 'lr30');
    await ws.git('reset', '-q', '--hard');
    await ws.git('checkout', '-q', '-b', 'scratch');
    const lock = await ws.readFile('dvc.lock');
    await ws.writeFile('dvc.lock', lock.slice(0, lock.indexOf('outs:')));
    const broken = await ws.commit('a lock cut short');
    await ws.git('checkout', '-q', 'main');
    await ws.git('branch', '-q', '-D', 'scratch');
    await ws.git('update-ref', `refs/exps/${h2}/${h38}/broken`, broken);
    // Not experiments: another shape, a blob, a commit that is not on its baseline.
    await ws.git('update-ref', 'refs/exps/zz/not-a-baseline/oops', head);
    const blob = await ws.git('hash-object', '-w', 'params.yaml');
    await ws.git('update-ref', `refs/exps/${h2}/${h38}/a-blob`, blob);
    await ws.git('update-ref', `refs/exps/${h2}/${h38}/elsewhere`, baseline);

    const after = await syncDvc({ store, repo: ws.dir });
    const messages = after.errors.map((e) => e.message);
    expect(messages).toHaveLength(4);
    expect(messages).toEqual(
      expect.arrayContaining([
        'experiment ref refs/exps/zz/not-a-baseline/oops: not an experiment ref (expected refs/exps/<baseline[:2]>/<baseline[2:]>/<name>); skipped',
        `experiment ref refs/exps/${h2}/${h38}/a-blob: points at a blob (${blob.slice(0, 12)}), not a commit; skipped`,
        expect.stringMatching(
          new RegExp(
            `^experiment ref refs/exps/${h2}/${h38}/elsewhere: its commit ${baseline.slice(0, 12)} has parent [0-9a-f]{12}, not the baseline ${head.slice(0, 12)} its name gives; skipped$`,
          ),
        ),
        expect.stringMatching(
          new RegExp(
            `^experiment broken \\(refs/exps/${h2}/${h38}/broken\\): dvc\\.lock at ${broken.slice(0, 12)}: `,
          ),
        ),
      ]),
    );
    for (const error of after.errors) expect(error.hint).toBeTruthy();
    expect(after.errors.find((e) => e.message.startsWith('experiment broken'))?.file).toBe('dvc.lock');
    // lr30 is synced all the same.
    expect(after).toMatchObject({ experimentsRead: 2, experimentRuns: 1, runsCreated: 1 });
    const lr30 = (await experimentRefs(ws)).lr30!;
    expect(markOf(await store.run(`dvc:${root}/${lr30.commit}/train`))?.name).toBe('lr30');
  });
});

describe('an experiment pulled (dvc exp pull) after its applied commit was synced', () => {
  let origin: { ws: DvcWorkspace; baseline: string };
  let store: LineageStore;

  beforeAll(async () => {
    origin = await trainingProject();
    store = await openPgliteStore({ dataDir: 'memory://' });
  }, 120_000);

  afterAll(async () => {
    await store?.close();
    await origin?.ws.cleanup();
  });

  it('is the branch run, now marked as the experiment', async () => {
    const { ws } = origin;
    await ws.dvc('exp', 'run', '-q', '-S', 'train.lr=0.05', '-n', 'lr05');
    await ws.dvc('exp', 'apply', '-q', 'lr05');
    const applied = await ws.commit('apply experiment lr05');
    const exp = (await experimentRefs(ws)).lr05!;
    // A clone has no refs/exps until `dvc exp pull`.
    const clone = join(ws.root, 'clone');
    const env = { ...process.env, ...ws.env };
    await execa('git', ['clone', '-q', ws.dir, clone], { env });
    const first = await syncDvc({ store, repo: clone });
    expect(first).toMatchObject({ experimentsRead: 0, stageRuns: 2, errors: [] });
    const root = await realpath(clone);
    const key = `dvc:${root}/${applied}/train`;
    expect(markOf(await store.run(key))).toBeUndefined();

    await execa(toolPath('dvc'), ['exp', 'pull', '-q', '--no-cache', 'origin', 'lr05'], { cwd: clone, env });
    const pulled = await syncDvc({ store, repo: clone });
    expect(pulled).toMatchObject({ experimentsRead: 1, runsWritten: 1, runsCreated: 0, errors: [] });
    const run = await store.run(key);
    expect(markOf(run)).toEqual({
      name: 'lr05',
      baseline: origin.baseline,
      ref: exp.ref,
      commit: exp.commit,
      committedIn: [applied],
    });
    expect(await store.history('train', { limit: 10 })).toHaveLength(2);
    expect(await syncDvc({ store, repo: clone, full: true })).toMatchObject({ runsCreated: 0 });
    expect(await store.history('train', { limit: 10 })).toHaveLength(2);
  });
});
