/**
 * The promotion policy, as data, and the decision it gives: a pure, deterministic function of the
 * policy and the evidence (the candidate's and the champion's metrics, the drift report), so the
 * retraining workflow computes it in workflow code and replays it identically. Every reason names
 * the metric, feature or rule it comes from.
 * @module
 */
import {
  DEFAULT_DRIFT_THRESHOLDS,
  DRIFT_MEASURES,
  type DriftMeasure,
  type DriftReport,
  type DriftThresholds,
  exceededMeasures,
} from './drift.js';

/** Whether larger or smaller values of a metric are better. */
export type MetricDirection = 'maximize' | 'minimize';

/** The metric a candidate must improve. */
export interface PrimaryMetricRule {
  /** The metric's name, as the evaluation reports it (e.g. `f1`). */
  name: string;
  /** @default 'maximize' */
  direction?: MetricDirection;
  /**
   * How much better than the champion the candidate must be, in the metric's units (absolute).
   * Negative tolerates a small regression (to prefer fresher models).
   * @default 0 (at least as good)
   */
  minImprovement?: number;
  /** A floor (or, when minimizing, a ceiling) the candidate must reach, with or without a champion. */
  minValue?: number;
}

/** A metric that must not get worse than the champion's by more than a bound. */
export interface GuardMetricRule {
  name: string;
  /** @default 'maximize' */
  direction?: MetricDirection;
  /** The largest regression allowed, in the metric's units (absolute). @default 0 */
  maxRegression?: number;
  /** A floor (or, when minimizing, a ceiling) the candidate must reach. */
  minValue?: number;
}

/** How much the new data may drift from the data the champion was trained on. */
export interface DriftLimits extends DriftThresholds {
  /** How many features may exceed a limit. @default 0 */
  maxDriftedFeatures?: number;
  /**
   * What drift beyond the limits does: `reject` blocks the promotion; `require_approval` asks a
   * person (the decision waits for an approval).
   * @default 'reject'
   */
  onExceeded?: 'reject' | 'require_approval';
}

/** The promotion policy: what a candidate must show to replace the champion. Plain JSON. */
export interface PromotionPolicy {
  primaryMetric: PrimaryMetricRule;
  /** @default [] */
  guardMetrics?: GuardMetricRule[];
  /**
   * Drift limits; measures left out are not judged.
   * @default DEFAULT_DRIFT_THRESHOLDS, `maxDriftedFeatures` 0, `onExceeded` 'reject'
   */
  drift?: DriftLimits | false;
  /** Whether a person must approve every promotion. @default false */
  requireApproval?: boolean;
  /** Who may approve or reject; empty means anyone. @default [] */
  approvers?: string[];
  /**
   * How long to wait for a person's answer: milliseconds, or a duration string Temporal reads
   * (`'7 days'`, `'2h'`). Then the decision is `timed_out` and the champion stays.
   * @default '7 days'
   */
  approvalTimeout?: string | number;
  /** What to do with a first model, when no champion holds the alias. @default 'promote' */
  whenNoChampion?: 'promote' | 'require_approval';
}

/** {@link PromotionPolicy} with every default applied. */
export interface ResolvedPolicy {
  primaryMetric: Required<Omit<PrimaryMetricRule, 'minValue'>> & Pick<PrimaryMetricRule, 'minValue'>;
  guardMetrics: Array<Required<Omit<GuardMetricRule, 'minValue'>> & Pick<GuardMetricRule, 'minValue'>>;
  drift:
    | (DriftThresholds & { maxDriftedFeatures: number; onExceeded: 'reject' | 'require_approval' })
    | false;
  requireApproval: boolean;
  approvers: string[];
  /** As given, for messages. */
  approvalTimeout: string | number;
  /** The same, in milliseconds. */
  approvalTimeoutMs: number;
  whenNoChampion: 'promote' | 'require_approval';
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  msec: 1,
  msecs: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

/**
 * Milliseconds of a duration: a number of milliseconds, or a string as Temporal reads it
 * (`'7 days'`, `'2h'`, `'90s'`, `'1500'`). Undefined when the string is not a duration.
 */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = /^\s*(\d*\.?\d+)\s*([a-z]*)\s*$/i.exec(value);
  if (!match) return undefined;
  const unit = DURATION_UNITS[(match[2] ?? '').toLowerCase() || 'ms'];
  return unit === undefined ? undefined : Math.round(Number(match[1]) * unit);
}

/** What the decision concluded; the same outcomes as the lineage store's promotion decisions. */
export type PromotionOutcome =
  | 'promote'
  | 'reject'
  | 'awaiting_approval'
  | 'approved'
  | 'rejected_by_person'
  | 'timed_out';

/** Outcomes that move the alias. */
export const PROMOTING_OUTCOMES: readonly PromotionOutcome[] = ['promote', 'approved'];

/** The policy is malformed. Thrown by {@link resolvePolicy}. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
}

/** An approval request was refused. Thrown by {@link validateApproval}. */
export class ApprovalError extends Error {
  override readonly name = 'ApprovalError';
}

/** A model's metrics as the evaluation reported them. */
export type Metrics = Record<string, number>;

/** What the decision weighs. */
export interface DecisionEvidence {
  /** Registered model name. */
  model: string;
  /** @default 'champion' */
  alias?: string;
  candidate: { version: string; metrics: Metrics };
  /** The model version holding the alias now; null or absent when there is none. */
  champion?: { version: string; metrics: Metrics } | null;
  /** Drift of the new data against the champion's training data; null when not checked. */
  drift?: DriftReport | null;
  /** Why drift was not checked, when `drift` is null. */
  driftSkipped?: string;
}

/** One rule of the policy, checked. */
export interface PolicyCheck {
  rule: 'champion' | 'primary' | 'floor' | 'guard' | 'drift' | 'approval';
  /** The metric or feature the check is about. */
  subject?: string;
  passed: boolean;
  message: string;
}

/** A person's answer to a decision awaiting approval. */
export interface Approval {
  /** Who answers (a user name or e-mail). */
  approver: string;
  /** true approves the promotion, false rejects it. */
  approve: boolean;
  /** Why: required, it is part of the record. */
  comment: string;
  /** The candidate version being approved, to guard against answering the wrong decision. */
  candidate?: string;
}

/** The decision of one retraining run, with everything needed to explain it. */
export interface RetrainingDecision {
  model: string;
  alias: string;
  candidate: string;
  /** The version holding the alias when the decision was made. */
  previousChampion: string | null;
  outcome: PromotionOutcome;
  /** Why, in words; each names its metric, feature or rule. Failures first. */
  reasons: string[];
  checks: PolicyCheck[];
  policy: ResolvedPolicy;
  metrics: {
    candidate: Metrics;
    champion: Metrics | null;
    drift: Array<Pick<DriftReport['features'][number], 'feature' | DriftMeasure | 'exceeded'>> | null;
  };
  approver: string | null;
  approvalComment: string | null;
}

function assertFiniteNumber(value: unknown, where: string, min?: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new PolicyError(`${where} must be a finite number, got ${JSON.stringify(value)}`);
  }
  if (min !== undefined && value < min) throw new PolicyError(`${where} must be >= ${min}, got ${value}`);
}

function direction(value: unknown, where: string): MetricDirection {
  if (value === undefined) return 'maximize';
  if (value !== 'maximize' && value !== 'minimize') {
    throw new PolicyError(`${where} must be 'maximize' or 'minimize', got ${JSON.stringify(value)}`);
  }
  return value;
}

function metricName(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new PolicyError(`${where} must be a metric name`);
  return value;
}

/** Checks a policy and applies every default, in one place. @throws {PolicyError} */
export function resolvePolicy(policy: PromotionPolicy): ResolvedPolicy {
  if (policy === null || typeof policy !== 'object') throw new PolicyError('the policy must be an object');
  const primary = policy.primaryMetric;
  if (primary === null || typeof primary !== 'object')
    throw new PolicyError('the policy needs a primaryMetric');
  assertFiniteNumber(primary.minImprovement, 'primaryMetric.minImprovement');
  assertFiniteNumber(primary.minValue, 'primaryMetric.minValue');
  const guards = policy.guardMetrics ?? [];
  if (!Array.isArray(guards)) throw new PolicyError('guardMetrics must be a list');
  const names = new Set([metricName(primary.name, 'primaryMetric.name')]);
  const guardMetrics = guards.map((guard, index) => {
    const where = `guardMetrics[${index}]`;
    const name = metricName(guard?.name, `${where}.name`);
    if (names.has(name)) throw new PolicyError(`${where}: metric ${name} is already ruled on`);
    names.add(name);
    assertFiniteNumber(guard.maxRegression, `${where}.maxRegression`, 0);
    assertFiniteNumber(guard.minValue, `${where}.minValue`);
    return {
      name,
      direction: direction(guard.direction, `${where}.direction`),
      maxRegression: guard.maxRegression ?? 0,
      ...(guard.minValue === undefined ? {} : { minValue: guard.minValue }),
    };
  });
  let drift: ResolvedPolicy['drift'] = false;
  if (policy.drift !== false) {
    const limits = policy.drift ?? { ...DEFAULT_DRIFT_THRESHOLDS };
    for (const measure of DRIFT_MEASURES) assertFiniteNumber(limits[measure], `drift.${measure}`, 0);
    assertFiniteNumber(limits.maxDriftedFeatures, 'drift.maxDriftedFeatures', 0);
    const onExceeded = limits.onExceeded ?? 'reject';
    if (onExceeded !== 'reject' && onExceeded !== 'require_approval') {
      throw new PolicyError(`drift.onExceeded must be 'reject' or 'require_approval'`);
    }
    drift = { maxDriftedFeatures: limits.maxDriftedFeatures ?? 0, onExceeded };
    for (const measure of DRIFT_MEASURES) {
      const limit = limits[measure];
      if (limit !== undefined) drift[measure] = limit;
    }
  }
  const approvers = policy.approvers ?? [];
  if (!Array.isArray(approvers) || approvers.some((a) => typeof a !== 'string' || a.trim() === '')) {
    throw new PolicyError('approvers must be a list of names');
  }
  const timeout = policy.approvalTimeout ?? '7 days';
  const timeoutMs =
    typeof timeout === 'number' || typeof timeout === 'string' ? parseDuration(timeout) : undefined;
  if (timeoutMs === undefined || timeoutMs < 1) {
    throw new PolicyError(
      `approvalTimeout must be milliseconds or a duration such as '7 days' or '2h', got ${JSON.stringify(timeout)}`,
    );
  }
  const whenNoChampion = policy.whenNoChampion ?? 'promote';
  if (whenNoChampion !== 'promote' && whenNoChampion !== 'require_approval') {
    throw new PolicyError(`whenNoChampion must be 'promote' or 'require_approval'`);
  }
  return {
    primaryMetric: {
      name: primary.name,
      direction: direction(primary.direction, 'primaryMetric.direction'),
      minImprovement: primary.minImprovement ?? 0,
      ...(primary.minValue === undefined ? {} : { minValue: primary.minValue }),
    },
    guardMetrics,
    drift,
    requireApproval: policy.requireApproval ?? false,
    approvers: [...approvers],
    approvalTimeout: timeout,
    approvalTimeoutMs: timeoutMs,
    whenNoChampion,
  };
}

/** Tolerance of metric comparisons, so 0.1 + 0.2 vs 0.3 does not flip a decision. */
const EPSILON = 1e-9;

/** A metric value for reasons: 4 decimals. */
export function formatMetric(value: number): string {
  return Number.isFinite(value) ? value.toFixed(4) : String(value);
}

function signed(value: number): string {
  const text = formatMetric(value);
  return value >= 0 ? `+${text}` : text;
}

/** How much better `candidate` is than `champion`, positive when better. */
function gain(rule: { direction: MetricDirection }, candidate: number, champion: number): number {
  return rule.direction === 'maximize' ? candidate - champion : champion - candidate;
}

function metricValue(metrics: Metrics, name: string): number | undefined {
  const value = metrics[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function available(metrics: Metrics): string {
  const names = Object.keys(metrics).sort();
  return names.length === 0 ? 'no metrics' : names.join(', ');
}

function floorCheck(
  rule: { name: string; direction: MetricDirection; minValue?: number },
  value: number,
): PolicyCheck | undefined {
  if (rule.minValue === undefined) return undefined;
  const ok =
    rule.direction === 'maximize' ? value >= rule.minValue - EPSILON : value <= rule.minValue + EPSILON;
  const bound = rule.direction === 'maximize' ? 'floor' : 'ceiling';
  return {
    rule: 'floor',
    subject: rule.name,
    passed: ok,
    message: ok
      ? `${rule.name} ${formatMetric(value)} reaches the ${bound} ${formatMetric(rule.minValue)}`
      : `${rule.name} ${formatMetric(value)} misses the ${bound} ${formatMetric(rule.minValue)}`,
  };
}

function describeLimits(limits: DriftThresholds): string {
  return DRIFT_MEASURES.filter((m) => limits[m] !== undefined)
    .map((m) => `${m} ${limits[m]}`)
    .join(', ');
}

function driftChecks(policy: ResolvedPolicy, evidence: DecisionEvidence): PolicyCheck[] {
  const limits = policy.drift;
  if (limits === false) return [];
  const report = evidence.drift;
  if (!report) {
    return [
      {
        rule: 'drift',
        passed: true,
        message: `drift not checked: ${evidence.driftSkipped ?? 'no reference data to compare with'}`,
      },
    ];
  }
  const checks: PolicyCheck[] = [];
  const drifted: string[] = [];
  for (const feature of report.features) {
    const exceeded = exceededMeasures(feature, limits);
    if (exceeded.length === 0) continue;
    drifted.push(feature.feature);
    const figures = exceeded.map((m) => `${m} ${formatMetric(feature[m])} > ${limits[m]}`).join(', ');
    checks.push({
      rule: 'drift',
      subject: feature.feature,
      passed: drifted.length <= limits.maxDriftedFeatures,
      message: `${feature.feature} drifted beyond the limits: ${figures}`,
    });
  }
  const ok = drifted.length <= limits.maxDriftedFeatures;
  // Every per-feature check shares the verdict of the count.
  for (const check of checks) check.passed = ok;
  const compared = report.features.length;
  checks.push({
    rule: 'drift',
    passed: ok,
    message:
      drifted.length === 0
        ? `no feature of ${compared} drifted beyond ${describeLimits(limits)}`
        : `${drifted.length} of ${compared} features drifted (${drifted.join(', ')}); at most ${limits.maxDriftedFeatures} allowed`,
  });
  return checks;
}

/** The drift figures kept in a decision (the quantile details stay in the drift report). */
function driftSummary(report: DriftReport | null | undefined): RetrainingDecision['metrics']['drift'] {
  if (!report) return null;
  return report.features.map((f) => ({
    feature: f.feature,
    psi: f.psi,
    ks: f.ks,
    meanShift: f.meanShift,
    quantileShift: f.quantileShift,
    exceeded: f.exceeded,
  }));
}

/**
 * Decides whether a candidate replaces the champion, under a policy. Pure and deterministic.
 *
 * - Reject when the candidate already holds the alias, misses the primary metric's improvement
 *   or floor, regresses a guard metric beyond its bound, or when more features drift beyond the
 *   limits than allowed (unless the policy sends drift to a person: then it awaits approval).
 * - Otherwise await approval when the policy requires one (or, for a first model, when
 *   `whenNoChampion` says so), else promote.
 *
 * The reasons are the failed checks when rejecting, else every check; each names its metric.
 */
export function decidePromotion(
  policyInput: PromotionPolicy,
  evidence: DecisionEvidence,
): RetrainingDecision {
  const policy = resolvePolicy(policyInput);
  const alias = evidence.alias ?? 'champion';
  const aliasUri = `models:/${evidence.model}@${alias}`;
  const candidateMetrics = evidence.candidate.metrics;
  const champion = evidence.champion ?? null;
  const checks: PolicyCheck[] = [];

  if (champion === null) {
    checks.push({
      rule: 'champion',
      passed: true,
      message: `no champion holds ${aliasUri}: version ${evidence.candidate.version} would be the first`,
    });
  } else if (champion.version === evidence.candidate.version) {
    checks.push({
      rule: 'champion',
      passed: false,
      message: `the candidate (version ${evidence.candidate.version}) already holds ${aliasUri}`,
    });
  }

  const rules = [policy.primaryMetric, ...policy.guardMetrics];
  for (const [index, rule] of rules.entries()) {
    const primary = index === 0;
    const value = metricValue(candidateMetrics, rule.name);
    if (value === undefined) {
      checks.push({
        rule: primary ? 'primary' : 'guard',
        subject: rule.name,
        passed: false,
        message: `the candidate has no ${rule.name} (the evaluation reported ${available(candidateMetrics)})`,
      });
      continue;
    }
    const floor = floorCheck(rule, value);
    if (floor) checks.push(floor);
    if (champion === null) continue;
    const reference = metricValue(champion.metrics, rule.name);
    if (reference === undefined) {
      checks.push({
        rule: primary ? 'primary' : 'guard',
        subject: rule.name,
        passed: false,
        message: `the champion (version ${champion.version}) has no ${rule.name} to compare with`,
      });
      continue;
    }
    const change = gain(rule, value, reference);
    const versus = `${rule.name} ${formatMetric(value)} vs champion ${formatMetric(reference)} (${signed(
      value - reference,
    )}${rule.direction === 'minimize' ? ', lower is better' : ''})`;
    if (primary) {
      const required = policy.primaryMetric.minImprovement;
      const ok = change >= required - EPSILON;
      checks.push({
        rule: 'primary',
        subject: rule.name,
        passed: ok,
        message: ok
          ? `${versus}: improves by at least the required ${signed(required)}`
          : `${versus}: short of the required improvement of ${signed(required)}`,
      });
    } else {
      const allowed = (rule as ResolvedPolicy['guardMetrics'][number]).maxRegression;
      const ok = -change <= allowed + EPSILON;
      checks.push({
        rule: 'guard',
        subject: rule.name,
        passed: ok,
        message: ok
          ? `${versus}: within the allowed regression of ${formatMetric(allowed)}`
          : `${versus}: regresses more than the allowed ${formatMetric(allowed)}`,
      });
    }
  }

  const drift = driftChecks(policy, evidence);
  checks.push(...drift);

  const failed = checks.filter((c) => !c.passed);
  const onlyDriftFailed = failed.length > 0 && failed.every((c) => c.rule === 'drift');
  let outcome: PromotionOutcome;
  let reasons: string[];
  if (
    failed.length > 0 &&
    !(onlyDriftFailed && policy.drift !== false && policy.drift.onExceeded === 'require_approval')
  ) {
    outcome = 'reject';
    reasons = failed.map((c) => c.message);
  } else {
    const approvalWhy: string[] = [];
    if (onlyDriftFailed)
      approvalWhy.push('the policy sends drift beyond the limits to a person for approval');
    if (policy.requireApproval) approvalWhy.push('the policy requires approval by a person');
    if (champion === null && policy.whenNoChampion === 'require_approval') {
      approvalWhy.push('the policy requires approval by a person for a first model');
    }
    outcome = approvalWhy.length > 0 ? 'awaiting_approval' : 'promote';
    for (const why of approvalWhy) checks.push({ rule: 'approval', passed: true, message: why });
    reasons = [...failed, ...checks.filter((c) => c.passed)].map((c) => c.message);
  }
  return {
    model: evidence.model,
    alias,
    candidate: evidence.candidate.version,
    previousChampion: champion?.version ?? null,
    outcome,
    reasons,
    checks,
    policy,
    metrics: {
      candidate: { ...candidateMetrics },
      champion: champion ? { ...champion.metrics } : null,
      drift: driftSummary(evidence.drift),
    },
    approver: null,
    approvalComment: null,
  };
}

/**
 * Checks a person's answer to a decision awaiting approval.
 * @throws {ApprovalError} when the decision is not awaiting approval, the approver is missing or
 * not allowed, the comment is missing, or the candidate named is not the one awaiting approval
 */
export function validateApproval(decision: RetrainingDecision | null | undefined, approval: Approval): void {
  if (approval === null || typeof approval !== 'object') {
    throw new ApprovalError('an approval is { approver, approve, comment }');
  }
  if (decision?.outcome !== 'awaiting_approval') {
    const state = decision ? `its decision is ${decision.outcome}` : 'no decision has been made yet';
    throw new ApprovalError(`nothing awaits approval: ${state}`);
  }
  if (typeof approval.approver !== 'string' || approval.approver.trim() === '') {
    throw new ApprovalError('an approval must say who approves (approver)');
  }
  if (typeof approval.approve !== 'boolean') {
    throw new ApprovalError('an approval must say whether it approves (approve: true or false)');
  }
  if (typeof approval.comment !== 'string' || approval.comment.trim() === '') {
    throw new ApprovalError('an approval must say why (comment)');
  }
  const allowed = decision.policy.approvers;
  if (allowed.length > 0 && !allowed.includes(approval.approver.trim())) {
    throw new ApprovalError(
      `${approval.approver} may not approve promotions of ${decision.model}; the policy allows ${allowed.join(', ')}`,
    );
  }
  if (approval.candidate !== undefined && approval.candidate !== decision.candidate) {
    throw new ApprovalError(
      `the approval is for version ${approval.candidate}, but version ${decision.candidate} awaits approval`,
    );
  }
}

/** The decision after a person's answer. @throws {ApprovalError} as {@link validateApproval} */
export function applyApproval(decision: RetrainingDecision, approval: Approval): RetrainingDecision {
  validateApproval(decision, approval);
  const approver = approval.approver.trim();
  const comment = approval.comment.trim();
  const check: PolicyCheck = approval.approve
    ? { rule: 'approval', subject: approver, passed: true, message: `approved by ${approver}: ${comment}` }
    : { rule: 'approval', subject: approver, passed: false, message: `rejected by ${approver}: ${comment}` };
  return {
    ...decision,
    outcome: approval.approve ? 'approved' : 'rejected_by_person',
    reasons: [check.message, ...decision.reasons],
    checks: [...decision.checks, check],
    approver,
    approvalComment: comment,
  };
}

/** The decision when no one answered in time: the champion stays. */
export function applyApprovalTimeout(decision: RetrainingDecision): RetrainingDecision {
  if (decision.outcome !== 'awaiting_approval') {
    throw new ApprovalError(`nothing awaits approval: the decision is ${decision.outcome}`);
  }
  const timeout = decision.policy.approvalTimeout;
  const check: PolicyCheck = {
    rule: 'approval',
    passed: false,
    message: `no approval within ${typeof timeout === 'number' ? `${timeout} ms` : timeout}: the champion stays`,
  };
  return {
    ...decision,
    outcome: 'timed_out',
    reasons: [check.message, ...decision.reasons],
    checks: [...decision.checks, check],
  };
}

/** Whether an outcome moves the alias to the candidate. */
export function promotes(outcome: PromotionOutcome): boolean {
  return PROMOTING_OUTCOMES.includes(outcome);
}
