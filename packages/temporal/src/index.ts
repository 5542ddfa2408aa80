/**
 * `@mltrace/temporal`: mltrace for Temporal. One plugin for the worker, the replay worker, the
 * workflow bundler and the client logs every activity attempt of every workflow as a
 * ComponentRun in the lineage store (run key `temporal:<namespace>/<workflowId>/<runId>/<activityId>/<attempt>`),
 * with its workflow context and its input and output pointers, without changing activity code
 * and without ever slowing or failing it: records go through a bounded queue flushed in batches,
 * spilled to a local spool when the store is away. {@link backfill} rebuilds missing runs from
 * Temporal's event histories. The sandbox-safe workflow side is `@mltrace/temporal/workflow`.
 *
 * @example
 * ```ts
 * import { createMltracePlugin } from '@mltrace/temporal';
 * import { openPostgresStore } from '@mltrace/store/postgres';
 *
 * const plugin = createMltracePlugin({ store: await openPostgresStore({ url: process.env.MLTRACE_DATABASE_URL! }) });
 * const worker = await Worker.create({ connection, taskQueue: 'ml', workflowsPath, activities, plugins: [plugin] });
 * await worker.run();
 * ```
 * @module
 */
export {
  addInput,
  addMetadata,
  addOutput,
  CHECK_FAILED_TYPE,
  type CheckOutcome,
  type RecorderStats,
  runKeyOf,
} from './activity.js';
export { type BackfillOptions, type BackfillResult, backfill } from './backfill.js';
export { type MltraceClientInterceptorOptions, MltraceWorkflowClientInterceptor } from './client.js';
export {
  type Check,
  type CheckResult,
  type ComponentSpec,
  component,
  type Pointers,
} from './component.js';
export {
  MLTRACE_SEARCH_ATTRIBUTES,
  type OperatorConnection,
  PatchGate,
  registeredSearchAttributes,
  SearchAttributeConflictError,
  type SearchAttributeTypeName,
  type SetupResult,
  setupSearchAttributes,
} from './namespace.js';
export type {
  ComponentNameInput,
  MltracePluginOptions,
  PointerExtractionInput,
  PointerOptions,
  ResolvedOptions,
  WriterOptions,
} from './options.js';
export { resolveOptions } from './options.js';
export { createMltracePlugin, MltracePlugin, type PluginStats, workflowInterceptorModule } from './plugin.js';
export { type Json, previewValue, scrubText } from './sanitize.js';
export {
  checkTemporalSdk,
  installedTemporalSdk,
  isSupportedTemporalSdk,
  TEMPORAL_SDK_PACKAGES,
  TEMPORAL_SDK_RANGE,
} from './sdk.js';
export { LINEAGE_HEADER, type LineageHeader, UI_HEADER } from './workflow/header.js';
export { findPointers, looksLikePointer } from './workflow/pointers.js';
export { DEFAULT_REDACT_KEYS, REDACTED, scrubUri, secretKeyTest } from './workflow/redact.js';
export { LineageWriter, type LineageWriterOptions, type PendingRun, type WriterStats } from './writer.js';
