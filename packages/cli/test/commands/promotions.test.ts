import { openStore } from '@mltrace/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTemplate, type Workspace, workspace } from '../test-cli.js';

describe('promotions', { timeout: 180_000 }, () => {
  let ws: Workspace;

  beforeAll(async () => {
    ws = await workspace();
    await ws.ok(
      'log',
      'decide',
      '--run-key',
      'decide-1',
      '--start',
      '2024-05-02T10:00:00Z',
      '--end',
      '2024-05-02T10:00:01Z',
    );
    // Decisions are recorded by the retraining workflow; here straight through the store.
    const store = await openStore({ env: ws.env, cwd: ws.cwd });
    try {
      await store.recordPromotionDecision({
        decisionKey: 'taxi/4',
        model: 'taxi',
        candidate: '4',
        previousChampion: '3',
        decision: 'promote',
        reasons: ['auc 0.81 >= champion 0.78 + 0.01'],
        approver: 'alice',
        runKey: 'decide-1',
        decidedAt: new Date('2024-05-02T10:00:01Z'),
      });
      await store.recordPromotionDecision({
        decisionKey: 'taxi/3',
        model: 'taxi',
        candidate: '3',
        decision: 'reject',
        reasons: ['drift psi 0.31 > 0.2'],
        decidedAt: new Date('2024-05-01T10:00:00Z'),
      });
    } finally {
      await store.close();
    }
  });

  afterAll(async () => {
    await ws.remove();
    await removeTemplate();
  });

  it('lists decisions newest first with their reasons and the run that made them', async () => {
    expect((await ws.ok('promotions', 'taxi')).split('\n')).toEqual([
      '2024-05-02T10:00:01Z  models:/taxi@champion  version 4 over version 3: promote by alice (retraining decision 1)',
      '  - auc 0.81 >= champion 0.78 + 0.01',
      '  decided by run 1 (mltrace inspect 1)',
      '',
      '2024-05-01T10:00:00Z  models:/taxi@champion  version 3 over no champion: reject (retraining decision 2)',
      '  - drift psi 0.31 > 0.2',
      '',
    ]);
    expect(await ws.ok('promotions', 'taxi', '--until', '2024-05-01T12:00:00Z')).toContain('version 3 over');
    expect(await ws.ok('promotions', 'taxi', '--since', '2024-05-02')).not.toContain('version 3 over');
  });

  it('prints the timeline as JSON, in the API’s shape, and says when there is none', async () => {
    const { promotions } = await ws.json<{ promotions: Array<Record<string, unknown>> }>(
      'promotions',
      '--limit',
      '1',
    );
    expect(promotions).toEqual([
      {
        kind: 'decision',
        model: 'taxi',
        alias: 'champion',
        stage: null,
        action: 'promote',
        from: ['3'],
        to: '4',
        at: '2024-05-02T10:00:01.000Z',
        detectedAt: null,
        who: 'alice',
        reasons: ['auc 0.81 >= champion 0.78 + 0.01'],
        decisionId: 1,
        approvalComment: null,
        policy: {},
        metrics: {},
        runId: 1,
      },
    ]);
    expect(await ws.ok('promotions', 'other-model')).toBe('no promotions recorded\n');
  });
});
