import type { LineageGraph, PromotionEntry } from './api';
import { formatTime } from './common';
import { Link } from './router';

/** Registered model names the graph mentions (`models:/<name>...` pointers), the subject's first. */
export function modelsOf(graph: LineageGraph): string[] {
  const names = new Set<string>();
  for (const p of [...graph.roots, ...graph.pointers]) {
    const match = /^models:\/([^/@]+)/.exec(p.uri);
    if (match?.[1]) names.add(decodeURIComponent(match[1]));
  }
  return [...names].slice(0, 3);
}

/** The promotion decisions of a lineage: the one behind the subject, the later ones, and every one in the graph. */
export interface LineageDecisions {
  /** The decision that made the subject what it is (for an alias: the promotion it points at). */
  primary: PromotionEntry | undefined;
  /** Later decisions about the same alias that did not move it (rejections, pending approvals). */
  later: PromotionEntry[];
  /** Decisions whose run is in the graph. */
  inGraph: PromotionEntry[];
}

export function decisionsOf(graph: LineageGraph, promotions: PromotionEntry[]): LineageDecisions {
  const runIds = new Set(graph.runs.map((r) => r.id));
  const inGraph = promotions.filter((p) => p.runId !== null && runIds.has(p.runId));
  const root = graph.roots[0];
  const alias = root ? /^models:\/[^/@]+@([^/@]+)/.exec(root.uri)?.[1] : undefined;
  const score = (p: PromotionEntry) =>
    (p.kind === 'decision' ? 4 : 0) +
    (root?.version && p.to === root.version ? 2 : 0) +
    (alias && p.alias === alias ? 1 : 0);
  const primary = [...inGraph].sort((a, b) => score(b) - score(a) || Date.parse(b.at) - Date.parse(a.at))[0];
  const later = primary
    ? promotions.filter(
        (p) =>
          p !== primary &&
          p.model === primary.model &&
          p.alias === primary.alias &&
          p.stage === primary.stage &&
          Date.parse(p.at) > Date.parse(primary.at),
      )
    : [];
  return { primary, later, inGraph };
}

const MOVED = new Set(['promote', 'approved', 'set', 'moved', 'transition']);

function outcomeClass(decision: string): string {
  if (MOVED.has(decision)) return 'good';
  if (decision.startsWith('reject')) return 'bad';
  return 'neutral';
}

/** One policy setting per line, in words, from the retraining policy's JSON. */
function policyLines(policy: Record<string, unknown>): string[] {
  const lines: string[] = [];
  const primary = policy.primaryMetric as
    | { name?: string; direction?: string; minValue?: number; minImprovement?: number }
    | undefined;
  if (primary?.name) {
    const parts = [`${primary.name} (${primary.direction ?? 'maximize'})`];
    if (primary.minValue !== undefined) parts.push(`floor ${primary.minValue}`);
    if (primary.minImprovement !== undefined)
      parts.push(`must beat the champion by ${primary.minImprovement}`);
    lines.push(`primary metric: ${parts.join(', ')}`);
  }
  const guards = policy.guardMetrics as Array<{ name?: string; maxRegression?: number }> | undefined;
  if (guards?.length) {
    lines.push(`guards: ${guards.map((g) => `${g.name} may drop at most ${g.maxRegression}`).join('; ')}`);
  }
  const drift = policy.drift as Record<string, unknown> | undefined;
  if (drift) {
    const limits = ['psi', 'ks', 'meanShift']
      .filter((k) => drift[k] !== undefined)
      .map((k) => `${k} ${drift[k]}`);
    lines.push(
      `drift limits: ${limits.join(', ')}${drift.maxDriftedFeatures !== undefined ? `, at most ${drift.maxDriftedFeatures} drifted features` : ''}${drift.onExceeded ? ` (else ${drift.onExceeded})` : ''}`,
    );
  }
  if (policy.requireApproval !== undefined) {
    const approvers = (policy.approvers as string[] | undefined) ?? [];
    lines.push(
      policy.requireApproval
        ? `a person approves${approvers.length ? ` (${approvers.join(', ')})` : ''}`
        : 'no approval needed: the policy decides',
    );
  }
  return lines;
}

/** Where a promotion puts a version: `@alias` or `/Stage`. */
export function targetOf(p: PromotionEntry): string {
  if (p.stage) return ` → /${p.stage}`;
  return p.alias ? ` → @${p.alias}` : '';
}

/** What a timeline entry says about why: its reasons, the decision behind a move, or none. */
export function WhyLine(props: { promotion: PromotionEntry }) {
  const p = props.promotion;
  if (p.reasons.length > 0) return null;
  return (
    <p className="muted" data-testid="no-reason">
      {p.kind !== 'decision' && p.decisionId !== null
        ? `Reason: see retraining decision ${p.decisionId}.`
        : 'No recorded reason.'}
    </p>
  );
}

/** The promotion behind a model alias: outcome, reasons, policy and who approved (or moved it in MLflow). */
export function DecisionCard(props: {
  decision: PromotionEntry;
  later: PromotionEntry[];
  subject: string;
  /** trace: the decision behind the subject; impact: a decision the subject fed. */
  direction: 'trace' | 'impact';
}) {
  const d = props.decision;
  const policy = d.policy ? policyLines(d.policy) : [];
  return (
    <article className={`card decision-card outcome-${outcomeClass(d.action)}`} data-testid="decision-card">
      <header>
        <h2>
          {props.direction === 'trace' ? (
            <>
              Why <code>{props.subject}</code>
            </>
          ) : (
            'A decision downstream'
          )}
        </h2>
        <span className={`badge outcome outcome-${d.action}`}>{d.action}</span>{' '}
        <span>
          {d.model}
          {d.to ? ` v${d.to}` : ''}
          {targetOf(d)}
        </span>
      </header>
      <dl className="facts">
        <dt>{d.kind === 'decision' ? 'Decided' : 'Moved in MLflow'}</dt>
        <dd>{formatTime(d.at)}</dd>
        <dt>Replacing</dt>
        <dd>{d.from.length ? d.from.map((v) => `v${v}`).join(', ') : 'no champion'}</dd>
        <dt>{d.kind === 'decision' ? 'Approved by' : 'Who'}</dt>
        <dd data-testid="approver">
          {d.who ? d.who : d.kind === 'decision' ? 'the policy (automatic)' : 'not recorded by MLflow'}
          {d.approvalComment ? (
            <>
              {' '}
              · <q>{d.approvalComment}</q>
            </>
          ) : null}
        </dd>
        {d.runId !== null ? (
          <>
            <dt>Run</dt>
            <dd>
              <Link to={`/run?id=${d.runId}`}>#{d.runId}</Link>
            </dd>
          </>
        ) : null}
      </dl>
      <h3>Reasons</h3>
      {d.reasons.length ? (
        <ul className="reasons" data-testid="decision-reasons">
          {d.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      ) : (
        <WhyLine promotion={d} />
      )}
      {policy.length ? (
        <>
          <h3>Policy</h3>
          <ul className="policy">
            {policy.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </>
      ) : null}
      {d.metrics ? (
        <details>
          <summary>Metrics and full policy</summary>
          <pre className="code">{JSON.stringify({ metrics: d.metrics, policy: d.policy }, null, 2)}</pre>
        </details>
      ) : null}
      {props.later.length ? (
        <section data-testid="later-decisions">
          <h3>Since then</h3>
          <ul className="later">
            {props.later.map((p) => (
              <li key={`${p.at}-${p.runId ?? ''}`}>
                <span className={`badge outcome outcome-${p.action}`}>{p.action}</span>{' '}
                {p.to ? `v${p.to}` : 'a candidate'} on {formatTime(p.at)}
                {p.reasons.length ? (
                  <details>
                    <summary>{p.reasons.length === 1 ? '1 reason' : `${p.reasons.length} reasons`}</summary>
                    <ul>
                      {p.reasons.map((r) => (
                        <li key={r}>{r}</li>
                      ))}
                    </ul>
                  </details>
                ) : null}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <p>
        <Link to={`/promotions?model=${encodeURIComponent(d.model)}`}>All promotions of {d.model}</Link>
      </p>
    </article>
  );
}
