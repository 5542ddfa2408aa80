/**
 * Run keys: the unique, stable identity of a ComponentRun, so that every write is idempotent
 * (retries, replays, re-syncs and backfills update a run instead of duplicating it).
 */

/** `temporal:<namespace>/<workflowId>/<runId>/<activityId>/<attempt>`: one activity attempt. */
export function temporalRunKey(parts: {
  namespace: string;
  workflowId: string;
  runId: string;
  activityId: string;
  attempt: number;
}): string {
  return `temporal:${parts.namespace}/${parts.workflowId}/${parts.runId}/${parts.activityId}/${parts.attempt}`;
}

/** `dvc:<repo>/<commit>/<stage>`: one DVC stage execution recorded in `dvc.lock`. */
export function dvcRunKey(parts: { repo: string; commit: string; stage: string }): string {
  return `dvc:${parts.repo}/${parts.commit}/${parts.stage}`;
}

/** `mlflow:<server>/<model>/<version>/<event>/<timestamp>`: one registry event. */
export function mlflowRunKey(parts: {
  server: string;
  model: string;
  version: string;
  event: string;
  timestamp: number;
}): string {
  return `mlflow:${parts.server}/${parts.model}/${parts.version}/${parts.event}/${parts.timestamp}`;
}

/** `api:<uuid>`: a run logged by hand with no natural key. */
export function randomRunKey(): string {
  return `api:${globalThis.crypto.randomUUID()}`;
}
