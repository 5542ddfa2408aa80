import { useEffect, useState } from 'react';
import { api, type ComponentRun, getToken, type IOPointer } from './api';
import { ErrorBox, formatDuration, formatTime, Loading, PointerLink, StatusBadge, useData } from './common';
import { useConfig } from './config';
import { Link } from './router';

function temporalLink(base: string, run: ComponentRun): string | undefined {
  const wf = run.workflow;
  if (run.source === 'openlineage' || !wf.namespace || !wf.workflowId) return undefined;
  const parts = [
    base,
    'namespaces',
    encodeURIComponent(wf.namespace),
    'workflows',
    encodeURIComponent(wf.workflowId),
  ];
  if (wf.runId) parts.push(encodeURIComponent(wf.runId), 'history');
  return parts.join('/');
}

function PointerList(props: { title: string; pointers: IOPointer[]; onChange: () => void }) {
  const config = useConfig();
  const [error, setError] = useState<unknown>();
  const toggle = async (p: IOPointer) => {
    setError(undefined);
    try {
      await api(p.flag ? '/unflag' : '/flag', { body: { uri: p.uri, version: p.version } });
      props.onChange();
    } catch (e) {
      setError(e);
    }
  };
  const canWrite = config !== undefined && (!config.auth.write || getToken() !== '');
  return (
    <section>
      <h3>
        {props.title} <span className="muted">({props.pointers.length})</span>
      </h3>
      <ErrorBox error={error} />
      <ul className="pointers">
        {props.pointers.map((p) => (
          <li key={p.id} className={p.flag ? 'flagged' : undefined}>
            <PointerLink pointer={p} /> <span className="type">{p.type}</span>{' '}
            <button
              type="button"
              className="small"
              disabled={!canWrite}
              title={canWrite ? undefined : 'enter the token to flag'}
              onClick={() => void toggle(p)}
            >
              {p.flag ? 'Unflag' : 'Flag'}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Notes({ run, onSaved }: { run: ComponentRun; onSaved: () => void }) {
  const config = useConfig();
  const [text, setText] = useState(run.notes);
  const [state, setState] = useState<{ saving?: boolean; error?: unknown; saved?: boolean }>({});
  useEffect(() => setText(run.notes), [run.notes]);
  const canWrite = config !== undefined && (!config.auth.write || getToken() !== '');
  const save = async () => {
    setState({ saving: true });
    try {
      await api(`/runs/${run.id}/notes`, { method: 'PUT', body: { notes: text } });
      setState({ saved: true });
      onSaved();
    } catch (error) {
      setState({ error });
    }
  };
  return (
    <section>
      <h3>Notes</h3>
      <textarea
        aria-label="notes"
        value={text}
        rows={3}
        readOnly={!canWrite}
        onChange={(e) => setText(e.target.value)}
        placeholder={canWrite ? 'What happened in this run?' : 'Enter the token to edit notes'}
      />
      <div>
        <button
          type="button"
          disabled={!canWrite || state.saving || text === run.notes}
          onClick={() => void save()}
        >
          Save notes
        </button>
        {state.saved ? <span className="muted"> saved</span> : null}
      </div>
      <ErrorBox error={state.error} />
    </section>
  );
}

interface CheckOutcome {
  name: string;
  phase?: string;
  passed: boolean;
  message?: string;
}

/** The checks a run recorded in its metadata (`checks`, and a decision's `decision.checks`). */
function checksOf(run: ComponentRun): CheckOutcome[] {
  const lists = [run.metadata.checks, (run.metadata.decision as { checks?: unknown } | undefined)?.checks];
  const out: CheckOutcome[] = [];
  for (const list of lists) {
    if (!Array.isArray(list)) continue;
    for (const c of list as Array<Record<string, unknown>>) {
      if (typeof c !== 'object' || c === null || typeof c.passed !== 'boolean') continue;
      const name = typeof c.name === 'string' ? c.name : typeof c.rule === 'string' ? c.rule : 'check';
      out.push({
        name,
        passed: c.passed,
        ...(typeof c.phase === 'string' ? { phase: c.phase } : {}),
        ...(typeof c.message === 'string' ? { message: c.message } : {}),
      });
    }
  }
  return out;
}

function Checks({ run }: { run: ComponentRun }) {
  const checks = checksOf(run);
  if (checks.length === 0) return null;
  const failed = checks.filter((c) => !c.passed).length;
  return (
    <section data-testid="run-checks">
      <h3>
        Checks <span className="muted">({failed ? `${failed} failed` : 'all passed'})</span>
      </h3>
      <ul className="checks">
        {checks.map((c) => (
          <li
            key={`${c.name}|${c.phase ?? ''}|${c.message ?? ''}`}
            className={c.passed ? 'passed' : 'failed'}
          >
            {c.passed ? '✓' : '✗'} {c.name}
            {c.phase ? <span className="muted"> ({c.phase})</span> : null}
            {c.message ? `: ${c.message}` : ''}
          </li>
        ))}
      </ul>
    </section>
  );
}

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
}

function TagList(props: { title: string; tags: Record<string, string>; testId: string }) {
  const keys = Object.keys(props.tags).sort();
  return (
    <>
      <dt>{props.title}</dt>
      <dd data-testid={props.testId}>
        {keys.length === 0 ? (
          <span className="muted">none</span>
        ) : (
          keys.map((k) => (
            <code key={k} className="tag">
              {k}={props.tags[k]}{' '}
            </code>
          ))
        )}
      </dd>
    </>
  );
}

/**
 * What the MLflow registry says of a synced version (`register` run): its tags and the registered
 * model's, as of the last sync, and the MLflow 3 LoggedModel it was registered from.
 */
function MlflowVersion({ run }: { run: ComponentRun }) {
  if (run.source !== 'mlflow' || run.component !== 'register') return null;
  const m = run.metadata;
  const versionTags = stringRecord(m.versionTags);
  const modelTags = stringRecord(m.modelTags);
  const logged = m.loggedModel as
    | { modelId?: string; name?: string; sourceRunId?: string; params?: Record<string, string> }
    | undefined;
  if (!versionTags && !modelTags && !logged) return null;
  return (
    <section data-testid="mlflow-version">
      <h3>
        MLflow registry{' '}
        {typeof m.tagsSyncedAt === 'string' ? (
          <span className="muted">(tags as synced {formatTime(m.tagsSyncedAt)})</span>
        ) : null}
      </h3>
      <dl className="facts">
        {versionTags ? <TagList title="Version tags" tags={versionTags} testId="version-tags" /> : null}
        {modelTags ? <TagList title="Model tags" tags={modelTags} testId="model-tags" /> : null}
        {logged?.modelId ? (
          <>
            <dt>Logged model</dt>
            <dd data-testid="logged-model">
              <code>models:/{logged.modelId}</code>
              {logged.name ? ` (${logged.name})` : ''}
              {logged.sourceRunId ? (
                <span className="muted"> · logged by MLflow run {logged.sourceRunId}</span>
              ) : null}
            </dd>
          </>
        ) : null}
      </dl>
    </section>
  );
}

/** Everything about one run: what a person triaging a bug needs. */
export function RunCard({ id }: { id: number }) {
  const config = useConfig();
  const { data: run, error, loading, reload } = useData(() => api<ComponentRun>(`/runs/${id}`), [id]);
  if (error) return <ErrorBox error={error} />;
  if (!run) return loading ? <Loading /> : null;
  const temporal = config ? temporalLink(config.temporalUiUrl, run) : undefined;
  const wf = run.workflow;
  return (
    <article className="card run-card" data-testid="run-card">
      <header>
        <h2>
          <Link
            to={`/history?component=${encodeURIComponent(run.component)}`}
            title="history of this component"
          >
            {run.component}
          </Link>
        </h2>
        <StatusBadge status={run.status} /> <span className="badge">{run.source}</span>
      </header>
      {run.stale.length > 0 ? (
        <div className="callout warning" data-testid="stale-warning">
          <strong>Stale:</strong>
          <ul>
            {run.stale.map((message) => (
              <li key={message}>{message}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {run.error ? (
        <div className="callout error">
          <strong>{run.error.type ?? 'Error'}:</strong> {run.error.message}
        </div>
      ) : null}
      <dl className="facts">
        <dt>Run</dt>
        <dd>
          <Link to={`/run?id=${run.id}`}>#{run.id}</Link> <code>{run.runKey}</code>
        </dd>
        <dt>Started</dt>
        <dd>{formatTime(run.startedAt)}</dd>
        <dt>Ended</dt>
        <dd>{formatTime(run.endedAt)}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(run.startedAt, run.endedAt)}</dd>
        <dt>Attempt</dt>
        <dd>{run.attempt ?? '—'}</dd>
        <dt>Git commit</dt>
        <dd>{run.gitCommit ? <code>{run.gitCommit}</code> : '—'}</dd>
        {wf.workflowId ? (
          <>
            <dt>Workflow</dt>
            <dd>
              {wf.workflowType ? `${wf.workflowType} ` : ''}
              <code>{wf.workflowId}</code>
              {wf.runId ? <code> / {wf.runId}</code> : null}
              {wf.namespace ? <span className="muted"> in {wf.namespace}</span> : null}
              {temporal ? (
                <>
                  {' '}
                  <a href={temporal} target="_blank" rel="noreferrer noopener">
                    open in Temporal
                  </a>
                </>
              ) : null}
            </dd>
          </>
        ) : null}
      </dl>
      <Checks run={run} />
      <MlflowVersion run={run} />
      <PointerList title="Inputs" pointers={run.inputs} onChange={reload} />
      <PointerList title="Outputs" pointers={run.outputs} onChange={reload} />
      {run.codeSnapshot ? (
        <details>
          <summary>Code snapshot {run.codeHash ? <code>{run.codeHash.slice(0, 12)}</code> : null}</summary>
          <pre className="code">{run.codeSnapshot}</pre>
        </details>
      ) : null}
      {Object.keys(run.metadata).length > 0 ? (
        <details>
          <summary>Metadata</summary>
          <pre className="code">{JSON.stringify(run.metadata, null, 2)}</pre>
        </details>
      ) : null}
      <Notes run={run} onSaved={reload} />
    </article>
  );
}
