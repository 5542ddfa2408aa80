/** What a pointer names, inferred from its URI unless given. */
export type PointerType = 'data' | 'model' | 'endpoint' | 'metric' | 'unknown';
export const POINTER_TYPES: readonly PointerType[] = ['data', 'model', 'endpoint', 'metric', 'unknown'];

/** The state of one ComponentRun. `pending` is an async-completed activity still out. */
export type RunStatus = 'running' | 'pending' | 'succeeded' | 'failed' | 'cancelled';
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'pending', 'succeeded', 'failed', 'cancelled'];

/** Which system logged a run. */
export type RunSource = 'temporal' | 'dvc' | 'mlflow' | 'openlineage' | 'api' | 'mltrace';
export const RUN_SOURCES: readonly RunSource[] = [
  'temporal',
  'dvc',
  'mlflow',
  'openlineage',
  'api',
  'mltrace',
];

/** A pointer as given to the store: a URI or path, and, where known, a content version. */
export interface PointerInput {
  uri: string;
  /** Content digest or registry version (DVC md5, MLflow version, sha256, etag). Empty when unknown. */
  version?: string;
  /** Inferred from the URI when absent. */
  type?: PointerType;
}

/** A stored pointer: one (uri, version) pair. */
export interface IOPointer {
  id: number;
  uri: string;
  /** Empty string when the version is unknown. */
  version: string;
  type: PointerType;
  flag: boolean;
}

/** Where a run sat in Temporal, when it came from a workflow. */
export interface WorkflowContext {
  namespace?: string;
  workflowId?: string;
  runId?: string;
  workflowType?: string;
  taskQueue?: string;
  parentWorkflowId?: string;
  rootWorkflowId?: string;
}

/** A component: a named step of a pipeline (cleaning, featuregen, train, promote...). */
export interface Component {
  name: string;
  description: string;
  owner: string;
  tags: string[];
}

/** One execution of a component, as logged. Every field but `component` and `startedAt` is optional. */
export interface ComponentRunInput {
  component: string;
  /** Unique key that makes the write idempotent; re-logging a key updates that run. Default: `api:<uuid>`. */
  runKey?: string;
  /** @default 'api' */
  source?: RunSource;
  /** @default 'succeeded' */
  status?: RunStatus;
  startedAt: Date;
  endedAt?: Date | null;
  attempt?: number;
  gitCommit?: string;
  codeSnapshot?: string;
  error?: { message: string; type?: string };
  notes?: string;
  workflow?: WorkflowContext;
  metadata?: Record<string, unknown>;
  inputs?: Array<string | PointerInput>;
  outputs?: Array<string | PointerInput>;
  /** Explicit upstream runs by run key, added to the dependencies inferred from inputs. */
  dependsOn?: string[];
  /** Infer dependencies from inputs (off when copying frozen edges from elsewhere). @default true */
  inferDependencies?: boolean;
}

/** A stored ComponentRun with its I/O and dependencies. */
export interface ComponentRun {
  id: number;
  runKey: string;
  component: string;
  source: RunSource;
  status: RunStatus;
  startedAt: Date;
  endedAt: Date | null;
  attempt: number | null;
  gitCommit: string | null;
  codeHash: string | null;
  codeSnapshot: string | null;
  error: { message: string; type: string | null } | null;
  notes: string;
  /** Staleness warnings computed when the run was logged. */
  stale: string[];
  workflow: WorkflowContext;
  metadata: Record<string, unknown>;
  inputs: IOPointer[];
  outputs: IOPointer[];
  /** Ids of the runs this run depends on (frozen at write time). */
  dependsOn: number[];
}

/** What a promotion decision concluded. */
export type PromotionOutcome =
  | 'promote'
  | 'reject'
  | 'awaiting_approval'
  | 'approved'
  | 'rejected_by_person'
  | 'timed_out';
export const PROMOTION_OUTCOMES: readonly PromotionOutcome[] = [
  'promote',
  'reject',
  'awaiting_approval',
  'approved',
  'rejected_by_person',
  'timed_out',
];

/** A model promotion decision, as recorded (by the retraining workflow, or by hand). */
export interface PromotionDecisionInput {
  /** Unique key; re-recording it updates the decision (e.g. awaiting approval, then approved). */
  decisionKey: string;
  model: string;
  /** The candidate model version. */
  candidate: string;
  /** The version holding the alias when the decision was made, if any. */
  previousChampion?: string | null;
  /** @default 'champion' */
  alias?: string;
  decision: PromotionOutcome;
  /** The policy the decision applied, as data. */
  policy?: Record<string, unknown>;
  /** Candidate and champion metrics, drift figures: whatever the decision weighed. */
  metrics?: Record<string, unknown>;
  /** Human-readable reasons, each naming the metric or rule it comes from. */
  reasons: string[];
  approver?: string | null;
  approvalComment?: string | null;
  /** The ComponentRun that made the decision (by run key), linking it into the lineage. */
  runKey?: string;
  decidedAt: Date;
}

/** A stored promotion decision. */
export interface PromotionDecision extends Required<Omit<PromotionDecisionInput, 'runKey'>> {
  id: number;
  /** The linked ComponentRun's id, when there is one. */
  runId: number | null;
}
