import { describe, expect, it } from 'vitest';
import {
  driftReport,
  featureDrift,
  ksStatistic,
  mean,
  populationStabilityIndex,
  quantile,
  standardDeviation,
} from '../src/drift.js';

/** A seeded normal sample (Box-Muller over mulberry32), so the tests are exact and repeatable. */
function normalSample(n: number, mu: number, sigma: number, seed: number): number[] {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = 1 - uniform();
    const v = uniform();
    out.push(mu + sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }
  return out;
}

describe('summary statistics', () => {
  it('computes the mean, the population standard deviation and type-7 quantiles', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(standardDeviation([2, 4, 4, 4, 5, 5, 7, 9])).toBe(2);
    expect(quantile([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10, 20], 0.25)).toBe(12.5);
  });

  it('ignores NaN and infinite values', () => {
    expect(mean([1, Number.NaN, 3, Number.POSITIVE_INFINITY])).toBe(2);
  });
});

describe('the Kolmogorov-Smirnov statistic', () => {
  it('is 0 for identical samples and 1 for samples with disjoint ranges', () => {
    expect(ksStatistic([1, 2, 3, 4], [4, 3, 2, 1])).toBe(0);
    expect(ksStatistic([1, 2, 3], [10, 11, 12])).toBe(1);
  });

  it('is the largest gap between the two empirical CDFs', () => {
    // F_a jumps at 1,2,3,4 by 1/4; F_b at 3,4,5,6. At x=2: 0.5 vs 0; at x=3: 0.75 vs 0.25.
    expect(ksStatistic([1, 2, 3, 4], [3, 4, 5, 6])).toBe(0.5);
    // Ties are handled as one step of both CDFs.
    expect(ksStatistic([1, 1, 2, 2], [1, 2, 2, 2])).toBe(0.25);
  });

  it('measures the size of a shift, not its significance: a small shift stays small with a large sample', () => {
    const reference = normalSample(50_000, 0, 1, 1);
    const shifted = normalSample(50_000, 0.05, 1, 2);
    const d = ksStatistic(reference, shifted);
    // A p-value would call this "significant" (n = 50,000); the effect is ~0.02 of the CDF.
    expect(d).toBeGreaterThan(0.005);
    expect(d).toBeLessThan(0.05);
  });
});

describe('the population stability index', () => {
  it('is about 0 for two samples of the same distribution', () => {
    expect(populationStabilityIndex([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toBe(
      0,
    );
    const psi = populationStabilityIndex(normalSample(20_000, 0, 1, 3), normalSample(20_000, 0, 1, 4));
    expect(psi).toBeLessThan(0.01);
  });

  it('is above the 0.25 rule-of-thumb threshold for a shift of one standard deviation', () => {
    const psi = populationStabilityIndex(normalSample(20_000, 0, 1, 5), normalSample(20_000, 1, 1, 6));
    expect(psi).toBeGreaterThan(0.25);
  });

  it('bins a discrete feature by its values', () => {
    const reference = [1, 1, 1, 1, 2, 2, 2, 2, 3, 3];
    expect(populationStabilityIndex(reference, [...reference])).toBe(0);
    // Bins {1}, {2}, {3}: shares 0.4/0.4/0.2 become 0.2/0.4/0.4.
    const current = [1, 1, 2, 2, 2, 2, 3, 3, 3, 3];
    const expected = (0.2 - 0.4) * Math.log(0.2 / 0.4) + (0.4 - 0.2) * Math.log(0.4 / 0.2);
    expect(populationStabilityIndex(reference, current)).toBeCloseTo(expected, 12);
  });

  it('stays finite when the current data leave reference bins empty', () => {
    const psi = populationStabilityIndex([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [100, 101, 102]);
    expect(Number.isFinite(psi)).toBe(true);
    expect(psi).toBeGreaterThan(1);
  });
});

describe('the drift report', () => {
  it('reports every measure per feature and marks the measures beyond their thresholds', () => {
    const reference = { distance: normalSample(10_000, 3, 1, 7), hour: normalSample(10_000, 12, 4, 8) };
    const current = { distance: normalSample(10_000, 4.5, 1.2, 9), hour: normalSample(10_000, 12, 4, 10) };
    const report = driftReport(reference, current, { thresholds: { psi: 0.25, ks: 0.2, meanShift: 0.5 } });
    expect(report.features.map((f) => f.feature)).toEqual(['distance', 'hour']);
    expect(report.drifted).toEqual(['distance']);
    const distance = report.features[0]!;
    expect(distance.exceeded).toEqual(['psi', 'ks', 'meanShift']);
    expect(distance.meanShift).toBeGreaterThan(1.3);
    expect(distance.quantiles.map((q) => q.p)).toEqual([0.05, 0.25, 0.5, 0.75, 0.95]);
    expect(report.features[1]!.exceeded).toEqual([]);
  });

  it('lists features present on one side only as missing', () => {
    const report = driftReport({ a: [1, 2, 3], b: [1, 2] }, { a: [1, 2, 3], c: [5] });
    expect(report.features.map((f) => f.feature)).toEqual(['a']);
    expect(report.missing.sort()).toEqual(['b', 'c']);
  });

  it('counts a feature with no values as beyond every threshold', () => {
    const drift = featureDrift('empty', [1, 2, 3], [], { thresholds: { psi: 0.2 } });
    expect(drift.exceeded).toEqual(['psi']);
  });
});
