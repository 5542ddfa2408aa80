/**
 * A `dvc.lock` cut short is no record of a run (issue 21, finding 1). A lock made by a real
 * `dvc repro` (a directory output, params, a foreach stage) is cut after every line and committed
 * over the full lock before it: each cut is an error naming the file, the commit and the line, and
 * no run of that file is recorded. The cut of the issue (`params.yaml:\n        train.l`) is
 * refused with the words, line and column of `dvc status` itself.
 */

import { openPgliteStore } from '@mltrace/store/pglite';
import { createDvcWorkspace, type DvcWorkspace, toolPath } from '@mltrace/test-helpers';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDvcHistory } from '../src/history.js';
import { formatSummary, syncDvc } from '../src/sync.js';

describe('a dvc.lock cut short', { timeout: 600_000 }, () => {
  let ws: DvcWorkspace;
  let base: string;
  let full: string;

  beforeAll(async () => {
    ws = await createDvcWorkspace();
    await ws.writeFile('params.yaml', 'prepare:\n  split: 0.2\ntrain:\n  lr: 0.01\n  epochs: 3\n');
    await ws.writeFile('data/raw.csv', 'id,amount\n1,10\n2,25\n3,7\n');
    await ws.dvc('add', '-q', 'data/raw.csv');
    await ws.dvc(
      'stage',
      'add',
      '-q',
      '-n',
      'prepare',
      '-p',
      'prepare.split',
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
      'train.lr,train.epochs',
      '-d',
      'data/prepared',
      '-o',
      'model.pkl',
      '-M',
      'metrics.json',
      'cat data/prepared/train.csv params.yaml > model.pkl && echo \'{"acc": 0.5}\' > metrics.json',
    );
    const yaml = await ws.readFile('dvc.yaml');
    await ws.writeFile(
      'dvc.yaml',
      `${yaml}  evaluate:\n    foreach: [train, test]\n    do:\n      cmd: mkdir -p eval && wc -l < data/prepared/\${item}.csv > eval/\${item}.txt\n      deps:\n        - data/prepared\n        - model.pkl\n      outs:\n        - eval/\${item}.txt\n`,
    );
    await ws.dvc('repro', '-q');
    base = await ws.commit('pipeline');
    await ws.writeFile('params.yaml', 'prepare:\n  split: 0.2\ntrain:\n  lr: 0.02\n  epochs: 3\n');
    await ws.dvc('repro', '-q');
    full = await ws.readFile('dvc.lock');
  }, 300_000);

  afterAll(async () => {
    await ws?.cleanup();
  });

  /** Commits `text` as dvc.lock on top of the pipeline commit; its sha. */
  const commitLock = async (text: string, message: string) => {
    await ws.git('reset', '-q', '--hard', base);
    await ws.writeFile('dvc.lock', text);
    await ws.git('add', 'dvc.lock');
    await ws.git('commit', '-q', '--allow-empty', '-m', message);
    return ws.git('rev-parse', 'HEAD');
  };

  it('records the full lock (the cuts below are not refused for nothing)', async () => {
    const sha = await commitLock(full, 'train with lr 0.02');
    const history = await readDvcHistory({ repo: ws.dir, rev: `${base}..${sha}` });
    expect(history.errors).toEqual([]);
    expect(history.runs.map((r) => r.component).sort()).toEqual(
      ['evaluate@test', 'evaluate@train', 'train'].sort(),
    );
  });

  it('refuses the lock cut after every line: an error naming file, commit and line, and no run', async () => {
    const lines = full.split('\n');
    expect(lines.length).toBeGreaterThan(40);
    const accepted: number[] = [];
    for (let n = 1; n < lines.length - 1; n++) {
      const cut = `${lines.slice(0, n).join('\n')}\n`;
      const sha = await commitLock(cut, `cut after line ${n}`);
      const history = await readDvcHistory({ repo: ws.dir, rev: `${base}..${sha}` });
      if (history.errors.length === 0 || history.runs.length > 0) accepted.push(n);
      for (const error of history.errors) {
        expect(error).toMatchObject({ commit: sha, file: 'dvc.lock' });
        expect(error.message).toMatch(new RegExp(`^dvc\\.lock at ${sha.slice(0, 12)}: `));
      }
    }
    expect(accepted, `cuts taken as a record of runs: after lines ${accepted.join(', ')}`).toEqual([]);
  });

  it("refuses the issue's cut inside params with the words, line and column of `dvc status`", async () => {
    // A cut inside a value: valid YAML, a string where DVC expects a map of params.
    // The lock was cut at `params.yaml:\n        train.l`; this one lists train.epochs first.
    const match = /params\.yaml:\n {8}train\.[a-z]/.exec(full.slice(full.indexOf('  train:')));
    expect(match).not.toBeNull();
    const cut = full.slice(0, full.indexOf('  train:') + match!.index + match![0].length);
    const sha = await commitLock(cut, 'cut inside params');
    const dvc = await execa(toolPath('dvc'), ['status'], {
      cwd: ws.dir,
      env: { ...process.env, ...ws.env },
      reject: false,
    });
    expect(dvc.exitCode).not.toBe(0);
    const store = await openPgliteStore({ dataDir: 'memory://' });
    try {
      const summary = await syncDvc({ store, repo: ws.dir, rev: `${base}..${sha}`, gto: false });
      expect(summary.runsWritten).toBe(0);
      expect(summary.errors).toHaveLength(1);
      const message = summary.errors[0]!.message;
      expect(message).toMatch(
        /expected a dictionary, in stages -> train -> params -> params\.yaml, line \d+, column \d+/,
      );
      expect(formatSummary(summary)).toMatch(/, 0 runs written .*, 1 error in /);
      {
        // What DVC says of the same file, word for word where the two overlap.
        const theirs =
          /expected a dictionary, in stages -> train -> params -> params\.yaml, line \d+, column \d+/.exec(
            dvc.stderr.replace(/\s+/g, ' '),
          )?.[0];
        expect(theirs, dvc.stderr).toBeDefined();
        expect(message).toContain(theirs);
      }
    } finally {
      await store.close();
    }
  });
});
