/**
 * Client helpers of the retraining workflow: start a run, answer an approval, retrain on a
 * schedule, and locate the workflow module for a worker.
 * @module
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type Client,
  type ScheduleHandle,
  ScheduleOverlapPolicy,
  type ScheduleSpec,
  type WorkflowHandle,
} from '@temporalio/client';
import { type Approval, type RetrainingDecision, resolvePolicy } from './policy.js';
import type { RetrainingInput, RetrainingLineage, RetrainingResult, RetrainingStatus } from './types.js';
import {
  approvePromotionUpdate,
  decisionQuery,
  lineageQuery,
  RETRAINING_WORKFLOW_TYPE,
  statusQuery,
} from './workflow/definitions.js';
import type { retrainingWorkflow } from './workflow/workflow.js';

/**
 * The path of the sandbox-safe workflow module, for `Worker.create({ workflowsPath })` when the
 * worker runs only the retraining workflow (otherwise re-export `retrainingWorkflow` from your own
 * workflows module).
 */
export function retrainingWorkflowsPath(): string {
  const js = fileURLToPath(new URL('./workflow/index.js', import.meta.url));
  if (existsSync(js)) return js;
  return fileURLToPath(new URL('./workflow/index.ts', import.meta.url));
}

/** Options of {@link startRetraining}. */
export interface StartRetrainingOptions {
  client: Client;
  taskQueue: string;
  input: RetrainingInput;
  /** @default `retrain-<model>-<timestamp>` */
  workflowId?: string;
}

/** Starts a retraining run (the policy is checked first: a malformed one fails here, not later). */
export async function startRetraining(
  options: StartRetrainingOptions,
): Promise<WorkflowHandle<typeof retrainingWorkflow>> {
  resolvePolicy(options.input.policy);
  return options.client.workflow.start<typeof retrainingWorkflow>(RETRAINING_WORKFLOW_TYPE, {
    taskQueue: options.taskQueue,
    workflowId: options.workflowId ?? `retrain-${options.input.model}-${Date.now()}`,
    args: [options.input],
    staticSummary: `Retrain ${options.input.model} on ${options.input.data.path}@${options.input.data.rev ?? 'HEAD'}`,
  });
}

/** A handle of a running or finished retraining run. */
export function retrainingHandle(
  client: Client,
  workflowId: string,
): WorkflowHandle<typeof retrainingWorkflow> {
  return client.workflow.getHandle<typeof retrainingWorkflow>(workflowId);
}

/**
 * Answers a decision awaiting approval (the `approvePromotion` update). Resolves to the decision
 * after the answer; rejects with a `WorkflowUpdateFailedError` whose cause says why when the
 * workflow's validator refuses it (nothing awaits approval, no approver, no reason, not allowed).
 */
export async function approvePromotion(
  handle: WorkflowHandle<typeof retrainingWorkflow>,
  approval: Approval,
): Promise<RetrainingDecision> {
  return handle.executeUpdate(approvePromotionUpdate, { args: [approval] });
}

/** The `status`, `decision` and `lineage` queries of a run. */
export const retrainingQueries = {
  status: (handle: WorkflowHandle): Promise<RetrainingStatus> => handle.query(statusQuery),
  decision: (handle: WorkflowHandle): Promise<RetrainingDecision | null> => handle.query(decisionQuery),
  lineage: (handle: WorkflowHandle): Promise<RetrainingLineage> => handle.query(lineageQuery),
};

/** Options of {@link scheduleRetraining}. */
export interface ScheduleRetrainingOptions {
  client: Client;
  scheduleId: string;
  taskQueue: string;
  input: RetrainingInput;
  /** How often: a Temporal duration (`'1 day'`, `'7d'`). Give this, `cron` or `spec`. */
  every?: string;
  /** Cron expressions (`'0 3 * * 1'`: Mondays at 03:00 UTC). */
  cron?: string[];
  /** A full schedule spec, for calendars, jitter, start and end. */
  spec?: ScheduleSpec;
  /**
   * What to do when a run is still going (waiting for approval, say) at the next time.
   * @default ScheduleOverlapPolicy.SKIP
   */
  overlap?: ScheduleOverlapPolicy;
  /** Create it paused. @default false */
  paused?: boolean;
  /** @default `Retrain <model> periodically` */
  note?: string;
}

/**
 * Retrains periodically: a Temporal schedule (`client.schedule.create`) starting the retraining
 * workflow with the same input each time (pin `rev: 'HEAD'` or a branch to train on the latest
 * data). Scheduled runs get ids `<scheduleId>-<timestamp>`.
 */
export async function scheduleRetraining(options: ScheduleRetrainingOptions): Promise<ScheduleHandle> {
  resolvePolicy(options.input.policy);
  const spec: ScheduleSpec = options.spec ?? {
    ...(options.every ? { intervals: [{ every: options.every as '1 day' }] } : {}),
    ...(options.cron ? { cronExpressions: options.cron } : {}),
  };
  if (!spec.intervals?.length && !spec.cronExpressions?.length && !spec.calendars?.length) {
    throw new RangeError('scheduleRetraining needs `every`, `cron` or a `spec` with intervals or calendars');
  }
  return options.client.schedule.create({
    scheduleId: options.scheduleId,
    spec,
    action: {
      type: 'startWorkflow',
      workflowType: RETRAINING_WORKFLOW_TYPE,
      taskQueue: options.taskQueue,
      args: [options.input],
      workflowId: options.scheduleId,
      staticSummary: `Scheduled retraining of ${options.input.model}`,
    },
    policies: { overlap: options.overlap ?? ScheduleOverlapPolicy.SKIP },
    state: {
      paused: options.paused ?? false,
      note: options.note ?? `Retrain ${options.input.model} periodically`,
    },
  });
}

export type { RetrainingResult };
