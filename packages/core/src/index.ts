/**
 * `@mltrace/core`: the domain of mltrace for Temporal, pure and free of I/O. Components,
 * ComponentRuns and IOPointers; pointer typing and URI normalisation; run keys; the named errors
 * and the logger interface every other package shares.
 *
 * @example
 * ```ts
 * import { normalizeUri, inferPointerType } from '@mltrace/core';
 * normalizeUri('./data/clean.csv', { cwd: '/repo' }); // 'file:///repo/data/clean.csv'
 * inferPointerType('models:/taxi-tip@champion');       // 'model'
 * ```
 * @module
 */
export {
  ConfigError,
  type ErrorCode,
  InvalidInputError,
  MltraceError,
  NotFoundError,
  UnavailableError,
} from './errors.js';
export { experimentLabel, type RunExperiment, runExperiment } from './experiment.js';
export { type Logger, silentLogger } from './logger.js';
export {
  formatPointer,
  inferPointerType,
  type NormalizeOptions,
  normalizeUri,
  type PointerSpecOptions,
  parsePointerSpec,
} from './pointers.js';
export {
  isSecretKey,
  REDACTED,
  redactPromotionDecision,
  redactRunInput,
  redactText,
  redactUri,
  redactValue,
  stripUriCredentials,
} from './redact.js';
export { dvcRunKey, mlflowRunKey, randomRunKey, temporalRunKey } from './run-keys.js';
export { renderTree, type TreeNodeView } from './tree.js';
export {
  type Component,
  type ComponentRun,
  type ComponentRunInput,
  type IOPointer,
  POINTER_TYPES,
  type PointerInput,
  type PointerType,
  PROMOTION_OUTCOMES,
  type PromotionDecision,
  type PromotionDecisionInput,
  type PromotionOutcome,
  RUN_SOURCES,
  RUN_STATUSES,
  type RunSource,
  type RunStatus,
  type WorkflowContext,
} from './types.js';
