/**
 * The messages of the retraining workflow (queries and the approval update), importable from
 * workflow code and from clients alike.
 * @module
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Approval, RetrainingDecision } from '../policy.js';
import type { RetrainingLineage, RetrainingStatus } from '../types.js';

/** The workflow type name. */
export const RETRAINING_WORKFLOW_TYPE = 'retrainingWorkflow';

/** The current decision (null before the run decides). */
export const decisionQuery = defineQuery<RetrainingDecision | null>('decision');

/** The phase, the steps so far, the candidate and the outcome. */
export const statusQuery = defineQuery<RetrainingStatus>('status');

/**
 * The chain of this run: data version, champion, training run, candidate, drift, evaluation,
 * decision, and each step's pointers. (On a worker with the mltrace plugin this answers the
 * `lineage` query for this workflow type, in place of the plugin's generic one.)
 */
export const lineageQuery = defineQuery<RetrainingLineage>('lineage');

/**
 * A person's answer to a decision awaiting approval: who, approve or not, and why. Validated
 * before it is accepted (nothing awaits approval, no approver, no reason, an approver the policy
 * does not allow, another candidate: refused, and nothing is written to the history). Returns the
 * decision as it stands after the answer.
 */
export const approvePromotionUpdate = defineUpdate<RetrainingDecision, [Approval]>('approvePromotion');
