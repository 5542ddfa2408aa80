import { describe, expect, it } from 'vitest';
import { generateTrips } from '../src/generate.js';
import { evaluate, predictProba, rocAuc, trainLogisticRegression } from '../src/model.js';
import {
  buildFeatures,
  cleanTrips,
  FEATURE_COLUMNS,
  parseNumericCsv,
  splitFeatures,
} from '../src/pipeline.js';

function januarySplit() {
  const featuresCsv = buildFeatures(cleanTrips(generateTrips({ month: '2020-01', rows: 6000 })).csv);
  const { train, test } = splitFeatures(featuresCsv);
  return { train: parseNumericCsv(train), test: parseNumericCsv(test) };
}

describe('the feature and split steps', () => {
  it('builds the model features, the label and the pickup time', () => {
    const featuresCsv = buildFeatures(cleanTrips(generateTrips({ month: '2020-01', rows: 500 })).csv);
    expect(parseNumericCsv(featuresCsv).columns).toEqual([...FEATURE_COLUMNS, 'high_tip', 'pickup_ts']);
  });

  it('splits by time: every test trip starts after every training trip', () => {
    const { train, test } = januarySplit();
    const t = train.columns.indexOf('pickup_ts');
    const lastTrain = Math.max(...train.rows.map((r) => r[t]!));
    const firstTest = Math.min(...test.rows.map((r) => r[t]!));
    expect(firstTest).toBeGreaterThanOrEqual(lastTrain);
    expect(test.rows.length / (train.rows.length + test.rows.length)).toBeCloseTo(0.2, 2);
  });
});

describe('the logistic regression', () => {
  it('learns better than chance on January trips and reports F1, accuracy and AUC', () => {
    const { train, test } = januarySplit();
    const model = trainLogisticRegression(train);
    const metrics = evaluate(model, test);
    expect(metrics.auc).toBeGreaterThan(0.65);
    expect(metrics.f1).toBeGreaterThan(0.4);
    expect(metrics.accuracy).toBeGreaterThan(0.6);
    expect(metrics.rows).toBe(test.rows.length);
  });

  it('is deterministic: the same data and parameters give the same weights', () => {
    const { train } = januarySplit();
    expect(trainLogisticRegression(train, { epochs: 50 })).toEqual(
      trainLogisticRegression(train, { epochs: 50 }),
    );
  });

  it('does no better than chance on a feature that carries no signal', () => {
    const { train, test } = januarySplit();
    const model = trainLogisticRegression(train, { features: ['pickup_weekday'], threshold: 0.9 });
    const metrics = evaluate(model, test);
    expect(metrics.f1).toBe(0);
    expect(Math.abs(metrics.auc - 0.5)).toBeLessThan(0.06);
    expect(predictProba(model, test).every((p) => p > 0 && p < 1)).toBe(true);
  });
});

describe('rocAuc', () => {
  it('is 1 for a perfect ranking, 0.5 for ties, and counts ties half', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])).toBe(1);
    expect(rocAuc([0, 1], [0.5, 0.5])).toBe(0.5);
    expect(rocAuc([0, 1, 0, 1], [0.1, 0.3, 0.35, 0.8])).toBe(0.75);
  });
});
