/**
 * `@mltrace/server`: the HTTP face of the lineage store. A versioned JSON API (`/api/v1`: trace,
 * impact, runs, history, components, tags, review, promotions, flag, notes), OpenLineage
 * ingestion (`POST /api/v1/lineage`) and export, an MLflow webhook receiver, Prometheus
 * `/metrics`, and the web UI (`/ui`): a trace DAG, run cards, history, recent runs, review and
 * promotion timelines.
 *
 * @example
 * ```ts
 * import { openStore } from '@mltrace/store';
 * import { createServer } from '@mltrace/server';
 *
 * const store = await openStore({ url: process.env.MLTRACE_DATABASE_URL });
 * const server = await createServer({ store, port: 8000, token: process.env.MLTRACE_SERVER_TOKEN });
 * console.log(`${server.url}/ui/`);
 * ```
 * @module
 */

export type { MlflowWebhookEvent } from '@mltrace/mlflow';
export { bearerToken, isLoopback, safeEqual } from './auth.js';
export { type ErrorBody, HTTP_STATUS, HttpError, type HttpErrorCode, toErrorResponse } from './errors.js';
export {
  createServerMetrics,
  type MetricsOptions,
  type RunCount,
  type ServerMetrics,
  type SharedMetrics,
  sharedMetrics,
} from './metrics.js';
export {
  type ExportOpenLineageOptions,
  type ExportOpenLineageResult,
  exportOpenLineage,
  MLTRACE_PRODUCER,
  type RunEventOptions,
  runIdForKey,
  runToOpenLineageEvents,
} from './openlineage/export.js';
export {
  type IngestResult,
  ingestOpenLineageEvent,
  openLineageComponent,
  openLineageRunKey,
  openLineageToRun,
} from './openlineage/ingest.js';
export { datasetToUri, OPAQUE_NAMESPACE, uriToDataset } from './openlineage/naming.js';
export {
  type EventType as OpenLineageEventType,
  OPENLINEAGE_SPEC_URL,
  type OpenLineageDataset,
  type OpenLineageRunEvent,
  RUN_EVENT_SCHEMA_URL,
} from './openlineage/types.js';
export { type EventKind as OpenLineageEventKind, validateOpenLineageEvent } from './openlineage/validate.js';
export { API_PREFIX } from './routes.js';
export {
  createServer,
  type MltraceServer,
  type ServerLimits,
  type ServerOptions,
} from './server.js';
export { SESSION_COOKIE } from './session.js';
export {
  loadServerToken,
  readServerToken,
  SERVER_TOKEN_FILE,
  type ServerTokenOptions,
  serverTokenPath,
} from './token.js';
