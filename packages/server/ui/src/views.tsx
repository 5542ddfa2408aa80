import { type FormEvent, useEffect, useState } from 'react';
import {
  api,
  type Component,
  type PromotionEntry,
  query,
  type Review,
  type RunPage,
  type RunSummary,
} from './api';
import {
  ErrorBox,
  formatDuration,
  formatTime,
  Loading,
  PointerLink,
  StaleIcon,
  StatusBadge,
  useData,
} from './common';
import { targetOf, WhyLine } from './Decision';
import { RunCard } from './RunCard';
import { Link, type Location, navigate } from './router';

function RunTable({ runs, showComponent = true }: { runs: RunSummary[]; showComponent?: boolean }) {
  if (runs.length === 0) return <p className="muted">No runs.</p>;
  return (
    <table className="runs">
      <thead>
        <tr>
          <th>Run</th>
          {showComponent ? <th>Component</th> : null}
          <th>Status</th>
          <th>Started</th>
          <th>Duration</th>
          <th>Outputs</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.id} data-testid="run-row">
            <td>
              <Link to={`/run?id=${run.id}`}>#{run.id}</Link> <StaleIcon stale={run.stale} />
            </td>
            {showComponent ? (
              <td>
                <Link to={`/history?component=${encodeURIComponent(run.component)}`}>{run.component}</Link>
              </td>
            ) : null}
            <td>
              <StatusBadge status={run.status} />
            </td>
            <td>{formatTime(run.startedAt)}</td>
            <td>{formatDuration(run.startedAt, run.endedAt)}</td>
            <td>
              {run.outputs.slice(0, 3).map((p) => (
                <div key={p.id}>
                  <PointerLink pointer={p} />
                </div>
              ))}
              {run.outputs.length > 3 ? <span className="muted">+{run.outputs.length - 3} more</span> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `/`: a pointer search and the latest runs. */
export function HomeView() {
  const { data, error } = useData(() => api<RunPage>('/runs?limit=10'), []);
  return (
    <div>
      <h1>Lineage</h1>
      <p>
        Trace any output back to the data, code and runs that made it: paste its URI in the box above. Or
        start from the <Link to="/recent">recent runs</Link>, the <Link to="/components">components</Link>,
        the <Link to="/review">flagged outputs</Link> or a model's <Link to="/promotions">promotions</Link>.
      </p>
      <h2>Latest runs</h2>
      <ErrorBox error={error} />
      {data ? <RunTable runs={data.runs} /> : error ? null : <Loading />}
    </div>
  );
}

/** `/recent?component=&status=&source=`: newest runs, paged. */
export function RecentView({ location }: { location: Location }) {
  const component = location.params.get('component') ?? '';
  const status = location.params.get('status') ?? '';
  const source = location.params.get('source') ?? '';
  const [pages, setPages] = useState<RunPage[]>([]);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    setPages([]);
    setError(undefined);
    api<RunPage>(`/runs${query({ limit: 50, component, status, source })}`).then(
      (p) => setPages([p]),
      setError,
    );
  }, [component, status, source]);
  const more = () => {
    const cursor = pages[pages.length - 1]?.nextCursor;
    if (!cursor) return;
    api<RunPage>(`/runs${query({ limit: 50, component, status, source, cursor })}`).then(
      (p) => setPages((all) => [...all, p]),
      setError,
    );
  };
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    navigate(
      `/recent${query({ component: String(form.get('component') ?? ''), status: String(form.get('status') ?? ''), source: String(form.get('source') ?? '') })}`,
    );
  };
  const runs = pages.flatMap((p) => p.runs);
  return (
    <div>
      <h1>Recent runs</h1>
      <form className="filters" onSubmit={submit} key={`${component}|${status}|${source}`}>
        <label>
          Component <input name="component" defaultValue={component} />
        </label>
        <label>
          Status{' '}
          <select name="status" defaultValue={status}>
            <option value="">any</option>
            {['running', 'pending', 'succeeded', 'failed', 'cancelled'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Source{' '}
          <select name="source" defaultValue={source}>
            <option value="">any</option>
            {['temporal', 'dvc', 'mlflow', 'openlineage', 'api', 'mltrace'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorBox error={error} />
      {pages.length ? <RunTable runs={runs} /> : error ? null : <Loading />}
      {pages[pages.length - 1]?.nextCursor ? (
        <button type="button" onClick={more}>
          Load more
        </button>
      ) : null}
    </div>
  );
}

/** `/history?component=&from=&to=&limit=`: one component's runs in a date range. */
export function HistoryView({ location }: { location: Location }) {
  const component = location.params.get('component') ?? '';
  const from = location.params.get('from') ?? '';
  const to = location.params.get('to') ?? '';
  const limit = location.params.get('limit') ?? '50';
  const { data, error, loading } = useData(
    () =>
      component
        ? api<{ component: Component | null; runs: RunSummary[] }>(
            `/history${query({ component, from, to, limit })}`,
          )
        : Promise.resolve(undefined),
    [component, from, to, limit],
  );
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const get = (name: string) => String(form.get(name) ?? '');
    navigate(
      `/history${query({ component: get('component'), from: get('from'), to: get('to'), limit: get('limit') })}`,
    );
  };
  return (
    <div>
      <h1>History{component ? <> of {component}</> : null}</h1>
      <form className="filters" onSubmit={submit} key={`${component}|${from}|${to}|${limit}`}>
        <label>
          Component <input name="component" defaultValue={component} required />
        </label>
        <label>
          From <input type="date" name="from" defaultValue={from} />
        </label>
        <label>
          To <input type="date" name="to" defaultValue={to} />
        </label>
        <label>
          Limit <input type="number" name="limit" min={1} max={500} defaultValue={limit} />
        </label>
        <button type="submit">Show</button>
      </form>
      {data?.component ? (
        <div className="card">
          <strong>{data.component.name}</strong> {data.component.description}
          {data.component.owner ? <span className="muted"> · owner {data.component.owner}</span> : null}
          {data.component.tags.map((t) => (
            <Link key={t} to={`/components?tag=${encodeURIComponent(t)}`} className="chip">
              {t}
            </Link>
          ))}
        </div>
      ) : null}
      <ErrorBox error={error} />
      {data ? <RunTable runs={data.runs} showComponent={false} /> : loading && component ? <Loading /> : null}
    </div>
  );
}

/** `/components?tag=`: every component, or those with a tag. */
export function ComponentsView({ location }: { location: Location }) {
  const tag = location.params.get('tag') ?? '';
  const { data, error } = useData(
    () =>
      Promise.all([
        api<{ components: Component[] }>(`/components${query({ tag })}`),
        api<{ tags: string[] }>('/tags'),
      ]),
    [tag],
  );
  return (
    <div>
      <h1>Components{tag ? <> tagged {tag}</> : null}</h1>
      <ErrorBox error={error} />
      {data ? (
        <>
          <p>
            Tags:{' '}
            {data[1].tags.map((t) => (
              <Link key={t} to={`/components?tag=${encodeURIComponent(t)}`} className="chip">
                {t}
              </Link>
            ))}
            {tag ? <Link to="/components">all</Link> : null}
          </p>
          <table className="runs">
            <thead>
              <tr>
                <th>Component</th>
                <th>Description</th>
                <th>Owner</th>
                <th>Tags</th>
              </tr>
            </thead>
            <tbody>
              {data[0].components.map((c) => (
                <tr key={c.name}>
                  <td>
                    <Link to={`/history?component=${encodeURIComponent(c.name)}`}>{c.name}</Link>
                  </td>
                  <td>{c.description}</td>
                  <td>{c.owner}</td>
                  <td>{c.tags.join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : error ? null : (
        <Loading />
      )}
    </div>
  );
}

/** `/review`: flagged outputs and the runs most likely behind them. */
export function ReviewView() {
  const { data, error, reload } = useData(() => api<Review>('/review?limit=50'), []);
  const [actionError, setActionError] = useState<unknown>();
  const unflag = async (uri: string, version: string) => {
    setActionError(undefined);
    try {
      await api('/unflag', { body: { uri, version } });
      reload();
    } catch (e) {
      setActionError(e);
    }
  };
  return (
    <div>
      <h1>Review of flagged outputs</h1>
      <ErrorBox error={error ?? actionError} />
      {!data ? (
        error ? null : (
          <Loading />
        )
      ) : (
        <>
          <h2>Flagged ({data.flagged.length})</h2>
          {data.flagged.length === 0 ? (
            <p className="muted">Nothing is flagged. Flag a bad output from its run card or its trace.</p>
          ) : (
            <ul className="pointers" data-testid="flagged-list">
              {data.flagged.map((p) => (
                <li key={p.id}>
                  <PointerLink pointer={p} />{' '}
                  <button type="button" className="small" onClick={() => void unflag(p.uri, p.version)}>
                    Unflag
                  </button>
                </li>
              ))}
            </ul>
          )}
          <h2>Suspects</h2>
          <p className="muted">
            Runs in the traces of flagged outputs, most suspicious first. The score (Ochiai) weighs how many
            flagged traces hold a run against the {data.comparedUnflagged} unflagged outputs compared, so that
            a run common to everything is not blamed.
          </p>
          {data.suspects.length === 0 ? (
            <p className="muted">No suspects.</p>
          ) : (
            <table className="runs" data-testid="suspects">
              <thead>
                <tr>
                  <th>#</th>
                  <th>Run</th>
                  <th>Component</th>
                  <th>Score</th>
                  <th>Coverage</th>
                  <th>In flagged traces</th>
                  <th>In unflagged traces</th>
                  <th>Started</th>
                </tr>
              </thead>
              <tbody>
                {data.suspects.map((s, i) => (
                  <tr key={s.run.id}>
                    <td>{i + 1}</td>
                    <td>
                      <Link to={`/run?id=${s.run.id}`}>#{s.run.id}</Link> <StaleIcon stale={s.run.stale} />
                    </td>
                    <td>{s.run.component}</td>
                    <td>{s.score.toFixed(2)}</td>
                    <td>{Math.round(s.coverage * 100)}%</td>
                    <td>{s.flaggedCount}</td>
                    <td>{s.unflaggedCount}</td>
                    <td>{formatTime(s.run.startedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </div>
  );
}

/**
 * `/promotions?model=&alias=&since=&until=`: every promotion, newest first, in one list: the
 * retraining decisions with their reasons, and the alias and stage moves synced from MLflow
 * (from -> to, when, who, and "no recorded reason" where none was).
 */
export function PromotionsView({ location }: { location: Location }) {
  const filters = {
    model: location.params.get('model') ?? '',
    alias: location.params.get('alias') ?? '',
    since: location.params.get('since') ?? '',
    until: location.params.get('until') ?? '',
  };
  const { model } = filters;
  const { data, error, loading } = useData(
    () => api<{ promotions: PromotionEntry[] }>(`/promotions${query({ ...filters, limit: 100 })}`),
    [filters.model, filters.alias, filters.since, filters.until],
  );
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const field = (name: string) => String(form.get(name) ?? '');
    navigate(
      `/promotions${query({ model: field('model'), alias: field('alias'), since: field('since'), until: field('until') })}`,
    );
  };
  return (
    <div>
      <h1>Promotions{model ? <> of {model}</> : null}</h1>
      <form className="filters" onSubmit={submit} key={JSON.stringify(filters)}>
        <label>
          Model <input name="model" defaultValue={model} placeholder="registered model name" />
        </label>
        <label>
          Alias or stage <input name="alias" defaultValue={filters.alias} placeholder="champion" />
        </label>
        <label>
          Since <input name="since" type="date" defaultValue={filters.since} />
        </label>
        <label>
          Until <input name="until" type="date" defaultValue={filters.until} />
        </label>
        <button type="submit">Show</button>
      </form>
      <ErrorBox error={error} />
      {loading && !data ? <Loading /> : null}
      {data && data.promotions.length === 0 ? <p className="muted">No promotions recorded.</p> : null}
      <ol className="timeline" data-testid="promotions">
        {data?.promotions.map((p, i) => (
          <li
            key={`${p.at}-${p.runId ?? i}`}
            className={`decision-${p.action}`}
            data-testid="promotion"
            data-kind={p.kind}
          >
            <div>
              <strong>{formatTime(p.at)}</strong>{' '}
              <Link to={`/promotions${query({ model: p.model })}`}>{p.model}</Link>
              <span className="muted">{targetOf(p)}</span>{' '}
              <span className="from-to">
                {p.from.length ? p.from.map((v) => `v${v}`).join(', ') : 'none'} →{' '}
                {p.to === null ? 'none' : `v${p.to}`}
              </span>{' '}
              <span className="badge">{p.action}</span>{' '}
              <span className="muted">
                {p.kind === 'decision' ? 'retraining decision' : 'in the MLflow registry'}
              </span>
              <span className="muted" data-testid="who">
                {' '}
                · by{' '}
                {p.who ??
                  (p.kind === 'decision' ? 'the policy (automatic)' : 'someone MLflow does not record')}
              </span>
              {p.approvalComment ? <q className="muted"> {p.approvalComment}</q> : null}
              {p.detectedAt && p.kind === 'stage' ? (
                <span className="muted"> · detected {formatTime(p.detectedAt)}</span>
              ) : null}
              {p.runId ? (
                <>
                  {' '}
                  <Link to={`/run?id=${p.runId}`}>run #{p.runId}</Link>
                </>
              ) : null}
            </div>
            {p.reasons.length ? (
              <ul>
                {p.reasons.map((r) => (
                  <li key={r}>{r}</li>
                ))}
              </ul>
            ) : (
              <WhyLine promotion={p} />
            )}
            {p.metrics || p.policy ? (
              <details>
                <summary>Policy and metrics</summary>
                <pre className="code">
                  {JSON.stringify({ policy: p.policy, metrics: p.metrics }, null, 2)}
                </pre>
              </details>
            ) : null}
          </li>
        ))}
      </ol>
    </div>
  );
}

/** `/run?id=`: one run's card on its own page. */
export function RunView({ location }: { location: Location }) {
  const id = Number(location.params.get('id'));
  if (!Number.isInteger(id) || id < 1) return <p className="muted">No run id in the URL.</p>;
  return <RunCard id={id} />;
}
