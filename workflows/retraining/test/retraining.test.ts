import { fileURLToPath } from 'node:url';
import { eventually } from '@mltrace/test-helpers';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approvePromotion,
  retrainingHandle,
  retrainingQueries,
  scheduleRetraining,
  startRetraining,
} from '../src/client.js';
import { explainAlias, formatExplanation } from '../src/explain.js';
import type { RetrainingInput } from '../src/types.js';
import { recordHistory } from './test-record.js';
import { type Harness, startHarness, unique } from './test-support.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness('retraining');
});

afterAll(async () => {
  await h?.close();
});

async function run(input: RetrainingInput, record?: string) {
  const handle = await startRetraining({
    client: h.client,
    taskQueue: h.taskQueue,
    input,
    workflowId: unique(input.model),
  });
  const result = await handle.result();
  if (record) await recordHistory(record, handle);
  return { handle, result };
}

async function aliasVersion(model: string): Promise<string | null> {
  try {
    return (await h.mlflow.getModelVersionByAlias(model, 'champion')).version;
  } catch {
    return null;
  }
}

describe('the retraining workflow', () => {
  it('promotes a first model that reaches the floor, moves the alias and records the decision linked to its decide run', async () => {
    const model = unique('first');
    const { handle, result } = await run(
      h.input(model, 'v1', { f1: 0.7, auc: 0.8 }),
      'promote-with-decision-memo',
    );
    expect(result.decision.outcome).toBe('promote');
    expect(result.promoted).toBe(true);
    expect(result.decision.reasons[0]).toBe(
      `no champion holds models:/${model}@champion: version 1 would be the first`,
    );
    expect(await aliasVersion(model)).toBe('1');

    const [decision] = await h.store.promotions({ model });
    expect(decision).toMatchObject({
      model,
      candidate: '1',
      previousChampion: null,
      decision: 'promote',
      alias: 'champion',
    });
    expect(decision!.runId).not.toBeNull();
    const decideRun = await h.store.run(decision!.runId!);
    expect(decideRun.component).toBe('decide');
    expect(decideRun.outputs.map((p) => `${p.uri}@${p.version}`)).toEqual([`decision:${model}/1@promote`]);

    const status = await retrainingQueries.status(handle);
    expect(status.phase).toBe('done');
    expect(status.steps.map((s) => s.step)).toEqual([
      'pinning-data',
      'finding-champion',
      'training',
      'registering',
      'evaluating',
      'recording-decision',
      'promoting',
    ]);
    // The decision memo (patched in after the first histories): readable without a worker.
    const { memo } = await handle.describe();
    expect(memo?.mltraceDecision).toEqual({
      model,
      alias: 'champion',
      candidate: '1',
      previousChampion: null,
      outcome: 'promote',
      reasons: result.decision.reasons.slice(0, 3),
    });
    const lineage = await retrainingQueries.lineage(handle);
    expect(lineage.data?.commit).toBe(await h.dvc.git('rev-parse', 'v1'));
    expect(lineage.candidate?.uri).toBe(`models:/${model}/1`);
    expect(lineage.promoted).toBe(true);
  });

  it('rejects a candidate worse than the champion, naming the metric, and leaves the alias where it was', async () => {
    const model = unique('worse');
    await run(h.input(model, 'v1', { f1: 0.7, auc: 0.8 }));
    const { result } = await run(h.input(model, 'v2', { f1: 0.62, auc: 0.8 }), 'reject-worse-candidate');
    expect(result.decision.outcome).toBe('reject');
    expect(result.promoted).toBe(false);
    expect(result.decision.previousChampion).toBe('1');
    expect(result.decision.reasons).toEqual([
      'f1 0.6200 vs champion 0.7000 (-0.0800): short of the required improvement of +0.0100',
    ]);
    expect(await aliasVersion(model)).toBe('1');
    const decisions = await h.store.promotions({ model });
    expect(decisions.map((d) => `${d.candidate}:${d.decision}`)).toEqual(['2:reject', '1:promote']);
  });

  it('promotes a better candidate trained on data that did not drift, checking the drift per feature', async () => {
    const model = unique('better');
    await run(h.input(model, 'v1', { f1: 0.7, auc: 0.8 }));
    const { result } = await run(h.input(model, 'v2', { f1: 0.75, auc: 0.81 }));
    expect(result.decision.outcome).toBe('promote');
    expect(result.drift?.features.map((f) => f.feature)).toEqual(['x1', 'x2']);
    expect(result.drift?.drifted).toEqual([]);
    expect(result.decision.reasons).toContain('no feature of 2 drifted beyond psi 0.25, ks 0.2');
    expect(await aliasVersion(model)).toBe('2');
  });

  it('blocks the promotion of a better candidate when the new data drifted beyond the limits', async () => {
    const model = unique('drift');
    await run(h.input(model, 'v1', { f1: 0.7, auc: 0.8 }));
    const { result } = await run(h.input(model, 'v3', { f1: 0.8, auc: 0.85 }), 'reject-drift');
    expect(result.decision.outcome).toBe('reject');
    expect(result.drift?.drifted).toEqual(['x1']);
    expect(result.decision.reasons[0]).toMatch(
      /^x1 drifted beyond the limits: psi \d\.\d{4} > 0\.25, ks \d\.\d{4} > 0\.2$/,
    );
    expect(result.decision.reasons[1]).toBe('1 of 2 features drifted (x1); at most 0 allowed');
    expect(await aliasVersion(model)).toBe('1');
  });

  it('with approval required, waits; refuses invalid approvals in the validator; an approval promotes and records the approver', async () => {
    const model = unique('approval');
    const input = h.input(model, 'v1', { f1: 0.7, auc: 0.8 });
    input.policy = {
      ...input.policy,
      requireApproval: true,
      approvers: ['alice'],
      approvalTimeout: '1 hour',
    };
    const handle = await startRetraining({
      client: h.client,
      taskQueue: h.taskQueue,
      input,
      workflowId: unique(model),
    });
    const status = await eventuallyStatus(handle, 'awaiting-approval');
    expect(status.outcome).toBe('awaiting_approval');
    expect(status.approvalDeadline).toBeDefined();
    expect(await aliasVersion(model)).toBeNull();
    const [awaiting] = await h.store.promotions({ model });
    expect(awaiting?.decision).toBe('awaiting_approval');

    await expect(approvePromotion(handle, { approver: 'alice', approve: true, comment: '' })).rejects.toThrow(
      WorkflowUpdateFailedError,
    );
    const refused = await approvePromotion(handle, {
      approver: 'mallory',
      approve: true,
      comment: 'ship it',
    }).catch((error: unknown) => error as WorkflowUpdateFailedError);
    expect((refused as WorkflowUpdateFailedError).cause?.message).toContain(
      `mallory may not approve promotions of ${model}; the policy allows alice`,
    );

    const approved = await approvePromotion(handle, {
      approver: 'alice',
      approve: true,
      comment: 'F1 0.70 on January, drift not applicable',
      candidate: '1',
    });
    expect(approved.outcome).toBe('approved');
    const result = await handle.result();
    expect((await handle.describe()).memo?.mltraceDecision).toMatchObject({
      outcome: 'approved',
      approver: 'alice',
    });
    await recordHistory('approved-by-person', handle);
    expect(result.promoted).toBe(true);
    expect(await aliasVersion(model)).toBe('1');
    const [decision] = await h.store.promotions({ model });
    expect(decision).toMatchObject({
      decision: 'approved',
      approver: 'alice',
      approvalComment: 'F1 0.70 on January, drift not applicable',
    });
    expect(decision!.reasons[0]).toBe('approved by alice: F1 0.70 on January, drift not applicable');
    // The validator refused the invalid answers before anything reached the history.
    const history = await handle.fetchHistory();
    const accepted = history.events?.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes) ?? [];
    expect(accepted).toHaveLength(1);
  });

  it('ends an approval that never comes in a recorded timed_out decision, and the champion stays', async () => {
    const model = unique('timeout');
    await run(h.input(model, 'v1', { f1: 0.7, auc: 0.8 }));
    const input = h.input(model, 'v2', { f1: 0.8, auc: 0.85 });
    input.policy = { ...input.policy, requireApproval: true, approvalTimeout: '3s' };
    const { result } = await run(input, 'approval-timed-out');
    expect(result.decision.outcome).toBe('timed_out');
    expect(result.decision.reasons[0]).toBe('no approval within 3s: the champion stays');
    expect(result.promoted).toBe(false);
    expect(await aliasVersion(model)).toBe('1');
    const [decision] = await h.store.promotions({ model });
    expect(decision?.decision).toBe('timed_out');
  });

  it('explains the alias: the decision, its reasons, the evaluation, the training run and the DVC data version with its commit', async () => {
    const model = unique('why');
    const { result } = await run(h.input(model, 'v1', { f1: 0.7, auc: 0.8 }));
    await h.plugin.writer.flush();
    const explanation = await explainAlias({
      store: h.store,
      uri: `models:/${model}@champion`,
      mlflow: h.mlflow,
    });
    expect(explanation.version).toBe('1');
    expect(explanation.versionSource).toBe('mlflow');
    expect(explanation.decision?.decision).toBe('promote');
    expect(explanation.evaluation?.candidate).toEqual({ f1: 0.7, auc: 0.8 });
    expect(explanation.training?.mlflowRunId).toBe(result.trainingRunId);
    expect(explanation.data).toEqual([
      expect.objectContaining({ version: result.data.version, commit: result.data.commit }),
    ]);
    expect(explanation.missing).toEqual([]);
    const text = formatExplanation(explanation);
    expect(text).toContain(`models:/${model}@champion is version 1 (per MLflow)`);
    expect(text).toContain(`git commit   ${result.data.commit}`);
  });
});

async function eventuallyStatus(handle: Awaited<ReturnType<typeof startRetraining>>, phase: string) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const status = await retrainingQueries.status(handle).catch(() => undefined);
    if (status?.phase === phase) return status;
    if (Date.now() > deadline) throw new Error(`the run never reached ${phase} (last: ${status?.phase})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('a malformed input', () => {
  it('fails the run at once with a non-retryable failure naming the policy field', async () => {
    const input = h.input(unique('bad-policy'), 'v1', { f1: 0.7, auc: 0.8 });
    input.policy = { primaryMetric: { name: '' } };
    // Started without startRetraining, which would refuse the policy before starting.
    const handle = await h.client.workflow.start('retrainingWorkflow', {
      taskQueue: h.taskQueue,
      workflowId: unique('bad-policy'),
      args: [input],
    });
    const failure = await handle.result().catch((error: unknown) => error as WorkflowFailedError);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause?.message).toBe('primaryMetric.name must be a metric name');
  });
});

describe('training by command', () => {
  it('runs the command with the step context in its environment and registers the MLflow run it reports', async () => {
    const model = unique('command');
    const script = fileURLToPath(new URL('./test-fixtures/train-command.mjs', import.meta.url));
    const input = h.input(
      model,
      'v1',
      { f1: 0.72, auc: 0.81 },
      { training: { command: [process.execPath, script] } },
    );
    const { result } = await run(input);
    expect(result.decision.outcome).toBe('promote');
    const training = await h.mlflow.getRun(result.trainingRunId);
    expect(training.info.runName).toBe('train-command');
    expect(training.metrics.find((m) => m.key === 'rows')?.value).toBe(3000);
    // Registration logged the DVC data version as the run's training input.
    expect(training.datasetInputs.map((d) => [d.dataset.name, d.dataset.digest])).toContainEqual([
      'data',
      result.data.version,
    ]);
    expect(result.candidate.runId).toBe(result.trainingRunId);
  });
});

describe('scheduleRetraining', () => {
  it('creates a Temporal schedule that starts the retraining workflow, and a triggered run decides', async () => {
    const model = unique('scheduled');
    const scheduleId = unique('retrain-schedule');
    const schedule = await scheduleRetraining({
      client: h.client,
      scheduleId,
      taskQueue: h.taskQueue,
      input: h.input(model, 'v1', { f1: 0.7, auc: 0.8 }),
      every: '1 day',
      paused: true,
    });
    try {
      const description = await schedule.describe();
      expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: 'retrainingWorkflow' });
      expect(description.spec.intervals?.map((i) => i.every)).toEqual([86_400_000]);
      expect(description.state.paused).toBe(true);
      await schedule.trigger();
      const workflowId = await eventually(async () => {
        const { info } = await schedule.describe();
        return info.recentActions[0]?.action.workflow.workflowId;
      }, 'the triggered run');
      const result = await retrainingHandle(h.client, workflowId).result();
      expect(result.decision.outcome).toBe('promote');
      expect(await aliasVersion(model)).toBe('1');
    } finally {
      await schedule.delete();
    }
  });
});
