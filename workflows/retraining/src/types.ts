/**
 * The types the retraining workflow and its activities share: plain JSON, no I/O, so both the
 * workflow sandbox and the Node side import them.
 * @module
 */
import type { DriftReport, DriftThresholds } from './drift.js';
import type { Approval, Metrics, PromotionPolicy, RetrainingDecision } from './policy.js';

/** The data version a retraining run pinned: a DVC-tracked file at one revision. */
export interface DataVersion {
  /** `file:///abs/path` of the tracked file in the DVC repository (the DVC bridge's pointer URI). */
  uri: string;
  /** The DVC content hash (md5). */
  version: string;
  /** The DVC repository's working tree. */
  repo: string;
  /** Repo-relative path. */
  path: string;
  /** The revision asked for (`HEAD`, a tag, a sha). */
  rev: string;
  /** The commit it resolved to. */
  commit: string;
  /** A local copy of exactly that version, for the next steps to read. */
  localPath: string;
  size?: number;
}

/** A dataset by name: a file (URI or path) and its content digest, when known. */
export interface DatasetRef {
  name: string;
  /** A `file://` URI or an absolute path. */
  uri: string;
  /** Content digest: the md5 of the content (DVC's hash for a DVC-tracked file). */
  digest?: string;
}

/** A registered model version. */
export interface ModelRef {
  name: string;
  version: string;
  /** `models:/NAME/VERSION`. */
  uri: string;
  /** Where the model's files are (the version's `source`). */
  source: string;
  /** The MLflow run that produced it, when known. */
  runId: string | null;
}

/** The model version holding the alias when the run started, with the data it was trained on. */
export interface ChampionInfo extends ModelRef {
  alias: string;
  /** The training datasets its MLflow run logged (`mlflow.data.context` = training). */
  trainingData: DatasetRef[];
}

/** What every user step (prepare, train, evaluate activities) is given. */
export interface StepContext {
  /** The registered model name. */
  model: string;
  /** The MLflow experiment training runs go to. */
  experiment: string;
  /** The pinned data version. */
  data: DataVersion;
  /** Named files produced by the steps so far (`{ clean: '/…/clean.csv', train: '/…/train.csv' }`). */
  outputs: Record<string, string>;
  /** The run's parameters, as given in {@link RetrainingInput.params}. */
  params: Record<string, unknown>;
}

/** What a prepare step returns: named files for the next steps. */
export interface PrepareResult {
  outputs: Record<string, string>;
}

/** What training returns. */
export interface TrainResult {
  /** The MLflow run that holds the model. */
  runId: string;
  /** Where in the run's artifacts the model is. @default 'model' */
  artifactPath?: string;
  /** Metrics the training reported (informative; the decision uses the evaluation's). */
  metrics?: Metrics;
  /** Extra named files. */
  outputs?: Record<string, string>;
}

/** What evaluating one model returns. */
export interface EvaluationResult {
  metrics: Metrics;
}

/** How the candidate is trained. */
export interface TrainingConfig {
  /**
   * A user activity to call by name with the {@link StepContext}; it returns a {@link TrainResult}.
   * @default the `train` function given to `createRetrainingActivities`
   */
  activity?: string;
  /**
   * The task queue of the training activity, when another worker serves it (a Python worker, a
   * GPU pool). Only with `activity`. @default the workflow's task queue
   */
  taskQueue?: string;
  /**
   * Or a command to run (through execa) instead: it gets the context in its environment
   * (`MLTRACE_DATA_PATH`, `MLTRACE_OUTPUTS`, `MLTRACE_PARAMS`, `MLFLOW_TRACKING_URI`,
   * `MLFLOW_EXPERIMENT_NAME`...) and prints `MLFLOW_RUN_ID=<id>` (or a JSON line with
   * `mlflow_run_id`) on stdout.
   */
  command?: string[];
  /** Working directory of the command. */
  cwd?: string;
  /** Extra environment of the command. */
  env?: Record<string, string>;
  /** Where in the run's artifacts the model is, for a command. @default 'model' */
  artifactPath?: string;
}

/** Timeouts and retries of the workflow's activities. */
export interface StepOptions {
  /** @default '10 minutes' (training: '2 hours') */
  startToCloseTimeout?: string | number;
  /** @default none (training: '1 minute') */
  heartbeatTimeout?: string | number;
  /** @default 5 (training: 3) */
  maximumAttempts?: number;
  /** @default '2s' */
  initialRetryInterval?: string | number;
}

/** What a retraining run is asked to do. */
export interface RetrainingInput {
  /** The registered model (MLflow) to retrain. */
  model: string;
  /** The alias that names the production model. @default 'champion' */
  alias?: string;
  /** The DVC-tracked data to train on. */
  data: { repo: string; path: string; rev?: string };
  /** The promotion policy. */
  policy: PromotionPolicy;
  /** Free parameters passed to every user step. @default {} */
  params?: Record<string, unknown>;
  /** The MLflow experiment of the training runs. @default the model name */
  experiment?: string;
  /** User activities run in order after pinning the data, by activity name. @default [] */
  prepare?: Array<{ activity: string }>;
  /** @default the `train` function of the activities */
  training?: TrainingConfig;
  /**
   * A user activity evaluating one model, by name, and its task queue when another worker serves
   * it. @default the `evaluate` function of the activities, on the workflow's task queue
   */
  evaluation?: { activity?: string; taskQueue?: string };
  /**
   * Which prepared dataset (an output name of the prepare steps) is compared with the same dataset
   * of the champion's training, and on which features; `false` skips drift.
   * @default { dataset: the first output of the prepare steps, or the pinned data }
   */
  drift?: { dataset?: string; features?: string[] } | false;
  /** @default {} */
  steps?: StepOptions & { train?: StepOptions };
}

/** A phase of a retraining run, as the `status` query reports it. */
export type RetrainingPhase =
  | 'starting'
  | 'pinning-data'
  | 'finding-champion'
  | 'preparing'
  | 'checking-drift'
  | 'training'
  | 'registering'
  | 'evaluating'
  | 'deciding'
  | 'awaiting-approval'
  | 'recording-decision'
  | 'promoting'
  | 'done';

/** One step of a run, for the `status` and `lineage` queries. */
export interface StepRecord {
  step: string;
  /** The activity type called. */
  activity: string;
  status: 'running' | 'succeeded' | 'failed';
  /** Workflow time, ISO 8601. */
  startedAt: string;
  endedAt?: string;
  /** Pointers read and written (URIs, `uri@version` when versioned). */
  inputs: string[];
  outputs: string[];
  error?: string;
}

/** What the `status` query returns. */
export interface RetrainingStatus {
  phase: RetrainingPhase;
  model: string;
  alias: string;
  steps: StepRecord[];
  /** The candidate version, once registered. */
  candidate?: string;
  /** The current decision's outcome, once decided. */
  outcome?: RetrainingDecision['outcome'];
  /** When awaiting approval: until when (workflow time, ISO 8601). */
  approvalDeadline?: string;
}

/** What the `lineage` query returns: the chain of this run, from data to decision. */
export interface RetrainingLineage {
  model: string;
  alias: string;
  data: DataVersion | null;
  champion: ChampionInfo | null;
  trainingRunId: string | null;
  candidate: ModelRef | null;
  drift: { drifted: string[]; compared: number } | null;
  evaluation: { candidate: Metrics; champion: Metrics | null } | null;
  decision: { outcome: RetrainingDecision['outcome']; reasons: string[]; decisionKey: string } | null;
  promoted: boolean;
  steps: StepRecord[];
}

/** What a retraining run returns. */
export interface RetrainingResult {
  decision: RetrainingDecision;
  decisionKey: string;
  data: DataVersion;
  candidate: ModelRef;
  champion: ChampionInfo | null;
  /** Whether the alias now points at the candidate. */
  promoted: boolean;
  trainingRunId: string;
  drift: DriftReport | null;
}

/** Input of the drift activity. */
export interface DriftInput {
  model: string;
  reference: DatasetRef;
  current: DatasetRef;
  /** Compare only these features. @default every numeric column both share */
  features?: string[];
  thresholds: DriftThresholds;
  /** The champion version the reference belongs to. */
  championVersion: string;
  /** The pinned data version the current dataset comes from. */
  dataVersion: string;
}

/** Input of the training activity. */
export interface TrainInput {
  context: StepContext;
  training: TrainingConfig;
}

/** Input of the registration activity. */
export interface RegisterInput {
  model: string;
  training: TrainResult;
  data: DataVersion;
  /** Datasets to log as the run's training inputs (the drift reference of later runs). */
  datasets: DatasetRef[];
  /** Tags of the new model version. */
  tags: Record<string, string>;
}

/** Input of the evaluation activity. */
export interface EvaluateInput {
  model: ModelRef;
  role: 'candidate' | 'champion';
  context: StepContext;
}

/** Input of the decision-recording activity. */
export interface RecordDecisionInput {
  decisionKey: string;
  decision: RetrainingDecision;
  /** Workflow time of the decision, ISO 8601. */
  decidedAt: string;
  data: DataVersion;
  candidate: ModelRef;
  champion: ModelRef | null;
  /** Pointers of the evidence the decision weighed (evaluations, drift). */
  evidence: Array<{ uri: string; version?: string }>;
}

/** What recording a decision returns. */
export interface RecordedDecision {
  decisionKey: string;
  /** `decision:<model>/<candidate>`, versioned by the outcome. */
  pointer: { uri: string; version: string };
  /** The run key of the `decide` ComponentRun it is linked to. */
  runKey: string;
}

/** Input of the promotion activity. */
export interface PromoteInput {
  model: string;
  alias: string;
  version: string;
  /** The version the decision saw holding the alias; the promotion fails if it moved since. */
  expectedPrevious: string | null;
  decision: { uri: string; version: string };
}

/** What the promotion returns. */
export interface PromoteResult {
  model: string;
  alias: string;
  version: string;
  previous: string | null;
}

/**
 * The activities the retraining workflow calls, by type name. `createRetrainingActivities()`
 * returns an object implementing it; register it on the worker next to any user activities.
 */
export interface RetrainingActivities {
  retrainingPinData(input: { repo: string; path: string; rev?: string }): Promise<DataVersion>;
  retrainingFindChampion(input: { model: string; alias: string }): Promise<ChampionInfo | null>;
  retrainingCheckDrift(input: DriftInput): Promise<DriftReport>;
  retrainingTrain(input: TrainInput): Promise<TrainResult>;
  retrainingRegister(input: RegisterInput): Promise<ModelRef>;
  retrainingEvaluate(input: EvaluateInput): Promise<EvaluationResult>;
  retrainingRecordDecision(input: RecordDecisionInput): Promise<RecordedDecision>;
  retrainingPromote(input: PromoteInput): Promise<PromoteResult>;
}

/** The pointer of a decision: `decision:<model>/<candidate>`, versioned by the outcome. */
export function decisionPointer(decision: Pick<RetrainingDecision, 'model' | 'candidate' | 'outcome'>): {
  uri: string;
  version: string;
} {
  return { uri: `decision:${decision.model}/${decision.candidate}`, version: decision.outcome };
}

/** The pointer of an evaluation: `evaluation:<model>/<version>`, versioned by the data it ran on. */
export function evaluationPointer(model: ModelRef, dataVersion: string): { uri: string; version: string } {
  return { uri: `evaluation:${model.name}/${model.version}`, version: dataVersion };
}

/** The pointer of a drift report: `drift:<model>/<data version>`, versioned by the champion compared with. */
export function driftPointer(
  model: string,
  dataVersion: string,
  championVersion: string,
): {
  uri: string;
  version: string;
} {
  return { uri: `drift:${model}/${dataVersion}`, version: championVersion };
}

/** `models:/NAME/VERSION`. */
export function modelVersionUri(name: string, version: string): string {
  return `models:/${name}/${version}`;
}

/** `models:/NAME@ALIAS`. */
export function modelAliasUri(name: string, alias: string): string {
  return `models:/${name}@${alias}`;
}

export type { Approval };
