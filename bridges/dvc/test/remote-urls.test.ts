/**
 * No invented facts (issue 21, finding 2): a remote URL is recorded only for what DVC caches, and
 * each one is what `dvc get --show-url` answers on the same repository and commit. A git-tracked
 * dependency (`src/train.py`) gets none, and `dvc get --show-url` finds no DVC output there either.
 */
import { createDvcWorkspace, type DvcWorkspace, toolPath } from '@mltrace/test-helpers';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDvcHistory } from '../src/history.js';
import type { EntryDetails } from '../src/pointers.js';

describe('remote URLs of a real DVC repository', { timeout: 300_000 }, () => {
  let ws: DvcWorkspace;
  let commit: string;
  let entries: EntryDetails[];

  const showUrl = (path: string) =>
    execa(toolPath('dvc'), ['get', '--show-url', ws.dir, path, '--rev', commit], {
      cwd: ws.root,
      env: { ...process.env, ...ws.env },
      reject: false,
    });

  beforeAll(async () => {
    ws = await createDvcWorkspace();
    await ws.writeFile('data/raw.csv', 'id,amount\n1,10\n2,25\n');
    await ws.dvc('add', '-q', 'data/raw.csv');
    await ws.writeFile('src/prepare.sh', 'mkdir -p data/prepared && cp data/raw.csv data/prepared/all.csv\n');
    await ws.writeFile('src/train.py', 'print("train")\n');
    await ws.dvc(
      'stage',
      'add',
      '-q',
      '-n',
      'prepare',
      '-d',
      'src/prepare.sh',
      '-d',
      'data/raw.csv',
      '-o',
      'data/prepared',
      'sh src/prepare.sh',
    );
    await ws.dvc(
      'stage',
      'add',
      '-q',
      '-n',
      'train',
      '-d',
      'src/train.py',
      '-d',
      'data/prepared',
      '-o',
      'model.pkl',
      '-M',
      'metrics.json',
      'cat src/train.py data/prepared/all.csv > model.pkl && echo \'{"acc": 1}\' > metrics.json',
    );
    await ws.dvc('repro', '-q');
    commit = await ws.commit('pipeline');
    await ws.dvc('push', '-q');
    const history = await readDvcHistory({ repo: ws.dir });
    entries = history.runs.flatMap((run) => {
      const dvc = run.metadata?.dvc as { deps?: EntryDetails[]; outs?: EntryDetails[] };
      return [...(dvc.deps ?? []), ...(dvc.outs ?? [])];
    });
  }, 300_000);

  afterAll(async () => {
    await ws?.cleanup();
  });

  it('gives git-tracked files no remote URL, where dvc get --show-url finds no DVC output', async () => {
    for (const path of ['src/train.py', 'src/prepare.sh']) {
      const recorded = entries.filter((e) => e.path === path);
      expect(recorded.length).toBeGreaterThan(0);
      expect(recorded.map((e) => e.remoteUrl)).toEqual(recorded.map(() => undefined));
      const dvc = await showUrl(path);
      expect(dvc.exitCode).not.toBe(0);
      expect(dvc.stderr).toContain(`Unable to find DVC file with output '${path}'`);
    }
  });

  it('records for every cached output and its uses the URL dvc get --show-url gives', async () => {
    const withUrl = entries.filter((e) => e.remoteUrl !== undefined);
    // data/raw.csv (dvc add), data/prepared (a directory, also read by train), model.pkl.
    expect(new Set(withUrl.map((e) => e.path))).toEqual(
      new Set(['data/raw.csv', 'data/prepared', 'model.pkl']),
    );
    for (const entry of withUrl) {
      const dvc = await showUrl(entry.path);
      expect(dvc.exitCode, dvc.stderr).toBe(0);
      expect(entry.remoteUrl).toBe(dvc.stdout.trim());
    }
  });

  it('gives an output DVC does not cache (metrics, -M) no remote URL', () => {
    const metrics = entries.filter((e) => e.path === 'metrics.json');
    expect(metrics.length).toBe(1);
    expect(metrics[0]).toMatchObject({ cache: false });
    expect(metrics[0]?.remoteUrl).toBeUndefined();
  });
});
