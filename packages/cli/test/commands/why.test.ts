import { openStore } from '@mltrace/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTemplate, type Workspace, workspace } from '../test-cli.js';

const DATA = 'file:///data/taxi/trips.csv';
const MD5 = '91b3d3f9a6c0e5d4b2a1f0e9d8c7b6a5';
const at = (minute: number) => new Date(Date.UTC(2024, 4, 2, 10, minute));

describe('mltrace why', { timeout: 180_000 }, () => {
  let ws: Workspace;

  beforeAll(async () => {
    ws = await workspace();
    // The lineage a retraining run leaves, written straight through the store: a DVC data
    // version, the training run, the registration, the decision and the promotion.
    const store = await openStore({ env: ws.env, cwd: ws.cwd });
    try {
      await store.logRuns([
        {
          component: 'dvc add data/trips.csv',
          source: 'dvc',
          runKey: 'dvc:/data/taxi/c0ffee/data/trips.csv.dvc',
          gitCommit: 'c0ffee1234ab',
          startedAt: at(0),
          endedAt: at(0),
          outputs: [{ uri: DATA, version: MD5 }],
        },
        {
          component: 'train',
          runKey: 'train-1',
          gitCommit: 'feedbeef5678',
          startedAt: at(1),
          endedAt: at(5),
          inputs: [{ uri: DATA, version: MD5 }],
          outputs: ['runs:/abc123/model'],
        },
        {
          component: 'register',
          runKey: 'register-1',
          startedAt: at(6),
          endedAt: at(6),
          inputs: ['runs:/abc123/model'],
          outputs: [{ uri: 'models:/taxi/3', version: '3', type: 'model' }],
        },
        {
          component: 'decide',
          runKey: 'decide-1',
          startedAt: at(7),
          endedAt: at(7),
          inputs: [{ uri: 'models:/taxi/3', version: '3' }],
        },
        {
          component: 'promote',
          runKey: 'promote-1',
          startedAt: at(8),
          endedAt: at(8),
          inputs: [{ uri: 'models:/taxi/3', version: '3' }],
          outputs: [{ uri: 'models:/taxi@champion', version: '3', type: 'model' }],
        },
      ]);
      await store.recordPromotionDecision({
        decisionKey: 'taxi/3',
        model: 'taxi',
        candidate: '3',
        previousChampion: '2',
        decision: 'promote',
        metrics: { candidate: { f1: 0.81 }, champion: { f1: 0.78 } },
        reasons: ['f1 0.8100 vs champion 0.7800 (+0.0300): at least the required improvement of +0.0100'],
        runKey: 'decide-1',
        decidedAt: at(7),
      });
    } finally {
      await store.close();
    }
  });

  afterAll(async () => {
    await ws?.remove();
    await removeTemplate();
  });

  it('explains an alias: the version, the decision and its reasons, the evaluation, the training run and the data version with its commit', async () => {
    const text = await ws.ok('why', 'models:/taxi@champion');
    const lines = text.split('\n');
    expect(lines[0]).toBe('models:/taxi@champion is version 3');
    expect(text).toContain('Decision: promote on 2024-05-02T10:07:00.000Z (replacing version 2)\n');
    expect(text).toContain(
      '    - f1 0.8100 vs champion 0.7800 (+0.0300): at least the required improvement of +0.0100\n',
    );
    expect(text).toMatch(/\nEvaluation:\n {2}candidate +f1 0\.81\d*\n {2}champion +f1 0\.78\d*\n/);
    expect(text).toMatch(
      /\nTraining:\n {2}MLflow run +abc123\n {2}run +train #2 2024-05-02T10:01:00\.000Z\n {2}code commit +feedbeef5678\n/,
    );
    expect(text).toContain(`  version      ${DATA}@${MD5}\n  git commit   c0ffee1234ab\n`);
    expect(text).not.toContain('Missing:');
    // The chain as the graph: each run under the one that used it.
    expect(text).toMatch(
      /\n {2}promote #5 \[api, succeeded\] -> models:\/taxi@champion@3\n {2}└─ register #3 [^\n]*\n {5}└─ train #2 [^\n]*\n {8}└─ dvc add data\/trips\.csv #1 \[dvc, succeeded\]/,
    );
  });

  it('prints the explanation as JSON', async () => {
    const json = await ws.json<Record<string, unknown>>('why', 'models:/taxi@champion');
    expect(json).toMatchObject({
      uri: 'models:/taxi@champion',
      model: 'taxi',
      alias: 'champion',
      version: '3',
      versionSource: 'lineage',
      decision: {
        decision: 'promote',
        candidate: '3',
        previousChampion: '2',
        reasons: ['f1 0.8100 vs champion 0.7800 (+0.0300): at least the required improvement of +0.0100'],
        decidedAt: '2024-05-02T10:07:00.000Z',
        runId: 4,
      },
      evaluation: { candidate: { f1: 0.81 }, champion: { f1: 0.78 } },
      training: { mlflowRunId: 'abc123', run: { component: 'train', gitCommit: 'feedbeef5678' } },
      data: [{ uri: DATA, version: MD5, commit: 'c0ffee1234ab', recordedBy: 'dvc add data/trips.csv' }],
      missing: [],
    });
    expect((json.chain as Array<{ component: string }>).map((r) => r.component)).toEqual([
      'promote',
      'register',
      'train',
      'dvc add data/trips.csv',
    ]);
  });

  it('refuses what is not an alias URI (exit 2) and says when nothing is known of an alias (exit 3)', async () => {
    const notAlias = await ws.run(['why', 'models:/taxi/3']);
    expect(notAlias).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'mltrace: error: models:/taxi/3 is not a model alias URI\n' +
        'hint: use models:/NAME@ALIAS, e.g. models:/taxi-tip@champion\n',
    });
    const unknown = await ws.run(['why', 'models:/other@champion']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/^mltrace: error: nothing is known about models:\/other@champion\nhint: /);
  });
});
