import type { PromotionDecision } from '@mltrace/core';
import type { Promotion } from '@mltrace/store';
import { describe, expect, it } from 'vitest';
import { formatExplanation, formatPromotions, formatTimeline, parseAliasUri } from '../src/explain.js';

function decision(overrides: Partial<PromotionDecision>): PromotionDecision {
  return {
    id: 1,
    decisionKey: 'k',
    model: 'taxi-tip',
    candidate: '2',
    previousChampion: '1',
    alias: 'champion',
    decision: 'reject',
    policy: {},
    metrics: {},
    reasons: ['f1 0.6200 vs champion 0.7000 (-0.0800): short of the required improvement of +0.0100'],
    approver: null,
    approvalComment: null,
    runId: 7,
    decidedAt: new Date('2020-04-01T10:00:00Z'),
    ...overrides,
  };
}

describe('parseAliasUri', () => {
  it('splits models:/NAME@ALIAS and refuses anything else with a hint', () => {
    expect(parseAliasUri('models:/taxi-tip@champion')).toEqual({ model: 'taxi-tip', alias: 'champion' });
    expect(() => parseAliasUri('models:/taxi-tip/3')).toThrow('models:/taxi-tip/3 is not a model alias URI');
  });
});

describe('formatPromotions', () => {
  it('prints one block per decision with its reasons, approver, comment and run', () => {
    const text = formatPromotions([
      decision({ runId: null }),
      decision({
        candidate: '1',
        previousChampion: null,
        decision: 'approved',
        approver: 'alice',
        approvalComment: 'ok',
        reasons: ['approved by alice: ok'],
        runId: 7,
      }),
    ]);
    expect(text).toBe(
      [
        '2020-04-01T10:00:00Z  models:/taxi-tip@champion  version 2 over version 1: reject',
        '  - f1 0.6200 vs champion 0.7000 (-0.0800): short of the required improvement of +0.0100',
        '',
        '2020-04-01T10:00:00Z  models:/taxi-tip@champion  version 1 over no champion: approved by alice',
        '  - approved by alice: ok',
        '  comment: ok',
        '  decided by run 7 (mltrace inspect 7)',
        '',
      ].join('\n'),
    );
    expect(formatPromotions([])).toBe('no promotion decisions recorded\n');
  });
});

describe('formatExplanation', () => {
  it('lists what is missing when the lineage is incomplete', () => {
    const text = formatExplanation({
      uri: 'models:/taxi-tip@champion',
      model: 'taxi-tip',
      alias: 'champion',
      version: '3',
      versionSource: 'lineage',
      decision: null,
      registryMove: null,
      loggedModel: null,
      tags: null,
      evaluation: null,
      training: null,
      data: [],
      chain: [],
      missing: ['no recorded promotion decision put version 3 there'],
    });
    expect(text).toBe(
      'models:/taxi-tip@champion is version 3\n\nMissing:\n  - no recorded promotion decision put version 3 there\n',
    );
  });
});

describe('formatTimeline', () => {
  const move = (overrides: Partial<Promotion>): Promotion => ({
    kind: 'alias',
    model: 'taxi-tip',
    alias: 'champion',
    stage: null,
    action: 'moved',
    from: ['1'],
    to: '2',
    at: new Date('2020-04-02T10:00:00Z'),
    detectedAt: new Date('2020-04-02T10:00:00Z'),
    who: null,
    reasons: [],
    decisionId: null,
    approvalComment: null,
    policy: null,
    metrics: null,
    runId: 9,
    ...overrides,
  });

  it('prints registry moves with from -> to, who, and the decision behind them or no recorded reason', () => {
    const text = formatTimeline([
      move({ decisionId: 4 }),
      move({
        kind: 'stage',
        alias: null,
        stage: 'Production',
        action: 'transition',
        from: [],
        to: '1',
        at: new Date('2020-04-01T09:00:00Z'),
        detectedAt: new Date('2020-04-01T09:05:00Z'),
        runId: 8,
      }),
    ]);
    expect(text.split('\n')).toEqual([
      '2020-04-02T10:00:00Z  models:/taxi-tip@champion  version 1 -> version 2: alias moved in the MLflow registry',
      '  who: not recorded by MLflow',
      '  reason: see retraining decision 4',
      '  synced as run 9 (mltrace inspect 9)',
      '',
      '2020-04-01T09:00:00Z  models:/taxi-tip/Production  none -> version 1: stage transition in the MLflow registry',
      '  who: not recorded by MLflow',
      '  detected: 2020-04-01T09:05:00Z',
      '  no recorded reason',
      '  synced as run 8 (mltrace inspect 8)',
      '',
    ]);
    expect(formatTimeline([])).toBe('no promotions recorded\n');
  });
});
