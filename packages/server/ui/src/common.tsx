import { type DependencyList, useCallback, useEffect, useState } from 'react';
import { ApiError, type IOPointer, type RunStatus } from './api';
import { Link } from './router';

/** Loads data for a view; `reload()` fetches again. */
export function useData<T>(load: () => Promise<T>, deps: DependencyList) {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller lists what `load` depends on
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : undefined;
  return (
    <div className="callout error" role="alert">
      <strong>{e ? `${e.status} ${e.code}` : 'error'}</strong>: {(error as Error).message ?? String(error)}
      {e?.hint ? <div className="hint">{e.hint}</div> : null}
      {e?.status === 401 ? (
        <div className="hint">Enter the server's token with the Token button above.</div>
      ) : null}
    </div>
  );
}

export function Loading() {
  return <p className="muted">Loading…</p>;
}

export function StatusBadge({ status }: { status: RunStatus }) {
  return <span className={`badge status-${status}`}>{status}</span>;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d{3}Z$/, ' UTC');
}

export function formatDuration(start: string, end: string | null): string {
  if (!end) return '—';
  const ms = new Date(end).getTime() - new Date(start).getTime();
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1_000) return `${ms} ms`;
  const s = ms / 1_000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** The UI URL of a pointer's trace (or impact). */
export function pointerHref(
  pointer: { uri: string; version?: string },
  view: 'trace' | 'impact' = 'trace',
): string {
  const params = new URLSearchParams({ uri: pointer.uri });
  if (pointer.version) params.set('version', pointer.version);
  return `/${view}?${params.toString()}`;
}

export function PointerLink({ pointer, view = 'trace' }: { pointer: IOPointer; view?: 'trace' | 'impact' }) {
  return (
    <Link to={pointerHref(pointer, view)} title={`${pointer.type}${pointer.flag ? ', flagged' : ''}`}>
      {pointer.flag ? '⚑ ' : ''}
      {pointer.uri}
      {pointer.version ? <span className="version">@{pointer.version}</span> : null}
    </Link>
  );
}

export function StaleIcon({ stale }: { stale: string[] }) {
  if (stale.length === 0) return null;
  return (
    <span className="stale-icon" title={stale.join('\n')} role="img" aria-label="stale">
      ⚠
    </span>
  );
}
