import type { RunStatus } from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** One row of a run count: how many runs of a component have a status. */
export interface RunCount {
  component: string;
  status: RunStatus;
  count: number;
}

/**
 * The metrics the Temporal plugin and the bridges report, defined once per registry so that every
 * part of a process shares them. Get them with {@link sharedMetrics}.
 */
export interface SharedMetrics {
  /** `mltrace_writer_queue_size`: runs waiting in the plugin's in-memory queue. */
  writerQueueSize: Gauge;
  /** `mltrace_writer_spool_size`: runs spilled to the local spool, waiting for the store. */
  writerSpoolSize: Gauge;
  /** `mltrace_bridge_sync_lag_seconds{bridge}`: age of the newest synced event per bridge. */
  bridgeSyncLagSeconds: Gauge<'bridge'>;
  /** `mltrace_bridge_sync_errors_total{bridge}`: failed syncs per bridge. */
  bridgeSyncErrors: Counter<'bridge'>;
}

function getOrCreate<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** The shared metrics of a registry, created on first use (idempotent). */
export function sharedMetrics(registry: Registry): SharedMetrics {
  const registers = [registry];
  return {
    writerQueueSize: getOrCreate(
      registry,
      'mltrace_writer_queue_size',
      () =>
        new Gauge({
          name: 'mltrace_writer_queue_size',
          help: 'Runs waiting in the plugin writer queue',
          registers,
        }),
    ),
    writerSpoolSize: getOrCreate(
      registry,
      'mltrace_writer_spool_size',
      () =>
        new Gauge({ name: 'mltrace_writer_spool_size', help: 'Runs in the plugin writer spool', registers }),
    ),
    bridgeSyncLagSeconds: getOrCreate(
      registry,
      'mltrace_bridge_sync_lag_seconds',
      () =>
        new Gauge({
          name: 'mltrace_bridge_sync_lag_seconds',
          help: 'Seconds since the newest event a bridge synced',
          labelNames: ['bridge'] as const,
          registers,
        }),
    ),
    bridgeSyncErrors: getOrCreate(
      registry,
      'mltrace_bridge_sync_errors_total',
      () =>
        new Counter({
          name: 'mltrace_bridge_sync_errors_total',
          help: 'Failed bridge syncs',
          labelNames: ['bridge'] as const,
          registers,
        }),
    ),
  };
}

/** Options of the server's metrics. */
export interface MetricsOptions {
  /** Register into this registry (shared with the plugin or a bridge in the same process). @default a new one */
  registry?: Registry;
  /** Called once with the registry, to add collectors. */
  register?: (registry: Registry) => void;
  /** Reuse a run count for this long. @default 15_000 */
  runCountCacheMs?: number;
}

/** The server's own metrics. */
export interface ServerMetrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
}

/**
 * Creates the server's metrics: `mltrace_runs{component,status}` (refreshed from the store on
 * scrape, cached), `mltrace_http_requests_total` and `mltrace_http_request_duration_seconds`, `mltrace_stale_runs`, and the {@link sharedMetrics}.
 */
export function createServerMetrics(store: LineageStore, options: MetricsOptions = {}): ServerMetrics {
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  sharedMetrics(registry);
  const cacheMs = options.runCountCacheMs ?? 15_000;
  let cached: { at: number; value: Promise<{ counts: RunCount[]; stale: number }> } | undefined;

  const load = () => {
    const now = Date.now();
    if (!cached || now - cached.at > cacheMs) {
      const value = store.countRuns().then((rows) => ({
        counts: rows,
        stale: rows.reduce((n, row) => n + row.stale, 0),
      }));
      cached = { at: now, value };
      value.catch(() => {
        cached = undefined;
      });
    }
    return cached.value;
  };

  new Gauge({
    name: 'mltrace_stale_runs',
    help: 'Runs with staleness warnings',
    registers,
    async collect() {
      this.set((await load()).stale);
    },
  });
  new Gauge({
    name: 'mltrace_runs',
    help: 'Runs in the lineage store by component and status',
    labelNames: ['component', 'status'] as const,
    registers,
    async collect() {
      const { counts } = await load();
      this.reset();
      for (const row of counts) this.set({ component: row.component, status: row.status }, row.count);
    },
  });
  const httpRequests = new Counter({
    name: 'mltrace_http_requests_total',
    help: 'HTTP requests answered, by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'mltrace_http_request_duration_seconds',
    help: 'HTTP request durations, by route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  options.register?.(registry);
  return { registry, httpRequests, httpDuration };
}
