/**
 * Drift as effect sizes, per feature: the population stability index, the Kolmogorov-Smirnov
 * statistic itself (the largest gap between the two empirical CDFs, not its p-value), the shift
 * of the mean and of quantiles in units of the reference's spread. At the sample sizes of
 * production data every p-value is tiny ("Too Big to Fail", Lin, Lucas and Shmueli 2013), so
 * drift is judged by how large a change is, against thresholds, never by whether it is
 * "significant". Pure and deterministic: no I/O, usable in workflow code.
 * @module
 */

/** The limits a feature's drift is held to; a measure absent here is reported but not judged. */
export interface DriftThresholds {
  /** Population stability index. Rule of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 large. */
  psi?: number;
  /** Kolmogorov-Smirnov statistic D in [0, 1]: the largest gap between the two CDFs. */
  ks?: number;
  /** |mean(current) - mean(reference)| / std(reference). */
  meanShift?: number;
  /** Largest |q_p(current) - q_p(reference)| / std(reference) over the reported quantiles. */
  quantileShift?: number;
}

/** The measures {@link DriftThresholds} names. */
export type DriftMeasure = keyof DriftThresholds;
export const DRIFT_MEASURES: readonly DriftMeasure[] = ['psi', 'ks', 'meanShift', 'quantileShift'];

/** Defaults of {@link DriftOptions}. */
export const DEFAULT_DRIFT_THRESHOLDS: Readonly<Required<DriftThresholds>> = {
  psi: 0.25,
  ks: 0.2,
  meanShift: 0.5,
  quantileShift: 0.75,
};

/** Options of {@link featureDrift} and {@link driftReport}. */
export interface DriftOptions {
  /** Bins of the PSI, cut at the reference's quantiles (fewer when values repeat). @default 10 */
  bins?: number;
  /** Floor of a bin's share in the PSI, so an empty bin costs a finite amount. @default 0.0001 */
  epsilon?: number;
  /** The quantiles reported and compared. @default [0.05, 0.25, 0.5, 0.75, 0.95] */
  quantiles?: readonly number[];
  /** Limits; a measure beyond its limit marks the feature drifted. @default DEFAULT_DRIFT_THRESHOLDS */
  thresholds?: DriftThresholds;
}

/** The drift of one feature. */
export interface FeatureDrift {
  feature: string;
  referenceCount: number;
  currentCount: number;
  psi: number;
  ks: number;
  referenceMean: number;
  currentMean: number;
  referenceStd: number;
  meanShift: number;
  quantiles: Array<{ p: number; reference: number; current: number }>;
  quantileShift: number;
  /** The measures beyond their threshold, in {@link DRIFT_MEASURES} order. */
  exceeded: DriftMeasure[];
}

/** The drift of every compared feature. */
export interface DriftReport {
  features: FeatureDrift[];
  /** Features with at least one measure beyond its threshold. */
  drifted: string[];
  /** The thresholds applied. */
  thresholds: DriftThresholds;
  /** Features of the reference missing from the current data (or the other way round). */
  missing: string[];
}

function finite(values: readonly number[]): number[] {
  const out: number[] = [];
  for (const value of values) if (Number.isFinite(value)) out.push(value);
  return out;
}

function sorted(values: readonly number[]): number[] {
  return finite(values).sort((a, b) => a - b);
}

/** Arithmetic mean; NaN for no values. */
export function mean(values: readonly number[]): number {
  const xs = finite(values);
  if (xs.length === 0) return Number.NaN;
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}

/** Population standard deviation; NaN for no values. */
export function standardDeviation(values: readonly number[]): number {
  const xs = finite(values);
  if (xs.length === 0) return Number.NaN;
  const m = mean(xs);
  let sum = 0;
  for (const x of xs) sum += (x - m) * (x - m);
  return Math.sqrt(sum / xs.length);
}

/** The p-quantile of sorted values, linear between order statistics (type 7, as numpy's default). */
export function quantileOfSorted(sortedValues: readonly number[], p: number): number {
  const n = sortedValues.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * Math.min(1, Math.max(0, p));
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  const a = sortedValues[lo]!;
  const b = sortedValues[hi]!;
  return a + (h - lo) * (b - a);
}

/** The p-quantile of values. */
export function quantile(values: readonly number[], p: number): number {
  return quantileOfSorted(sorted(values), p);
}

/** How many sorted values are <= x (binary search). */
function countAtMost(sortedValues: readonly number[], x: number): number {
  let lo = 0;
  let hi = sortedValues.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sortedValues[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The two-sample Kolmogorov-Smirnov statistic D: the largest absolute difference between the
 * empirical CDFs of the two samples, in [0, 1]. 0 for identical samples, 1 for disjoint ranges.
 * An effect size: unlike its p-value it does not shrink towards "significant" as samples grow.
 */
export function ksStatistic(reference: readonly number[], current: readonly number[]): number {
  const a = sorted(reference);
  const b = sorted(current);
  if (a.length === 0 || b.length === 0) return Number.NaN;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < a.length && j < b.length) {
    const x = Math.min(a[i]!, b[j]!);
    while (i < a.length && a[i]! <= x) i++;
    while (j < b.length && b[j]! <= x) j++;
    d = Math.max(d, Math.abs(i / a.length - j / b.length));
  }
  return d;
}

/**
 * Bin edges for the PSI: the reference's inner quantiles, without repeats. Values go to the first
 * bin whose upper edge is >= the value; the last bin is open above.
 */
function binEdges(sortedReference: readonly number[], bins: number): number[] {
  const distinct: number[] = [];
  for (const x of sortedReference) if (distinct[distinct.length - 1] !== x) distinct.push(x);
  // Few distinct values (a category code, a count): one bin per value.
  if (distinct.length <= bins) return distinct.slice(0, -1);
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const edge = quantileOfSorted(sortedReference, k / bins);
    if (edges[edges.length - 1] !== edge) edges.push(edge);
  }
  return edges;
}

function shares(sortedValues: readonly number[], edges: readonly number[]): number[] {
  const counts: number[] = [];
  let previous = 0;
  for (const edge of edges) {
    const atMost = countAtMost(sortedValues, edge);
    counts.push(atMost - previous);
    previous = atMost;
  }
  counts.push(sortedValues.length - previous);
  return counts.map((count) => count / sortedValues.length);
}

/**
 * The population stability index of `current` against `reference`:
 * sum over bins of (c - r) * ln(c / r), bins cut at the reference's quantiles, each share floored
 * at `epsilon`. ~0 for the same distribution; the usual reading is < 0.1 stable, 0.1-0.25
 * moderate, > 0.25 a large shift.
 */
export function populationStabilityIndex(
  reference: readonly number[],
  current: readonly number[],
  options: { bins?: number; epsilon?: number } = {},
): number {
  const bins = options.bins ?? 10;
  const epsilon = options.epsilon ?? 1e-4;
  if (!Number.isInteger(bins) || bins < 2) throw new RangeError(`bins must be an integer >= 2, got ${bins}`);
  const a = sorted(reference);
  const b = sorted(current);
  if (a.length === 0 || b.length === 0) return Number.NaN;
  const edges = binEdges(a, bins);
  const r = shares(a, edges);
  const c = shares(b, edges);
  let psi = 0;
  for (let k = 0; k < r.length; k++) {
    const rk = Math.max(r[k]!, epsilon);
    const ck = Math.max(c[k]!, epsilon);
    psi += (ck - rk) * Math.log(ck / rk);
  }
  return psi;
}

/** A difference in units of the reference's spread (its std, else its range, else raw). */
function scaled(difference: number, spread: number, range: number): number {
  if (spread > 0) return Math.abs(difference) / spread;
  if (range > 0) return Math.abs(difference) / range;
  return difference === 0 ? 0 : Number.POSITIVE_INFINITY;
}

/** Rounds to 6 significant decimals, so reports are stable to read and to compare. */
function round(value: number): number {
  return Number.isFinite(value) ? Math.round(value * 1e6) / 1e6 : value;
}

/** Applies the defaults of {@link DriftOptions}. */
export function resolveDriftOptions(options: DriftOptions = {}): Required<DriftOptions> {
  return {
    bins: options.bins ?? 10,
    epsilon: options.epsilon ?? 1e-4,
    quantiles: options.quantiles ?? [0.05, 0.25, 0.5, 0.75, 0.95],
    thresholds: options.thresholds ?? { ...DEFAULT_DRIFT_THRESHOLDS },
  };
}

/** The measures of a feature beyond the thresholds. NaN (no data) counts as beyond. */
export function exceededMeasures(
  figures: Pick<FeatureDrift, DriftMeasure>,
  thresholds: DriftThresholds,
): DriftMeasure[] {
  return DRIFT_MEASURES.filter((measure) => {
    const limit = thresholds[measure];
    if (limit === undefined) return false;
    const value = figures[measure];
    return Number.isNaN(value) || value > limit;
  });
}

/** Every drift measure of one feature. */
export function featureDrift(
  feature: string,
  reference: readonly number[],
  current: readonly number[],
  options: DriftOptions = {},
): FeatureDrift {
  const resolved = resolveDriftOptions(options);
  const a = sorted(reference);
  const b = sorted(current);
  const referenceMean = mean(a);
  const currentMean = mean(b);
  const referenceStd = standardDeviation(a);
  const range = a.length > 0 ? a[a.length - 1]! - a[0]! : 0;
  const quantiles = resolved.quantiles.map((p) => ({
    p,
    reference: round(quantileOfSorted(a, p)),
    current: round(quantileOfSorted(b, p)),
  }));
  const empty = a.length === 0 || b.length === 0;
  const figures = {
    psi: round(populationStabilityIndex(a, b, resolved)),
    ks: round(ksStatistic(a, b)),
    meanShift: empty ? Number.NaN : round(scaled(currentMean - referenceMean, referenceStd, range)),
    quantileShift: empty
      ? Number.NaN
      : round(Math.max(0, ...quantiles.map((q) => scaled(q.current - q.reference, referenceStd, range)))),
  };
  return {
    feature,
    referenceCount: a.length,
    currentCount: b.length,
    ...figures,
    referenceMean: round(referenceMean),
    currentMean: round(currentMean),
    referenceStd: round(referenceStd),
    quantiles,
    exceeded: exceededMeasures(figures, resolved.thresholds),
  };
}

/** Columns of numbers by feature name. */
export type FeatureColumns = Record<string, readonly number[]>;

/**
 * The drift of each feature of `current` against `reference`. Compares the features both have
 * (or `features`, when given), in that order; the others are listed as `missing`.
 */
export function driftReport(
  reference: FeatureColumns,
  current: FeatureColumns,
  options: DriftOptions & { features?: readonly string[] } = {},
): DriftReport {
  const resolved = resolveDriftOptions(options);
  const wanted = options.features ?? Object.keys(reference);
  const missing = new Set<string>();
  const features: FeatureDrift[] = [];
  for (const name of wanted) {
    const a = reference[name];
    const b = current[name];
    if (a === undefined || b === undefined) {
      missing.add(name);
      continue;
    }
    features.push(featureDrift(name, a, b, resolved));
  }
  if (options.features === undefined) {
    for (const name of Object.keys(current)) if (!(name in reference)) missing.add(name);
  }
  return {
    features,
    drifted: features.filter((f) => f.exceeded.length > 0).map((f) => f.feature),
    thresholds: resolved.thresholds,
    missing: [...missing],
  };
}
