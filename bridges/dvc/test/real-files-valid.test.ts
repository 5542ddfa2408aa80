/**
 * The schema checks refuse nothing DVC itself accepts (issue 21): a repository made with the real
 * `dvc` (an import-url, a matrix stage, a directory output, an experiment run with `dvc exp run`
 * and applied with `dvc exp apply`) syncs with no error, and what is recorded agrees with what DVC
 * reports of it: `dvc data status` (nothing left uncommitted) and `dvc exp show --json` (the
 * experiment's params are the recorded run's).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDvcWorkspace, type DvcWorkspace } from '@mltrace/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDvcHistory } from '../src/history.js';

/** DVC's template, written so that it is no JS template. */
const OS = '$' + '{item.os}';

describe('DVC files DVC accepts', { timeout: 600_000 }, () => {
  let ws: DvcWorkspace;
  let applied: string;

  beforeAll(async () => {
    ws = await createDvcWorkspace();
    await ws.writeFile('params.yaml', 'train:\n  lr: 0.01\n');
    await writeFile(join(ws.root, 'upstream.csv'), 'id,amount\n1,10\n');
    await mkdir(join(ws.dir, 'data'));
    await ws.dvc('import-url', '-q', `${ws.root}/upstream.csv`, 'data/raw.csv');
    await ws.writeFile(
      'dvc.yaml',
      [
        'stages:',
        '  prepare:',
        '    cmd: mkdir -p data/prepared && cp data/raw.csv data/prepared/all.csv',
        '    deps:',
        '      - data/raw.csv',
        '    outs:',
        '      - data/prepared',
        '  train:',
        '    cmd: cat data/prepared/all.csv params.yaml > model.pkl',
        '    params:',
        '      - train.lr',
        '    deps:',
        '      - data/prepared',
        '    outs:',
        '      - model.pkl',
        '  build:',
        '    matrix:',
        '      os: [linux, mac]',
        `    cmd: mkdir -p dist && echo ${OS} > dist/${OS}.txt`,
        '    deps:',
        '      - model.pkl',
        '    outs:',
        `      - dist/${OS}.txt`,
        '',
      ].join('\n'),
    );
    await ws.dvc('repro', '-q');
    await ws.commit('pipeline');
    await ws.dvc('exp', 'run', '-q', '--name', 'lr-high', '--set-param', 'train.lr=0.5');
    await ws.dvc('exp', 'apply', 'lr-high');
    applied = await ws.commit('apply experiment lr-high');
  }, 600_000);

  afterAll(async () => {
    await ws?.cleanup();
  });

  it('syncs every commit with no error', async () => {
    const history = await readDvcHistory({ repo: ws.dir });
    expect(history.errors).toEqual([]);
    expect(history.runs.map((r) => r.component)).toEqual(
      expect.arrayContaining(['dvc import-url data/raw.csv', 'prepare', 'train', 'build@linux', 'build@mac']),
    );
  });

  it('agrees with dvc data status: nothing recorded that DVC sees as uncommitted', async () => {
    const status = JSON.parse(await ws.dvc('data', 'status', '--json')) as Record<string, unknown>;
    expect(status.uncommitted ?? {}).toEqual({});
    expect(status.committed ?? {}).toEqual({});
  });

  it('records the applied experiment with the params dvc exp show --json gives', async () => {
    const shown = JSON.parse(await ws.dvc('exp', 'show', '--json')) as Array<{
      rev: string;
      data?: { params?: Record<string, { data?: { train?: { lr?: number } } }> };
    }>;
    const head = shown.find((e) => e.rev === applied);
    const lr = head?.data?.params?.['params.yaml']?.data?.train?.lr;
    expect(lr).toBe(0.5);
    const history = await readDvcHistory({ repo: ws.dir });
    const train = history.runs.find((r) => r.component === 'train' && r.gitCommit === applied);
    expect((train?.metadata?.dvc as { params?: unknown } | undefined)?.params).toEqual({
      'params.yaml': { 'train.lr': lr },
    });
  });
});
