import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { LineageStore, RunSummary } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { createDvcWorkspace, type DvcWorkspace, toolPath } from '@mltrace/test-helpers';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseDvcYamlFast } from '../src/fast-yaml.js';
import type { EntryDetails } from '../src/pointers.js';
import { resolveDvcPointer } from '../src/resolve.js';
import { type DvcSyncProgress, type DvcSyncSummary, formatSummary, syncDvc } from '../src/sync.js';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const RAW = ['id,val\n1,a\n', 'id,val\n1,a\n2,b\n', 'id,val\n1,a\n2,b\n3,c\n'];
// DVC's own template syntax, written into dvc.yaml.
const ITEM = '$' + '{item}';
const OS = '$' + '{item.os}';
const ARCH = '$' + '{item.arch}';

interface DvcMeta {
  kind: string;
  file: string;
  params?: Record<string, unknown>;
  deps?: EntryDetails[];
  outs: EntryDetails[];
}
const dvcMeta = (run: { metadata: Record<string, unknown> }) => run.metadata.dvc as DvcMeta;

describe('syncDvc on a DVC project with three data versions, a pipeline, a foreach stage and GTO tags', () => {
  let ws: DvcWorkspace;
  let store: LineageStore;
  let root: string;
  let summary: DvcSyncSummary;
  const progress: DvcSyncProgress[] = [];
  const commits: Record<string, string> = {};
  const uri = (path: string) => `file://${root}/${path}`;
  const gto = (...args: string[]) =>
    execa(join(dirname(toolPath('dvc')), 'gto'), args, { cwd: ws.dir, env: { ...process.env, ...ws.env } });

  beforeAll(async () => {
    ws = await createDvcWorkspace();
    root = await realpath(ws.dir);
    store = await openPgliteStore({ dataDir: 'memory://' });
    for (const [i, content] of RAW.entries()) {
      await ws.writeFile('data/raw.csv', content);
      await ws.dvc('add', '-q', 'data/raw.csv');
      commits[`raw${i + 1}`] = await ws.commit(`data v${i + 1}`);
    }
    await ws.writeFile('params.yaml', 'prepare:\n  split: 0.5\ntrain:\n  lr: 0.01\n');
    await ws.dvc(
      'stage',
      'add',
      '-q',
      '-n',
      'prepare',
      '-p',
      'prepare',
      '-d',
      'data/raw.csv',
      '-o',
      'data/prepared',
      'mkdir -p data/prepared && head -n 3 data/raw.csv > data/prepared/train.csv && tail -n 1 data/raw.csv > data/prepared/test.csv',
    );
    await ws.dvc(
      'stage',
      'add',
      '-q',
      '-n',
      'train',
      '-p',
      'train',
      '-d',
      'data/prepared',
      '-o',
      'model.bin',
      '-M',
      'metrics.json',
      'cat data/prepared/train.csv params.yaml > model.bin && echo \'{"acc": 0.5}\' > metrics.json',
    );
    await ws.dvc('repro', '-q');
    commits.pipeline = await ws.commit('pipeline v1');
    await ws.writeFile('params.yaml', 'prepare:\n  split: 0.5\ntrain:\n  lr: 0.02\n');
    await ws.dvc('repro', '-q');
    commits.lr = await ws.commit('train with lr 0.02');
    const yaml = await ws.readFile('dvc.yaml');
    await ws.writeFile(
      'dvc.yaml',
      `${yaml}  evaluate:\n    foreach: [train, test]\n    do:\n      cmd: mkdir -p eval && wc -l < data/prepared/${ITEM}.csv > eval/${ITEM}.txt\n      deps:\n        - data/prepared\n        - model.bin\n      outs:\n        - eval/${ITEM}.txt\n  build:\n    matrix:\n      os: [linux]\n      arch: [x64, arm]\n    cmd: mkdir -p dist && echo ${OS}-${ARCH} > dist/${OS}-${ARCH}.txt\n    deps:\n      - model.bin\n    outs:\n      - dist/${OS}-${ARCH}.txt\nartifacts:\n  model:\n    path: model.bin\n    type: model\n`,
    );
    await ws.dvc('repro', '-q');
    commits.foreach = await ws.commit('evaluate per split');
    await ws.dvc('push', '-q');
    await gto('register', 'model', commits.foreach, '--version', 'v1.0.0');
    await gto('assign', 'model', '--version', 'v1.0.0', '--stage', 'prod');
    await ws.git('tag', 'model@v9.0.0', commits.raw1!); // lightweight: GTO ignores it
    summary = await syncDvc({ store, repo: ws.dir, onProgress: (event) => progress.push(event) });
  }, 300_000);

  afterAll(async () => {
    await store?.close();
    await ws?.cleanup();
  });

  const runAt = async (component: string, commit: string) => {
    const runs = await store.history(component, { limit: 100 });
    const found = runs.find((r) => r.gitCommit === commit);
    if (!found)
      throw new Error(`no ${component} run at ${commit}: ${runs.map((r) => r.gitCommit).join(', ')}`);
    return store.run(found.id);
  };

  it('reads every commit that changed a DVC file and reports no errors', () => {
    expect(summary.errors).toEqual([]);
    expect(summary).toMatchObject({
      repo: root,
      rev: 'HEAD',
      commitsRead: 6,
      stageRuns: 7,
      dataRuns: 3,
      promotionRuns: 2,
      runsWritten: 12,
      runsCreated: 12,
      incremental: false,
    });
    expect(formatSummary(summary)).toMatch(
      /^dvc \S+ HEAD at [0-9a-f]{12}: 6 commits read, 12 runs written \(12 new; 7 stage, 3 data, 2 promotion\), 0 errors in \d+\.\d s$/,
    );
    expect(progress.at(-1)).toEqual({ phase: 'done', done: 12, total: 12 });
    expect(progress.filter((e) => e.phase === 'read').at(-1)).toEqual({ phase: 'read', done: 6, total: 6 });
  });

  it('turns dvc add over three commits into three versions of the file, each traced to its commit', async () => {
    const versions = await store.pointers(uri('data/raw.csv'));
    expect(versions.map((p) => p.version).sort()).toEqual(RAW.map(md5).sort());
    for (const [i, content] of RAW.entries()) {
      const graph = await store.trace({ uri: uri('data/raw.csv'), version: md5(content) });
      expect(graph.runs).toHaveLength(1);
      expect(graph.runs[0]).toMatchObject({
        component: 'dvc add data/raw.csv',
        source: 'dvc',
        gitCommit: commits[`raw${i + 1}`],
        runKey: `dvc:${root}/${commits[`raw${i + 1}`]}/data/raw.csv.dvc`,
      });
      const run = await store.run(graph.runs[0]!.id);
      expect(dvcMeta(run).outs).toEqual([
        expect.objectContaining({
          path: 'data/raw.csv',
          hash: md5(content),
          algorithm: 'md5',
          size: content.length,
        }),
      ]);
    }
  });

  it('records each stage at the commit where its lock entry changed, with dependencies inferred from hashes', async () => {
    const prepare = await store.history('prepare', { limit: 10 });
    const train = await store.history('train', { limit: 10 });
    expect(prepare.map((r) => r.gitCommit)).toEqual([commits.pipeline]);
    // Changing only train's params re-ran only train.
    expect(train.map((r) => r.gitCommit)).toEqual([commits.lr, commits.pipeline]);

    const prepareRun = await runAt('prepare', commits.pipeline!);
    const dataV3 = await runAt('dvc add data/raw.csv', commits.raw3!);
    expect(prepareRun.dependsOn).toEqual([dataV3.id]);
    expect(prepareRun.inputs.map((p) => [p.uri, p.version])).toEqual([[uri('data/raw.csv'), md5(RAW[2]!)]]);
    const prepared = dvcMeta(prepareRun).outs[0]!;
    expect(prepared).toMatchObject({ path: 'data/prepared', isDir: true, nfiles: 2, algorithm: 'md5' });
    expect(prepared.hash).toMatch(/^[0-9a-f]{32}\.dir$/);
    expect(dvcMeta(prepareRun).params).toEqual({ 'params.yaml': { prepare: { split: 0.5 } } });

    const trainRun = await runAt('train', commits.lr!);
    expect(trainRun.dependsOn).toEqual([prepareRun.id]);
    expect(trainRun.inputs).toEqual([
      expect.objectContaining({ uri: uri('data/prepared'), version: prepared.hash }),
    ]);
    expect(dvcMeta(trainRun).params).toEqual({ 'params.yaml': { train: { lr: 0.02 } } });
    expect(trainRun).toMatchObject({ source: 'dvc', status: 'succeeded', gitCommit: commits.lr });
    expect(trainRun.startedAt.getTime()).toBe(trainRun.endedAt?.getTime());
    const metrics = dvcMeta(trainRun).outs.find((o) => o.path === 'metrics.json');
    expect(metrics).toMatchObject({ cache: false, algorithm: 'md5' });
    expect(metrics?.remoteUrl).toBeUndefined();

    const graph = await store.trace({ uri: uri('model.bin') });
    expect(graph.runs.map((r) => `${r.component}@${r.gitCommit}`)).toEqual([
      `train@${commits.lr}`,
      `prepare@${commits.pipeline}`,
      `dvc add data/raw.csv@${commits.raw3}`,
    ]);
  });

  it('expands foreach and matrix stages into one run per item, named as in dvc.lock', async () => {
    const trainRun = await runAt('train', commits.lr!);
    for (const item of ['train', 'test']) {
      const run = await runAt(`evaluate@${item}`, commits.foreach!);
      expect(run.dependsOn).toContain(trainRun.id);
      expect(run.outputs.map((p) => p.uri)).toEqual([uri(`eval/${item}.txt`)]);
    }
    for (const target of ['linux-x64', 'linux-arm']) {
      const run = await runAt(`build@${target}`, commits.foreach!);
      expect(run.dependsOn).toEqual([trainRun.id]);
      expect(run.outputs.map((p) => p.uri)).toEqual([uri(`dist/${target}.txt`)]);
    }
    // The stages whose entries did not change are not recorded again.
    expect((await store.history('train', { limit: 10 })).map((r) => r.gitCommit)).not.toContain(
      commits.foreach,
    );
  });

  it('records GTO tags as promotion runs linked to the model data, ignoring lightweight tags', async () => {
    const runs = await store.history('gto model', { limit: 10 });
    expect(runs.map((r) => (r.metadata.gto as { tag: string }).tag).sort()).toEqual([
      'model#prod#1',
      'model@v1.0.0',
    ]);
    const register = runs.find((r) => (r.metadata.gto as { action: string }).action === 'register')!;
    const model = (await store.pointers(uri('model.bin')))[0]!;
    const registerRun = await store.run(register.id);
    expect(registerRun.inputs.map((p) => [p.uri, p.version])).toEqual([[uri('model.bin'), model.version]]);
    expect(registerRun.outputs.map((p) => [p.uri, p.version])).toEqual([['gto:model@v1.0.0', model.version]]);
    expect(registerRun.dependsOn).toEqual([(await runAt('train', commits.lr!)).id]);

    const graph = await store.trace({ uri: 'gto:model#prod' });
    expect(graph.roots.map((p) => p.version)).toEqual(['v1.0.0']);
    expect(graph.runs.map((r) => r.component)).toEqual([
      'gto model',
      'gto model',
      'train',
      'prepare',
      'dvc add data/raw.csv',
    ]);
    expect(graph.runs[0]?.metadata.gto).toMatchObject({
      action: 'assign',
      stage: 'prod',
      version: 'v1.0.0',
      counter: 1,
    });
  });

  it('computes remote URLs that match what dvc get --show-url prints for the same versions', async () => {
    const showUrl = (path: string, rev: string) => ws.dvc('get', '--show-url', '.', path, '--rev', rev);
    const raw1 = dvcMeta(await runAt('dvc add data/raw.csv', commits.raw1!)).outs[0]!;
    const prepared = dvcMeta(await runAt('prepare', commits.pipeline!)).outs[0]!;
    const model = dvcMeta(await runAt('train', commits.lr!)).outs.find((o) => o.path === 'model.bin')!;
    const inside = await resolveDvcPointer({
      repo: ws.dir,
      path: 'data/prepared/train.csv',
      rev: commits.lr!,
    });
    const [dvcRaw1, dvcPrepared, dvcModel, dvcInside, dvcMetrics] = await Promise.all([
      showUrl('data/raw.csv', commits.raw1!),
      showUrl('data/prepared', commits.pipeline!),
      showUrl('model.bin', commits.lr!),
      showUrl('data/prepared/train.csv', commits.lr!),
      showUrl('metrics.json', commits.lr!).catch((error: { exitCode?: number }) => `exit ${error.exitCode}`),
    ]);
    expect(raw1.remoteUrl).toBe(dvcRaw1);
    expect(prepared.remoteUrl).toBe(dvcPrepared);
    expect(model.remoteUrl).toBe(dvcModel);
    expect(inside.remoteUrl).toBe(dvcInside);
    expect(inside).toMatchObject({
      directory: { path: 'data/prepared', version: prepared.hash },
      isDir: false,
    });
    // DVC has no URL for a cache: false output, and neither do we.
    expect(dvcMetrics).toMatch(/^exit \d+$/);
  });

  it('resolves a DVC-tracked path at a revision to a versioned pointer', async () => {
    const pointer = await resolveDvcPointer({ repo: ws.dir, path: 'data/raw.csv', rev: commits.raw1! });
    expect(pointer).toMatchObject({
      uri: uri('data/raw.csv'),
      version: md5(RAW[0]!),
      algorithm: 'md5',
      commit: commits.raw1,
      path: 'data/raw.csv',
      size: RAW[0]!.length,
      isDir: false,
      declaredIn: 'data/raw.csv.dvc',
    });
    const model = await resolveDvcPointer({ repo: ws.dir, path: `${root}/model.bin` });
    expect(model).toMatchObject({ declaredIn: 'dvc.lock', stage: 'train', commit: commits.foreach });
    await expect(resolveDvcPointer({ repo: ws.dir, path: 'params.yaml' })).rejects.toThrow(
      /^params\.yaml is not tracked by DVC at [0-9a-f]{12} \(HEAD\)/,
    );
  });

  it('reads the files DVC wrote with its fast YAML reader, exactly as the yaml library does', async () => {
    for (const file of ['dvc.lock', 'data/raw.csv.dvc', 'dvc.yaml']) {
      const text = await ws.readFile(file);
      const fast = parseDvcYamlFast(text);
      if (file !== 'dvc.yaml') expect(fast, file).not.toBeUndefined();
      expect(fast ?? parseYaml(text), file).toEqual(parseYaml(text));
    }
  });

  it('writes nothing new when re-run, and reads only the new commits after one', async () => {
    const before = (await store.recent({ limit: 100 })).runs.map((r: RunSummary) => r.runKey);
    const again = await syncDvc({ store, repo: ws.dir });
    expect(again).toMatchObject({
      commitsRead: 0,
      runsWritten: 0,
      runsCreated: 0,
      incremental: true,
      errors: [],
    });
    expect((await store.recent({ limit: 100 })).runs.map((r) => r.runKey)).toEqual(before);

    await ws.writeFile('data/raw.csv', 'id,val\n4,d\n');
    await ws.dvc('add', '-q', 'data/raw.csv');
    const v4 = await ws.commit('data v4');
    const next = await syncDvc({ store, repo: ws.dir });
    expect(next).toMatchObject({
      commitsRead: 1,
      runsWritten: 1,
      runsCreated: 1,
      dataRuns: 1,
      incremental: true,
    });
    expect((await store.trace({ uri: uri('data/raw.csv') })).runs[0]?.gitCommit).toBe(v4);
  });
});
