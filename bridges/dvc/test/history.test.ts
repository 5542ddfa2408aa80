import { mkdir, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError } from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { createDvcWorkspace, type DvcWorkspace } from '@mltrace/test-helpers';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntryDetails } from '../src/pointers.js';
import { type DvcSyncSummary, formatSummary, syncDvc } from '../src/sync.js';

const A1 = '3b4f1d1b6a8c4e2f9d0a7c5e1b2d3f40';
const A2 = '6c1e0d7a9b8f4c3e2d1a0b9c8d7e6f50';
const LEGACY = 'e5ebd4c02cefbe7955977c67ada242b7';
const PREPARED = '01eb08488f976eaecc58cc2050c63cee.dir';
const short = (sha: string) => sha.slice(0, 12);
const dvcFile = (md5: string, path: string, hashKey = true) =>
  `outs:\n- md5: ${md5}\n  size: 10\n${hashKey ? '  hash: md5\n' : ''}  path: ${path}\n`;

// A lock file and a dvc.yaml as DVC 2 writes them on Windows: no `hash` keys, `\` in paths.
const WINDOWS_LOCK = [
  "schema: '2.0'",
  'stages:',
  '  prepare:',
  '    cmd: python src\\prepare.py',
  '    deps:',
  '    - path: data\\a.csv',
  `      md5: ${A1}`,
  '      size: 10',
  '    params:',
  '      params.yaml:',
  '        prepare.split: 0.2',
  '    outs:',
  '    - path: data\\prepared',
  `      md5: ${PREPARED}`,
  '      size: 12',
  '      nfiles: 2',
  '    - path: reports\\summary.json',
  '      md5: 2e5287ec5fbb4e7e1fbd4a4b8f0b1a2c',
  '      size: 12',
  '',
].join('\n');
const WINDOWS_YAML = [
  'stages:',
  '  prepare:',
  '    cmd: python src\\prepare.py',
  '    deps: [data\\a.csv]',
  '    params: [prepare.split]',
  '    outs: [data\\prepared]',
  '    metrics:',
  '    - reports\\summary.json:',
  '        cache: false',
  '',
].join('\n');

describe('syncDvc on a history with bad DVC files, legacy formats and shallow clones', () => {
  let ws: DvcWorkspace;
  let store: LineageStore;
  let root: string;
  let summary: DvcSyncSummary;
  const c: string[] = [];
  const git = (cwd: string, ...args: string[]) =>
    execa('git', args, { cwd, env: { ...process.env, ...ws.env } });

  beforeAll(async () => {
    ws = await createDvcWorkspace();
    root = await realpath(ws.dir);
    store = await openPgliteStore({ dataDir: 'memory://' });
    await ws.writeFile('data/a.csv.dvc', dvcFile(A1, 'a.csv'));
    c[1] = await ws.commit('a v1');
    await ws.writeFile('dvc.lock', "schema: '2.0'\nstages:\n  prepare: [unclosed\n");
    c[2] = await ws.commit('broken lock');
    await ws.writeFile('dvc.lock', "schema: '3.0'\nstages:\n  prepare:\n    cmd: python prepare.py\n");
    c[3] = await ws.commit('lock from the future');
    await ws.writeFile('dvc.lock', WINDOWS_LOCK);
    await ws.writeFile('dvc.yaml', WINDOWS_YAML);
    await ws.writeFile('legacy.csv.dvc', dvcFile(LEGACY, 'legacy.csv', false));
    c[4] = await ws.commit('DVC 2 lock written on Windows, legacy .dvc');
    await ws.writeFile('data/a.csv.dvc', 'outs:\n- md5: [\n');
    c[5] = await ws.commit('broken .dvc');
    await ws.writeFile('data/a.csv.dvc', dvcFile(A2, 'a.csv'));
    c[6] = await ws.commit('a v2');
    summary = await syncDvc({ store, repo: ws.dir });
  }, 120_000);

  afterAll(async () => {
    await store?.close();
    await ws?.cleanup();
  });

  it('reports malformed YAML and an unknown lock schema by file and commit, and syncs the rest', () => {
    expect(summary.errors.map((e) => [e.commit, e.file])).toEqual([
      [c[2], 'dvc.lock'],
      [c[3], 'dvc.lock'],
      [c[5], 'data/a.csv.dvc'],
    ]);
    expect(summary.errors[0]?.message).toMatch(
      new RegExp(`^dvc\\.lock at ${short(c[2]!)}: malformed YAML \\(line \\d+, column \\d+\\): `),
    );
    expect(summary.errors[1]?.message).toBe(
      `dvc.lock at ${short(c[3]!)}: unknown lock file schema "3.0" (this bridge reads schema '2.0' and DVC 1 lock files)`,
    );
    expect(summary.errors[2]?.message).toMatch(
      new RegExp(`^data/a\\.csv\\.dvc at ${short(c[5]!)}: malformed YAML`),
    );
    expect(summary).toMatchObject({ commitsRead: 6, dataRuns: 3, stageRuns: 1, runsCreated: 4 });
    const text = formatSummary(summary).split('\n');
    expect(text[0]).toMatch(
      /6 commits read, 4 runs written \(4 new; 1 stage, 3 data, 0 promotion\), 3 errors in/,
    );
    expect(text.slice(1).filter((line) => !line.startsWith('    hint:'))).toEqual(
      summary.errors.map((e) => `  ${e.message}`),
    );
  });

  it('reads a DVC 2 lock written on Windows as POSIX paths with md5-dos2unix hashes, linked by hash', async () => {
    const [run] = await store.history('prepare');
    expect(run?.gitCommit).toBe(c[4]);
    const full = await store.run(run!.id);
    expect(full.inputs.map((p) => [p.uri, p.version])).toEqual([[`file://${root}/data/a.csv`, A1]]);
    expect(full.outputs.map((p) => p.uri)).toEqual([
      `file://${root}/data/prepared`,
      `file://${root}/reports/summary.json`,
    ]);
    const outs = (full.metadata.dvc as { outs: EntryDetails[]; lockSchema: string }).outs;
    expect(outs[0]).toMatchObject({
      path: 'data/prepared',
      algorithm: 'md5-dos2unix',
      isDir: true,
      nfiles: 2,
    });
    expect(outs[0]?.remoteUrl).toBe(`${ws.remoteDir}/01/eb08488f976eaecc58cc2050c63cee.dir`);
    expect(outs[1]).toMatchObject({ path: 'reports/summary.json', cache: false });
    const a1 = (await store.history('dvc add data/a.csv')).find((r) => r.gitCommit === c[1]);
    expect(full.dependsOn).toEqual([a1?.id]);
  });

  it('puts a legacy .dvc entry at the old remote layout, as dvc get --show-url does', async () => {
    const [run] = await store.history('dvc add legacy.csv');
    const out = (run!.metadata.dvc as { outs: EntryDetails[] }).outs[0];
    expect(out).toMatchObject({ hash: LEGACY, algorithm: 'md5-dos2unix' });
    expect(out?.remoteUrl).toBe(await ws.dvc('get', '--show-url', '.', 'legacy.csv', '--rev', c[4]!));
  });

  it('reports the boundary of a shallow clone by commit and files, syncs the commits after it, and the rest once deepened', async () => {
    const clone = join(ws.root, 'shallow');
    await git(ws.root, 'clone', '-q', '--depth', '2', `file://${ws.dir}`, clone);
    const cloneRoot = await realpath(clone);
    const shallow = await syncDvc({ store, repo: clone });
    expect(shallow.errors).toHaveLength(1);
    expect(shallow.errors[0]).toMatchObject({
      commit: c[5],
      file: 'data/a.csv.dvc, dvc.lock, legacy.csv.dvc',
      hint: 'run `git fetch --unshallow` and sync again to record the full history',
    });
    expect(shallow.errors[0]?.message).toMatch(
      new RegExp(
        `^data/a\\.csv\\.dvc, dvc\\.lock, legacy\\.csv\\.dvc at ${short(c[5]!)}: this commit is the boundary of a shallow clone`,
      ),
    );
    expect(shallow).toMatchObject({ commitsRead: 2, runsCreated: 1, dataRuns: 1 });
    const [latest] = await store.history('dvc add data/a.csv');
    expect(latest?.runKey).toBe(`dvc:${cloneRoot}/${c[6]}/data/a.csv.dvc`);

    await git(clone, 'fetch', '-q', '--unshallow');
    const deepened = await syncDvc({ store, repo: clone });
    expect(deepened).toMatchObject({ incremental: false, commitsRead: 6, runsCreated: 3 });
    expect(deepened.errors.map((e) => e.commit)).toEqual([c[2], c[3], c[5]]);
  });

  it('records a stage once across a branch and its merge: a merge records only what is new to all its parents', async () => {
    const dir = join(ws.root, 'merge');
    await mkdir(join(dir, '.dvc'), { recursive: true });
    await git(dir, 'init', '-q', '-b', 'main');
    const lock = (clean: string, fit: string) =>
      `schema: '2.0'\nstages:\n  clean:\n    cmd: python clean.py\n    outs:\n    - path: clean.csv\n      hash: md5\n      md5: ${clean}00\n      size: 1\n  fit:\n    cmd: python fit.py\n    deps:\n    - path: fit.py\n      hash: md5\n      md5: ${fit}0\n      size: 1\n    outs:\n    - path: model.pkl\n      hash: md5\n      md5: ${fit}00\n      size: 1\n`;
    const commit = async (message: string, text: string) => {
      await writeFile(join(dir, 'dvc.lock'), text);
      await writeFile(join(dir, '.dvc', 'config'), '');
      await git(dir, 'add', '-A');
      await git(dir, 'commit', '-q', '-m', message);
      return (await git(dir, 'rev-parse', 'HEAD')).stdout.trim();
    };
    const base = await commit('base', lock('c0', 'f0'));
    await git(dir, 'checkout', '-q', '-b', 'feature');
    const feature = await commit('fit again', lock('c0', 'f1'));
    await git(dir, 'checkout', '-q', 'main');
    const main = await commit('clean again', lock('c1', 'f0'));
    await git(dir, 'merge', '-q', '--no-commit', '-s', 'ours', 'feature');
    // The merge keeps main's clean entry and the feature's fit entry, so it re-runs nothing.
    const merge = await commit('merge feature', lock('c1', 'f1'));
    const result = await syncDvc({ store, repo: dir });
    expect(result).toMatchObject({ commitsRead: 4, stageRuns: 4, errors: [] });
    const byComponent = async (component: string) =>
      (await store.history(component, { limit: 10 })).map((r) => r.gitCommit).sort();
    expect(await byComponent('clean')).toEqual([base, main].sort());
    expect(await byComponent('fit')).toEqual([base, feature].sort());
    expect(merge).toMatch(/^[0-9a-f]{40}$/);
  });

  it('rejects a repository without DVC, naming the commit, and a path that is not a git repository', async () => {
    const plain = join(ws.root, 'plain');
    await mkdir(plain);
    await git(plain, 'init', '-q', '-b', 'main');
    await writeFile(join(plain, 'README.md'), 'no data here\n');
    await git(plain, 'add', '-A');
    await git(plain, 'commit', '-q', '-m', 'readme');
    const head = (await git(plain, 'rev-parse', 'HEAD')).stdout.trim();
    const error = await syncDvc({ store, repo: plain }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toBe(
      `${await realpath(plain)} at ${short(head)} is not a DVC repository: no .dvc/ directory, and no .dvc or dvc.lock file in its history`,
    );
    await expect(syncDvc({ store, repo: join(ws.root, 'site-cache-nope') })).rejects.toThrow(
      /is not a git repository/,
    );
    await expect(syncDvc({ store, repo: ws.dir, rev: 'nope' })).rejects.toThrow(/unknown revision "nope"/);
  });
});
