import {
  type ActivityOptions,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { DriftReport } from '../drift.js';
import {
  type Approval,
  ApprovalError,
  applyApproval,
  applyApprovalTimeout,
  decidePromotion,
  PolicyError,
  promotes,
  type ResolvedPolicy,
  type RetrainingDecision,
  resolvePolicy,
  validateApproval,
} from '../policy.js';
import {
  type ChampionInfo,
  type DatasetRef,
  type DataVersion,
  decisionPointer,
  driftPointer,
  type EvaluateInput,
  type EvaluationResult,
  evaluationPointer,
  type ModelRef,
  modelAliasUri,
  type PrepareResult,
  type RecordedDecision,
  type RetrainingActivities,
  type RetrainingInput,
  type RetrainingLineage,
  type RetrainingPhase,
  type RetrainingResult,
  type StepContext,
  type StepOptions,
  type StepRecord,
  type TrainResult,
} from '../types.js';
import { approvePromotionUpdate, decisionQuery, lineageQuery, statusQuery } from './definitions.js';

/** Failure types the workflow's activities never retry. */
export const NON_RETRYABLE_ERROR_TYPES = [
  'PolicyError',
  'InvalidInputError',
  'NotFoundError',
  'ConfigError',
  'AliasMovedError',
];

/** A user activity called by name: a prepare step or a training (a StepContext), or an evaluation (an EvaluateInput). */
/**
 * `patched()` id of the decision memo (added after the first histories were recorded): the memo
 * shows the decision in Temporal's UI without a worker, where queries need one.
 */
export const DECISION_MEMO_PATCH = 'retraining-decision-memo';

/** The memo summary of a decision: small (Temporal warns above 2 KiB). */
function decisionMemo(decision: RetrainingDecision): Record<string, unknown> {
  return {
    mltraceDecision: {
      model: decision.model,
      alias: decision.alias,
      candidate: decision.candidate,
      previousChampion: decision.previousChampion,
      outcome: decision.outcome,
      reasons: decision.reasons.slice(0, 3).map((r) => (r.length > 200 ? `${r.slice(0, 197)}...` : r)),
      ...(decision.approver ? { approver: decision.approver } : {}),
    },
  };
}

type UserActivity = (input: StepContext | EvaluateInput) => Promise<unknown>;

function activityOptions(
  step: StepOptions | undefined,
  defaults: Required<Omit<StepOptions, 'heartbeatTimeout'>> & { heartbeatTimeout?: string | number },
): ActivityOptions {
  const heartbeatTimeout = step?.heartbeatTimeout ?? defaults.heartbeatTimeout;
  return {
    startToCloseTimeout: step?.startToCloseTimeout ?? defaults.startToCloseTimeout,
    ...(heartbeatTimeout === undefined ? {} : { heartbeatTimeout }),
    retry: {
      maximumAttempts: step?.maximumAttempts ?? defaults.maximumAttempts,
      initialInterval: step?.initialRetryInterval ?? defaults.initialRetryInterval,
      backoffCoefficient: 2,
      nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
    },
  };
}

function pointerText(pointer: { uri: string; version?: string }): string {
  return pointer.version ? `${pointer.uri}@${pointer.version}` : pointer.uri;
}

function fileUri(path: string): string {
  return path.startsWith('file:') ? path : `file://${path}`;
}

/**
 * The retraining workflow: pins a DVC data version, finds the champion (the model version holding
 * the alias) and the data it was trained on, runs the user's prepare steps, checks the drift of the
 * new data against the champion's (effect sizes per feature), trains, registers the candidate in
 * MLflow, evaluates candidate and champion on the same data, decides under the policy (a pure
 * function, in workflow code), waits for a person when the policy says so (the
 * `approvePromotion` update, with a timeout), records the decision as lineage, and moves the alias
 * when the decision promotes.
 *
 * Queries: `status`, `decision`, `lineage`. Any change to the commands this function issues must be
 * guarded by `patched()`: the committed histories under `test/test-histories/` are replayed on every
 * test run.
 */
export async function retrainingWorkflow(input: RetrainingInput): Promise<RetrainingResult> {
  if (
    !input ||
    typeof input.model !== 'string' ||
    input.model === '' ||
    !input.data?.repo ||
    !input.data.path
  ) {
    throw ApplicationFailure.nonRetryable(
      'a retraining run needs { model, data: { repo, path, rev? }, policy }',
      'InvalidInputError',
    );
  }
  // Plain errors in workflow code fail the workflow task (retried forever), not the workflow:
  // bad input fails the run at once, as a non-retryable failure.
  let policy: ResolvedPolicy;
  try {
    policy = resolvePolicy(input.policy);
  } catch (error) {
    if (error instanceof PolicyError) throw ApplicationFailure.nonRetryable(error.message, 'PolicyError');
    throw error;
  }
  const info = workflowInfo();
  const model = input.model;
  const alias = input.alias ?? 'champion';
  const experiment = input.experiment ?? model;
  const params = input.params ?? {};
  const steps = input.steps ?? {};

  let phase: RetrainingPhase = 'starting';
  const records: StepRecord[] = [];
  let data: DataVersion | null = null;
  let champion: ChampionInfo | null = null;
  let training: TrainResult | null = null;
  let candidate: ModelRef | null = null;
  let drift: DriftReport | null = null;
  let evaluation: RetrainingLineage['evaluation'] = null;
  let decision: RetrainingDecision | null = null;
  let decisionKey = '';
  let approvalDeadline: string | undefined;
  let promoted = false;

  setHandler(statusQuery, () => ({
    phase,
    model,
    alias,
    steps: records.map((r) => ({ ...r })),
    ...(candidate ? { candidate: candidate.version } : {}),
    ...(decision ? { outcome: decision.outcome } : {}),
    ...(approvalDeadline ? { approvalDeadline } : {}),
  }));
  setHandler(decisionQuery, () => decision);
  setHandler(
    lineageQuery,
    (): RetrainingLineage => ({
      model,
      alias,
      data,
      champion,
      trainingRunId: training?.runId ?? null,
      candidate,
      drift: drift ? { drifted: drift.drifted, compared: drift.features.length } : null,
      evaluation,
      decision: decision ? { outcome: decision.outcome, reasons: decision.reasons, decisionKey } : null,
      promoted,
      steps: records.map((r) => ({ ...r })),
    }),
    {
      description:
        'The chain of this retraining run: data version, champion, training run, candidate, decision',
    },
  );
  setHandler(
    approvePromotionUpdate,
    (approval: Approval) => {
      decision = applyApproval(decision!, approval);
      return decision;
    },
    {
      validator: (approval: Approval) => {
        try {
          validateApproval(decision, approval);
        } catch (error) {
          if (error instanceof ApprovalError)
            throw ApplicationFailure.nonRetryable(error.message, 'ApprovalError');
          throw error;
        }
      },
      description:
        'Approve or reject the promotion awaiting approval: { approver, approve, comment, candidate? }',
    },
  );

  const base = { startToCloseTimeout: '10 minutes', maximumAttempts: 5, initialRetryInterval: '2s' };
  const acts = proxyActivities<RetrainingActivities>(activityOptions(steps, base));
  const trainOptions = activityOptions(
    { ...steps, ...steps.train },
    {
      startToCloseTimeout: '2 hours',
      heartbeatTimeout: '1 minute',
      maximumAttempts: 3,
      initialRetryInterval: '2s',
    },
  );
  const trainActs = proxyActivities<RetrainingActivities>(trainOptions);
  const userActs = proxyActivities<Record<string, UserActivity>>(activityOptions(steps, base));
  // A user training or evaluation activity may live on another worker's task queue (a Python
  // worker): only the scheduled activity's task queue changes, no command is added.
  const trainQueue = input.training?.taskQueue;
  const userTrain = proxyActivities<Record<string, UserActivity>>(
    trainQueue ? { ...trainOptions, taskQueue: trainQueue } : trainOptions,
  );
  const evalQueue = input.evaluation?.taskQueue;
  const userEval = evalQueue
    ? proxyActivities<Record<string, UserActivity>>({ ...activityOptions(steps, base), taskQueue: evalQueue })
    : userActs;

  async function step<T>(
    name: RetrainingPhase,
    activity: string,
    inputs: Array<{ uri: string; version?: string }>,
    call: () => Promise<T>,
    outputsOf: (result: T) => Array<{ uri: string; version?: string }>,
  ): Promise<T> {
    phase = name;
    const record: StepRecord = {
      step: name,
      activity,
      status: 'running',
      startedAt: new Date().toISOString(),
      inputs: inputs.map(pointerText),
      outputs: [],
    };
    records.push(record);
    try {
      const result = await call();
      record.status = 'succeeded';
      record.outputs = outputsOf(result).map(pointerText);
      return result;
    } catch (error) {
      record.status = 'failed';
      record.error = error instanceof Error ? error.message : String(error);
      throw error;
    } finally {
      record.endedAt = new Date().toISOString();
    }
  }

  // 1. Pin the data version, and find the champion.
  const pinned = await step(
    'pinning-data',
    'retrainingPinData',
    [{ uri: `${input.data.repo}/${input.data.path}`, version: input.data.rev ?? 'HEAD' }],
    () => acts.retrainingPinData(input.data),
    (d) => [
      { uri: d.uri, version: d.version },
      { uri: fileUri(d.localPath), version: d.version },
    ],
  );
  data = pinned;
  champion = await step(
    'finding-champion',
    'retrainingFindChampion',
    [{ uri: modelAliasUri(model, alias) }],
    () => acts.retrainingFindChampion({ model, alias }),
    (c) => (c ? [{ uri: c.uri }] : []),
  );

  // 2. The user's prepare steps.
  const outputs: Record<string, string> = {};
  const context = (): StepContext => ({ model, experiment, data: pinned, outputs: { ...outputs }, params });
  for (const prepare of input.prepare ?? []) {
    const result = (await step(
      'preparing',
      prepare.activity,
      [
        { uri: fileUri(pinned.localPath), version: pinned.version },
        ...Object.values(outputs).map((p) => ({ uri: fileUri(p) })),
      ],
      () => userActs[prepare.activity]!(context()),
      (r) => Object.values((r as PrepareResult | undefined)?.outputs ?? {}).map((p) => ({ uri: fileUri(p) })),
    )) as PrepareResult | undefined;
    Object.assign(outputs, result?.outputs ?? {});
  }

  // 3. Drift of the new data against the champion's training data.
  const driftConfig = input.drift === false ? undefined : (input.drift ?? {});
  const driftName = driftConfig?.dataset ?? Object.keys(outputs)[0] ?? 'data';
  const current: DatasetRef = {
    name: driftName,
    uri: driftName === 'data' ? pinned.localPath : (outputs[driftName] ?? ''),
    ...(driftName === 'data' ? { digest: pinned.version } : {}),
  };
  let driftSkipped: string | undefined;
  if (!driftConfig || policy.drift === false) {
    driftSkipped = 'drift checks are turned off';
  } else if (!current.uri) {
    throw ApplicationFailure.nonRetryable(
      `the drift dataset ${driftName} is not an output of the prepare steps (${Object.keys(outputs).join(', ') || 'none'})`,
      'InvalidInputError',
    );
  } else if (!champion) {
    driftSkipped = `no champion holds ${modelAliasUri(model, alias)}`;
  } else {
    const reference = champion.trainingData.find((d) => d.name === driftName);
    if (!reference) {
      driftSkipped = `the champion (version ${champion.version}) has no recorded training dataset named ${driftName}`;
    } else {
      const thresholds = { ...policy.drift };
      const championVersion = champion.version;
      drift = await step(
        'checking-drift',
        'retrainingCheckDrift',
        [
          { uri: fileUri(reference.uri), ...(reference.digest ? { version: reference.digest } : {}) },
          { uri: fileUri(current.uri) },
        ],
        () =>
          acts.retrainingCheckDrift({
            model,
            reference,
            current,
            ...(driftConfig.features ? { features: driftConfig.features } : {}),
            thresholds: {
              ...(thresholds.psi === undefined ? {} : { psi: thresholds.psi }),
              ...(thresholds.ks === undefined ? {} : { ks: thresholds.ks }),
              ...(thresholds.meanShift === undefined ? {} : { meanShift: thresholds.meanShift }),
              ...(thresholds.quantileShift === undefined ? {} : { quantileShift: thresholds.quantileShift }),
            },
            championVersion,
            dataVersion: pinned.version,
          }),
        () => [driftPointer(model, pinned.version, championVersion)],
      );
    }
  }

  // 4. Train, then register the candidate.
  const trainingConfig = input.training ?? {};
  training = await step(
    'training',
    trainingConfig.activity ?? 'retrainingTrain',
    Object.values(outputs).map((p) => ({ uri: fileUri(p) })),
    () =>
      trainingConfig.activity
        ? (userTrain[trainingConfig.activity]!(context()) as Promise<TrainResult>)
        : trainActs.retrainingTrain({ context: context(), training: trainingConfig }),
    (t) => [{ uri: `runs:/${t.runId}/${t.artifactPath ?? 'model'}` }],
  );
  const trained = training;
  Object.assign(outputs, trained.outputs ?? {});
  const datasets = driftConfig && driftName !== 'data' ? [{ name: driftName, uri: current.uri }] : [];
  candidate = await step(
    'registering',
    'retrainingRegister',
    [{ uri: `runs:/${trained.runId}/${trained.artifactPath ?? 'model'}` }],
    () =>
      acts.retrainingRegister({
        model,
        training: trained,
        data: pinned,
        datasets,
        tags: { 'mltrace.workflow_id': info.workflowId, 'mltrace.workflow_run_id': info.runId },
      }),
    (m) => [{ uri: m.uri }],
  );
  const registered = candidate;

  // 5. Evaluate the candidate and the champion on the same data.
  const evaluate = (target: ModelRef, role: 'candidate' | 'champion') =>
    input.evaluation?.activity
      ? (userEval[input.evaluation.activity]!({
          model: target,
          role,
          context: context(),
        }) as Promise<EvaluationResult>)
      : acts.retrainingEvaluate({ model: target, role, context: context() });
  const championRef = champion;
  const [candidateEval, championEval] = await step(
    'evaluating',
    input.evaluation?.activity ?? 'retrainingEvaluate',
    [registered, ...(championRef ? [championRef] : [])].map((m) => ({ uri: m.uri })),
    () =>
      Promise.all([
        evaluate(registered, 'candidate'),
        championRef ? evaluate(championRef, 'champion') : null,
      ]),
    () =>
      [registered, ...(championRef ? [championRef] : [])].map((m) => evaluationPointer(m, pinned.version)),
  );
  evaluation = { candidate: candidateEval.metrics, champion: championEval?.metrics ?? null };

  // 6. Decide, in workflow code: a pure function of the policy and the evidence.
  phase = 'deciding';
  decision = decidePromotion(input.policy, {
    model,
    alias,
    candidate: { version: registered.version, metrics: candidateEval.metrics },
    champion:
      championRef && championEval ? { version: championRef.version, metrics: championEval.metrics } : null,
    drift,
    ...(driftSkipped ? { driftSkipped } : {}),
  });
  decisionKey = `retraining:${info.namespace}/${info.workflowId}/${info.runId}/${model}/${registered.version}`;
  const evidence = [
    ...[registered, ...(championRef ? [championRef] : [])].map((m) => evaluationPointer(m, pinned.version)),
    ...(drift && championRef ? [driftPointer(model, pinned.version, championRef.version)] : []),
  ];
  const record = async (current: RetrainingDecision): Promise<RecordedDecision> =>
    step(
      'recording-decision',
      'retrainingRecordDecision',
      evidence,
      () =>
        acts.retrainingRecordDecision({
          decisionKey,
          decision: current,
          decidedAt: new Date().toISOString(),
          data: pinned,
          candidate: registered,
          champion: championRef,
          evidence,
        }),
      (r) => [r.pointer],
    );

  // 7. A person, when the policy asks for one.
  let recorded: RecordedDecision;
  if (decision.outcome === 'awaiting_approval') {
    await record(decision);
    if (patched(DECISION_MEMO_PATCH)) upsertMemo(decisionMemo(decision));
    phase = 'awaiting-approval';
    approvalDeadline = new Date(Date.now() + policy.approvalTimeoutMs).toISOString();
    const answered = await condition(
      () => decision?.outcome !== 'awaiting_approval',
      policy.approvalTimeoutMs,
    );
    if (!answered) decision = applyApprovalTimeout(decision);
    approvalDeadline = undefined;
    recorded = await record(decision);
  } else {
    recorded = await record(decision);
  }
  if (patched(DECISION_MEMO_PATCH)) upsertMemo(decisionMemo(decision));

  // 8. Promote: move the alias.
  const final: RetrainingDecision = decision;
  if (promotes(final.outcome)) {
    await step(
      'promoting',
      'retrainingPromote',
      [{ uri: registered.uri }, recorded.pointer],
      () =>
        acts.retrainingPromote({
          model,
          alias,
          version: registered.version,
          expectedPrevious: championRef?.version ?? null,
          decision: decisionPointer(final),
        }),
      (p) => [{ uri: modelAliasUri(p.model, p.alias), version: p.version }],
    );
    promoted = true;
  }
  phase = 'done';
  await condition(allHandlersFinished);
  return {
    decision: final,
    decisionKey,
    data: pinned,
    candidate: registered,
    champion: championRef,
    promoted,
    trainingRunId: trained.runId,
    drift,
  };
}
