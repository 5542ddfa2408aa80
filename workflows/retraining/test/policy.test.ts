import { describe, expect, it } from 'vitest';
import type { DriftReport } from '../src/drift.js';
import {
  ApprovalError,
  applyApproval,
  applyApprovalTimeout,
  type DecisionEvidence,
  decidePromotion,
  PolicyError,
  type PromotionPolicy,
  parseDuration,
  promotes,
  resolvePolicy,
  validateApproval,
} from '../src/policy.js';

const policy: PromotionPolicy = {
  primaryMetric: { name: 'f1', minImprovement: 0.01, minValue: 0.5 },
  guardMetrics: [{ name: 'auc', maxRegression: 0.02 }],
  drift: { psi: 0.25, ks: 0.2 },
};

function evidence(overrides: Partial<DecisionEvidence> = {}): DecisionEvidence {
  return {
    model: 'taxi-tip',
    candidate: { version: '3', metrics: { f1: 0.72, auc: 0.8, accuracy: 0.7 } },
    champion: { version: '2', metrics: { f1: 0.7, auc: 0.81, accuracy: 0.69 } },
    drift: noDrift,
    ...overrides,
  };
}

function featureDrift(feature: string, psi: number, ks: number) {
  return {
    feature,
    referenceCount: 100,
    currentCount: 100,
    psi,
    ks,
    referenceMean: 0,
    currentMean: 0,
    referenceStd: 1,
    meanShift: 0,
    quantiles: [],
    quantileShift: 0,
    exceeded: [],
  };
}

const noDrift: DriftReport = {
  features: [featureDrift('trip_distance', 0.01, 0.02), featureDrift('pickup_hour', 0.02, 0.03)],
  drifted: [],
  thresholds: { psi: 0.25, ks: 0.2 },
  missing: [],
};

const distanceDrift: DriftReport = {
  ...noDrift,
  features: [featureDrift('trip_distance', 0.41, 0.26), featureDrift('pickup_hour', 0.02, 0.03)],
  drifted: ['trip_distance'],
};

describe('decidePromotion', () => {
  it('promotes a candidate that beats the champion by the required margin, with reasons naming each metric', () => {
    const decision = decidePromotion(policy, evidence());
    expect(decision.outcome).toBe('promote');
    expect(promotes(decision.outcome)).toBe(true);
    expect(decision.previousChampion).toBe('2');
    expect(decision.reasons).toContain(
      'f1 0.7200 vs champion 0.7000 (+0.0200): improves by at least the required +0.0100',
    );
    expect(decision.reasons).toContain('f1 0.7200 reaches the floor 0.5000');
    expect(decision.reasons).toContain(
      'auc 0.8000 vs champion 0.8100 (-0.0100): within the allowed regression of 0.0200',
    );
    expect(decision.reasons).toContain('no feature of 2 drifted beyond psi 0.25, ks 0.2');
    expect(decision.metrics.candidate).toEqual({ f1: 0.72, auc: 0.8, accuracy: 0.7 });
    expect(decision.metrics.champion).toEqual({ f1: 0.7, auc: 0.81, accuracy: 0.69 });
  });

  it('rejects a candidate worse than the champion on the primary metric, and says by how much', () => {
    const decision = decidePromotion(
      policy,
      evidence({ candidate: { version: '3', metrics: { f1: 0.65, auc: 0.81 } } }),
    );
    expect(decision.outcome).toBe('reject');
    expect(decision.reasons).toEqual([
      'f1 0.6500 vs champion 0.7000 (-0.0500): short of the required improvement of +0.0100',
    ]);
  });

  it('rejects a gain smaller than the minimum improvement', () => {
    const decision = decidePromotion(
      policy,
      evidence({ candidate: { version: '3', metrics: { f1: 0.705, auc: 0.81 } } }),
    );
    expect(decision.outcome).toBe('reject');
    expect(decision.reasons[0]).toContain('short of the required improvement of +0.0100');
  });

  it('rejects a candidate that misses the floor of the primary metric, even without a champion', () => {
    const decision = decidePromotion(
      policy,
      evidence({ champion: null, drift: null, candidate: { version: '1', metrics: { f1: 0.4, auc: 0.6 } } }),
    );
    expect(decision.outcome).toBe('reject');
    expect(decision.reasons).toEqual(['f1 0.4000 misses the floor 0.5000']);
  });

  it('rejects a guard metric that regresses beyond its bound', () => {
    const decision = decidePromotion(
      policy,
      evidence({ candidate: { version: '3', metrics: { f1: 0.75, auc: 0.7 } } }),
    );
    expect(decision.outcome).toBe('reject');
    expect(decision.reasons).toEqual([
      'auc 0.7000 vs champion 0.8100 (-0.1100): regresses more than the allowed 0.0200',
    ]);
  });

  it('treats lower as better for a minimized metric', () => {
    const decision = decidePromotion(
      { primaryMetric: { name: 'log_loss', direction: 'minimize', minImprovement: 0.01 }, drift: false },
      evidence({
        candidate: { version: '3', metrics: { log_loss: 0.4 } },
        champion: { version: '2', metrics: { log_loss: 0.45 } },
      }),
    );
    expect(decision.outcome).toBe('promote');
    expect(decision.reasons[0]).toBe(
      'log_loss 0.4000 vs champion 0.4500 (-0.0500, lower is better): improves by at least the required +0.0100',
    );
  });

  it('rejects a candidate without the primary metric, listing what the evaluation reported', () => {
    const decision = decidePromotion(
      policy,
      evidence({ candidate: { version: '3', metrics: { accuracy: 0.9, auc: 0.9 } } }),
    );
    expect(decision.outcome).toBe('reject');
    expect(decision.reasons).toContain('the candidate has no f1 (the evaluation reported accuracy, auc)');
  });

  it('rejects when the champion has no value of the metric to compare with', () => {
    const decision = decidePromotion(policy, evidence({ champion: { version: '2', metrics: { auc: 0.8 } } }));
    expect(decision.outcome).toBe('reject');
    expect(decision.reasons).toEqual(['the champion (version 2) has no f1 to compare with']);
  });

  it('rejects a candidate that already holds the alias', () => {
    const decision = decidePromotion(
      policy,
      evidence({ champion: { version: '3', metrics: { f1: 0.6, auc: 0.8 } } }),
    );
    expect(decision.outcome).toBe('reject');
    expect(decision.reasons[0]).toBe('the candidate (version 3) already holds models:/taxi-tip@champion');
  });

  it('blocks the promotion of a better candidate when a feature drifted beyond the limits', () => {
    const decision = decidePromotion(policy, evidence({ drift: distanceDrift }));
    expect(decision.outcome).toBe('reject');
    expect(decision.reasons).toEqual([
      'trip_distance drifted beyond the limits: psi 0.4100 > 0.25, ks 0.2600 > 0.2',
      '1 of 2 features drifted (trip_distance); at most 0 allowed',
    ]);
    expect(decision.metrics.drift?.[0]).toMatchObject({ feature: 'trip_distance', psi: 0.41, ks: 0.26 });
  });

  it('tolerates as many drifted features as the policy allows', () => {
    const decision = decidePromotion(
      { ...policy, drift: { psi: 0.25, ks: 0.2, maxDriftedFeatures: 1 } },
      evidence({ drift: distanceDrift }),
    );
    expect(decision.outcome).toBe('promote');
    expect(decision.reasons).toContain('1 of 2 features drifted (trip_distance); at most 1 allowed');
  });

  it('sends drift beyond the limits to a person when the policy says so', () => {
    const decision = decidePromotion(
      { ...policy, drift: { psi: 0.25, onExceeded: 'require_approval' } },
      evidence({ drift: distanceDrift }),
    );
    expect(decision.outcome).toBe('awaiting_approval');
    expect(decision.reasons[0]).toBe('trip_distance drifted beyond the limits: psi 0.4100 > 0.25');
    expect(decision.reasons).toContain('the policy sends drift beyond the limits to a person for approval');
  });

  it('still rejects when a metric fails, even if drift alone would go to a person', () => {
    const decision = decidePromotion(
      { ...policy, drift: { psi: 0.25, onExceeded: 'require_approval' } },
      evidence({ drift: distanceDrift, candidate: { version: '3', metrics: { f1: 0.6, auc: 0.8 } } }),
    );
    expect(decision.outcome).toBe('reject');
  });

  it('says so when drift was not checked', () => {
    const decision = decidePromotion(
      policy,
      evidence({ drift: null, driftSkipped: 'the champion has no recorded training data' }),
    );
    expect(decision.outcome).toBe('promote');
    expect(decision.reasons).toContain('drift not checked: the champion has no recorded training data');
  });

  it('promotes a first model that reaches the floor, saying no champion holds the alias', () => {
    const decision = decidePromotion(
      policy,
      evidence({ champion: null, drift: null, candidate: { version: '1', metrics: { f1: 0.7, auc: 0.8 } } }),
    );
    expect(decision.outcome).toBe('promote');
    expect(decision.previousChampion).toBeNull();
    expect(decision.reasons[0]).toBe(
      'no champion holds models:/taxi-tip@champion: version 1 would be the first',
    );
  });

  it('awaits approval when the policy requires one, or for a first model when it says so', () => {
    expect(decidePromotion({ ...policy, requireApproval: true }, evidence()).outcome).toBe(
      'awaiting_approval',
    );
    const first = decidePromotion(
      { ...policy, whenNoChampion: 'require_approval' },
      evidence({ champion: null, drift: null }),
    );
    expect(first.outcome).toBe('awaiting_approval');
    expect(first.reasons).toContain('the policy requires approval by a person for a first model');
  });

  it('is deterministic: the same policy and evidence give the same decision', () => {
    expect(decidePromotion(policy, evidence({ drift: distanceDrift }))).toEqual(
      decidePromotion(policy, evidence({ drift: distanceDrift })),
    );
  });
});

describe('approvals', () => {
  const awaiting = decidePromotion(
    { ...policy, requireApproval: true, approvers: ['alice', 'bob'] },
    evidence(),
  );

  it('records the approver and the comment of an approval', () => {
    const approved = applyApproval(awaiting, {
      approver: 'alice',
      approve: true,
      comment: 'F1 up, drift low',
    });
    expect(approved.outcome).toBe('approved');
    expect(promotes(approved.outcome)).toBe(true);
    expect(approved.approver).toBe('alice');
    expect(approved.approvalComment).toBe('F1 up, drift low');
    expect(approved.reasons[0]).toBe('approved by alice: F1 up, drift low');
  });

  it('records a rejection by a person, which does not promote', () => {
    const rejected = applyApproval(awaiting, {
      approver: 'bob',
      approve: false,
      comment: 'wait for March labels',
    });
    expect(rejected.outcome).toBe('rejected_by_person');
    expect(promotes(rejected.outcome)).toBe(false);
    expect(rejected.reasons[0]).toBe('rejected by bob: wait for March labels');
  });

  it('refuses an approval without approver, without reason, from someone not allowed, or for another candidate', () => {
    expect(() => validateApproval(awaiting, { approver: ' ', approve: true, comment: 'ok' })).toThrow(
      'must say who approves',
    );
    expect(() => validateApproval(awaiting, { approver: 'alice', approve: true, comment: '' })).toThrow(
      'must say why',
    );
    expect(() => validateApproval(awaiting, { approver: 'mallory', approve: true, comment: 'ok' })).toThrow(
      'mallory may not approve promotions of taxi-tip; the policy allows alice, bob',
    );
    expect(() =>
      validateApproval(awaiting, { approver: 'alice', approve: true, comment: 'ok', candidate: '9' }),
    ).toThrow('the approval is for version 9, but version 3 awaits approval');
    expect(() =>
      validateApproval(awaiting, { approver: 'alice', approve: 'yes' as never, comment: 'ok' }),
    ).toThrow(ApprovalError);
  });

  it('refuses an approval when nothing awaits one', () => {
    expect(() => validateApproval(null, { approver: 'alice', approve: true, comment: 'ok' })).toThrow(
      'nothing awaits approval: no decision has been made yet',
    );
    const promoted = decidePromotion(policy, evidence());
    expect(() => validateApproval(promoted, { approver: 'alice', approve: true, comment: 'ok' })).toThrow(
      'nothing awaits approval: its decision is promote',
    );
  });

  it('ends in timed_out, naming the timeout, when no one answers', () => {
    const timedOut = applyApprovalTimeout(
      decidePromotion({ ...policy, requireApproval: true, approvalTimeout: '2 days' }, evidence()),
    );
    expect(timedOut.outcome).toBe('timed_out');
    expect(promotes(timedOut.outcome)).toBe(false);
    expect(timedOut.reasons[0]).toBe('no approval within 2 days: the champion stays');
  });
});

describe('resolvePolicy', () => {
  it('applies every default', () => {
    expect(resolvePolicy({ primaryMetric: { name: 'f1' } })).toEqual({
      primaryMetric: { name: 'f1', direction: 'maximize', minImprovement: 0 },
      guardMetrics: [],
      drift: {
        psi: 0.25,
        ks: 0.2,
        meanShift: 0.5,
        quantileShift: 0.75,
        maxDriftedFeatures: 0,
        onExceeded: 'reject',
      },
      requireApproval: false,
      approvers: [],
      approvalTimeout: '7 days',
      approvalTimeoutMs: 604_800_000,
      whenNoChampion: 'promote',
    });
  });

  it('refuses a malformed policy with a message naming the field', () => {
    expect(() => resolvePolicy({} as PromotionPolicy)).toThrow(PolicyError);
    expect(() => resolvePolicy({ primaryMetric: { name: '' } })).toThrow(
      'primaryMetric.name must be a metric name',
    );
    expect(() => resolvePolicy({ primaryMetric: { name: 'f1', direction: 'up' as never } })).toThrow(
      "primaryMetric.direction must be 'maximize' or 'minimize'",
    );
    expect(() =>
      resolvePolicy({ primaryMetric: { name: 'f1' }, guardMetrics: [{ name: 'auc', maxRegression: -1 }] }),
    ).toThrow('guardMetrics[0].maxRegression must be >= 0');
    expect(() => resolvePolicy({ primaryMetric: { name: 'f1' }, guardMetrics: [{ name: 'f1' }] })).toThrow(
      'metric f1 is already ruled on',
    );
    expect(() => resolvePolicy({ primaryMetric: { name: 'f1' }, drift: { psi: Number.NaN } })).toThrow(
      'drift.psi must be a finite number',
    );
    expect(() => resolvePolicy({ primaryMetric: { name: 'f1' }, approvalTimeout: 'next week' })).toThrow(
      "approvalTimeout must be milliseconds or a duration such as '7 days' or '2h'",
    );
  });

  it('reads durations as Temporal does', () => {
    expect(parseDuration('7 days')).toBe(604_800_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('250')).toBe(250);
    expect(parseDuration(3000)).toBe(3000);
    expect(parseDuration('soon')).toBeUndefined();
  });
});
