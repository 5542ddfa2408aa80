/**
 * `@mltrace/retraining/workflow`: the retraining workflow, sandbox-safe. It imports only
 * `@temporalio/workflow` and this package's pure modules (policy, drift types), so it can be
 * bundled into workflow code. Re-export it from your workflows module, next to your own workflows:
 *
 * @example
 * ```ts
 * // workflows.ts (the worker's workflowsPath)
 * export { retrainingWorkflow } from '@mltrace/retraining/workflow';
 * ```
 * @module
 */
export {
  approvePromotionUpdate,
  decisionQuery,
  lineageQuery,
  RETRAINING_WORKFLOW_TYPE,
  statusQuery,
} from './definitions.js';
export { DECISION_MEMO_PATCH, NON_RETRYABLE_ERROR_TYPES, retrainingWorkflow } from './workflow.js';
