import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { openPostgresStore } from '@mltrace/store/postgres';
import { eventually, repoRoot, temporalAddress, testDatabaseUrl, toolPath } from '@mltrace/test-helpers';
import type { WorkflowHandle } from '@temporalio/client';
import { type Worker as TemporalWorker, Worker, type WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfill } from '../src/backfill.js';
import { createMltracePlugin, type MltracePlugin } from '../src/plugin.js';
import { LINEAGE_HEADER } from '../src/workflow/header.js';
import {
  lineageQuery,
  MLTRACE_INPUTS,
  MLTRACE_MODEL_VERSIONS,
  MLTRACE_OUTPUTS,
  MLTRACE_PIPELINE_RUN,
  ORDERED_SEARCH_ATTRIBUTES_PATCH,
  type WorkflowLineage,
} from '../src/workflow/index.js';
import * as activities from './test-activities.js';
import { bundle, connectTemporal, runByKey, runsOfWorkflow, unique } from './test-support.js';

const run = promisify(execFile);

/** A logger that keeps every message and field, to check that no secret reaches the logs. */
function collectingLogger(): Logger & { text(): string } {
  const lines: string[] = [];
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    text: () => lines.join('\n'),
  };
}

/** A worker with the plugin on its own task queue, writing to `store`. */
interface Harness {
  plugin: MltracePlugin;
  store: LineageStore;
  taskQueue: string;
  worker: TemporalWorker;
  running: Promise<void>;
  logger: ReturnType<typeof collectingLogger>;
}

async function rawFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mltrace-pipeline-'));
  await mkdir(dir, { recursive: true });
  const raw = join(dir, 'raw.csv');
  await writeFile(raw, 'a,b\n1,2\n\n3,4\n5,6\n7,8\n');
  return raw;
}

let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let workflowBundle: WorkflowBundle;
let postgres: Harness;
let pglite: Harness;
const headCommit = (await run('git', ['rev-parse', 'HEAD'], { cwd: repoRoot() })).stdout.trim();

async function startHarness(store: LineageStore, name: string): Promise<Harness> {
  const logger = collectingLogger();
  const plugin = createMltracePlugin({
    store,
    logger,
    searchAttributes: true,
    flushIntervalMs: 100,
    spoolDir: await mkdtemp(join(tmpdir(), 'mltrace-spool-')),
  });
  workflowBundle ??= await bundle(plugin);
  const taskQueue = unique(name);
  const worker = await Worker.create({
    connection: temporal.native,
    taskQueue,
    workflowBundle,
    activities,
    plugins: [plugin],
  });
  return { plugin, store, taskQueue, worker, running: worker.run(), logger };
}

beforeAll(async () => {
  const mltracePlugin = createMltracePlugin({ store: async () => Promise.reject(new Error('unused')) });
  temporal = await connectTemporal(mltracePlugin);
  postgres = await startHarness(await openPostgresStore({ url: await testDatabaseUrl() }), 'plugin-pg');
  pglite = await startHarness(await openPgliteStore({ dataDir: 'memory://' }), 'plugin-pglite');
});

afterAll(async () => {
  for (const harness of [postgres, pglite]) {
    if (!harness) continue;
    harness.worker.shutdown();
    await harness.running;
    await harness.plugin.close();
    await harness.store.close();
  }
  await temporal?.close();
});

const counts = (list: unknown[]) => list.length;

/** Runs a workflow to completion on the harness's task queue, then flushes the writer. */
async function execute<T>(
  harness: Harness,
  workflowType: string,
  args: unknown[],
): Promise<{ result: T; handle: WorkflowHandle; workflowId: string; runId: string }> {
  const workflowId = unique(workflowType);
  const handle = await temporal.client.workflow.start(workflowType, {
    taskQueue: harness.taskQueue,
    workflowId,
    args,
  });
  const result = (await handle.result()) as T;
  await harness.plugin.writer.flush();
  return { result, handle, workflowId, runId: handle.firstExecutionRunId };
}

describe.each([
  ['PostgreSQL', () => postgres],
  ['PGlite', () => pglite],
])('the plugin on %s', (_name, harnessOf) => {
  it('records a four-step pipeline of plain activities as four runs linked by their files, and traces the model back through all of them', async () => {
    const harness = harnessOf();
    const raw = await rawFile();
    const { result, workflowId, runId } = await execute<{ modelPath: string }>(harness, 'pipeline', [raw]);
    const runs = await runsOfWorkflow(harness.store, workflowId);
    expect(runs.map((r) => r.component)).toEqual(['cleaning', 'featuregen', 'split', 'train']);
    for (const [i, r] of runs.entries()) {
      expect(r.runKey).toBe(`temporal:default/${workflowId}/${runId}/${i + 1}/1`);
      expect(r).toMatchObject({ source: 'temporal', status: 'succeeded', attempt: 1, gitCommit: headCommit });
      expect(r.workflow).toEqual({
        namespace: 'default',
        workflowId,
        runId,
        workflowType: 'pipeline',
        taskQueue: harness.taskQueue,
        rootWorkflowId: workflowId,
      });
      expect(r.metadata.pipelineRun).toEqual({ workflowId, runId });
      expect(r.endedAt!.getTime()).toBeGreaterThanOrEqual(r.startedAt.getTime());
    }
    const uris = (list: { uri: string }[]) => list.map((p) => p.uri).sort();
    const dir = `file://${raw.slice(0, raw.lastIndexOf('/'))}`;
    expect(uris(runs[0]!.inputs)).toEqual([`${dir}/raw.csv`]);
    expect(uris(runs[0]!.outputs)).toEqual([`${dir}/clean.csv`]);
    expect(uris(runs[2]!.outputs)).toEqual([`${dir}/test.csv`, `${dir}/train.csv`]);
    expect(uris(runs[3]!.outputs)).toEqual([`file://${result.modelPath}`]);
    expect(runs[1]!.dependsOn).toEqual([runs[0]!.id]);
    expect(runs[2]!.dependsOn).toEqual([runs[1]!.id]);
    expect(runs[3]!.dependsOn).toEqual([runs[2]!.id]);

    const full = await harness.store.run(runs[0]!.id);
    expect(full.codeSnapshot).toContain('async function cleaning(rawPath)');

    const graph = await harness.store.trace({ uri: result.modelPath });
    expect(graph.runs.map((r) => r.component).sort()).toEqual(['cleaning', 'featuregen', 'split', 'train']);
    expect(graph.dependencies).toHaveLength(3);
  });
});

describe('the plugin', () => {
  it('answers the lineage query from the temporal CLI, and upserts the search attributes', async () => {
    const raw = await rawFile();
    const { result, handle, workflowId, runId } = await execute<{ modelPath: string }>(postgres, 'pipeline', [
      raw,
    ]);
    const { stdout } = await run(toolPath('temporal'), [
      'workflow',
      'query',
      '--address',
      temporalAddress(),
      '--namespace',
      'default',
      '--workflow-id',
      workflowId,
      '--type',
      'lineage',
      '--output',
      'json',
    ]);
    const parsed = JSON.parse(stdout) as { queryResult?: unknown[] };
    const lineage = (parsed.queryResult?.[0] ?? parsed) as WorkflowLineage;
    expect(lineage.workflow).toMatchObject({ workflowId, runId, workflowType: 'pipeline' });
    expect(lineage.pipelineRun).toEqual({ workflowId, runId });
    // (the CLI prints an empty list as null)
    expect(lineage.runs.map((r) => [r.activityType, r.status, r.dependsOn ?? []])).toEqual([
      ['cleaning', 'succeeded', []],
      ['featuregen', 'succeeded', ['1']],
      ['split', 'succeeded', ['2']],
      ['train', 'succeeded', ['3']],
    ]);
    expect(lineage.runs[0]!.runKeyPrefix).toBe(`temporal:default/${workflowId}/${runId}/1/`);
    expect(lineage.pointers.outputs).toContain(result.modelPath);
    expect((await handle.query(lineageQuery)).runs).toHaveLength(4);
    // The Web UI lists a workflow's queries from the metadata query: `lineage` is there, described.
    const metadata = (await handle.query('__temporal_workflow_metadata')) as {
      definition: { queryDefinitions: Array<{ name: string; description?: string }> };
    };
    expect(metadata.definition.queryDefinitions.find((q) => q.name === 'lineage')?.description).toMatch(
      /mltrace lineage/,
    );

    const attributes = (await handle.describe()).typedSearchAttributes;
    expect(attributes.get(MLTRACE_PIPELINE_RUN)).toBe(workflowId);
    expect(attributes.get(MLTRACE_OUTPUTS)).toContain(result.modelPath);
    expect(attributes.get(MLTRACE_MODEL_VERSIONS)).toEqual([result.modelPath]);
    const found = await eventually(async () => {
      const ids: string[] = [];
      for await (const w of temporal.client.workflow.list({
        query: `MltraceOutputs = "${result.modelPath}"`,
      })) {
        ids.push(w.workflowId);
      }
      return ids.length > 0 ? ids : undefined;
    }, 'the workflow to be found by its output');
    expect(found).toEqual([workflowId]);
  });

  it('upserts the search attributes once the calls in flight are done, not once per call', async () => {
    const { result, handle } = await execute<string[]>(postgres, 'fanOut', [8]);
    expect(result).toHaveLength(8);
    const upserts: string[][] = [];
    let ordered = false;
    for (const event of (await handle.fetchHistory()).events ?? []) {
      const fields = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
      // (patched() upserts TemporalChangeVersion on its own)
      const ours = Object.keys(fields ?? {}).filter((key) => key.startsWith('Mltrace'));
      if (ours.length > 0) upserts.push(ours.sort());
      const details = Object.values(event.markerRecordedEventAttributes?.details ?? {});
      const data = details.flatMap((d) => d.payloads ?? []).map((p) => Buffer.from(p.data ?? []).toString());
      if (data.some((d) => d.includes(ORDERED_SEARCH_ATTRIBUTES_PATCH))) ordered = true;
    }
    expect(ordered).toBe(true);
    // The pipeline run at the start, then the first finished call's outputs at once, the other
    // seven's together when none is in flight (or all eight together): never one per call.
    expect(upserts[0]).toEqual(['MltracePipelineRun']);
    expect(upserts.length - 1).toBeGreaterThanOrEqual(1);
    expect(upserts.length - 1).toBeLessThanOrEqual(2);
    const attributes = (await handle.describe()).typedSearchAttributes;
    expect([...(attributes.get(MLTRACE_OUTPUTS) ?? [])].sort()).toEqual([...result].sort());
    expect([...(attributes.get(MLTRACE_INPUTS) ?? [])].sort()).toEqual([...result].sort());
  });

  it('records one run per attempt of a retried activity, each failure with its reason', async () => {
    const { result, workflowId, runId } = await execute<{ attempt: number }>(postgres, 'retries', [2]);
    expect(result).toEqual({ attempt: 3 });
    const runs = await runsOfWorkflow(postgres.store, workflowId);
    expect(runs.map((r) => [r.runKey, r.attempt, r.status, r.error])).toEqual([
      [
        `temporal:default/${workflowId}/${runId}/1/1`,
        1,
        'failed',
        { message: 'attempt 1 failed on purpose', type: 'FlakyError' },
      ],
      [
        `temporal:default/${workflowId}/${runId}/1/2`,
        2,
        'failed',
        { message: 'attempt 2 failed on purpose', type: 'FlakyError' },
      ],
      [`temporal:default/${workflowId}/${runId}/1/3`, 3, 'succeeded', null],
    ]);
  });

  it('records a failed activity with its message and failure type', async () => {
    const { result, workflowId } = await execute<string>(postgres, 'failing', ['the input file is empty']);
    expect(result).toBe('caught');
    const runs = await runsOfWorkflow(postgres.store, workflowId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      component: 'broken',
      status: 'failed',
      error: { message: 'the input file is empty', type: 'BrokenStep' },
    });
  });

  it('records a cancelled activity with the cancellation reason', async () => {
    const { result, workflowId } = await execute<string>(postgres, 'cancelling', []);
    expect(result).toBe('cancelled');
    const runs = await runsOfWorkflow(postgres.store, workflowId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      component: 'waitForCancel',
      status: 'cancelled',
      error: { message: 'CANCELLED', type: 'CancelledFailure' },
      metadata: { cancelReason: 'CANCELLED' },
    });
  });

  it('records an attempt the server timed out (a missed heartbeat) as failed, and its retry', async () => {
    const { result, workflowId, runId } = await execute<string>(postgres, 'heartbeatTimeout', []);
    expect(result).toBe('recovered');
    // The timed-out attempt learns it at its next heartbeat: TIMED_OUT, or NOT_FOUND when the
    // retry has already finished the workflow. Either way it failed; nobody cancelled it.
    const runs = await eventually(async () => {
      await postgres.plugin.writer.flush();
      const found = await runsOfWorkflow(postgres.store, workflowId);
      return found.length === 2 && found.every((run) => run.status !== 'running') ? found : undefined;
    }, 'both attempts recorded');
    expect(runs.map((r) => [r.runKey, r.status, r.error?.type, r.metadata.cancelReason])).toEqual([
      [
        `temporal:default/${workflowId}/${runId}/1/1`,
        'failed',
        'TimeoutFailure',
        expect.stringMatching(/^(TIMED_OUT|NOT_FOUND)$/),
      ],
      [`temporal:default/${workflowId}/${runId}/1/2`, 'succeeded', undefined, undefined],
    ]);
    expect(runs[0]?.error?.message).toMatch(/timed this attempt out \((TIMED_OUT|NOT_FOUND)\)/);
  });

  it('records local activities', async () => {
    const { result, workflowId } = await execute<number>(postgres, 'withLocalActivity', [41]);
    expect(result).toBe(42);
    const runs = await runsOfWorkflow(postgres.store, workflowId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      component: 'step',
      status: 'succeeded',
      metadata: { isLocal: true, result: 42 },
    });
  });

  it('records an async-completed activity as pending, and backfill completes it from the history', async () => {
    activities.asyncTokens.length = 0;
    const workflowId = unique('asyncCompletion');
    const handle = await temporal.client.workflow.start('asyncCompletion', {
      taskQueue: postgres.taskQueue,
      workflowId,
      args: [],
    });
    const token = await eventually(
      () => activities.asyncTokens[0],
      'the activity to hand out its task token',
    );
    await postgres.plugin.writer.flush();
    const [pending] = await runsOfWorkflow(postgres.store, workflowId);
    expect(pending).toMatchObject({
      component: 'completeLater',
      status: 'pending',
      endedAt: null,
      error: null,
    });

    await temporal.client.activity.complete(token, 's3://bucket/async/result.parquet');
    expect(await handle.result()).toBe('s3://bucket/async/result.parquet');
    const counts = await backfill({ client: temporal.client, store: postgres.store, workflowId });
    expect(counts).toMatchObject({ workflows: 1, activities: 1, created: 0, updated: 1, unchanged: 0 });
    const done = await postgres.store.run(pending!.runKey);
    expect(done.status).toBe('succeeded');
    expect(done.component).toBe('completeLater');
    expect(done.endedAt).not.toBeNull();
    expect(done.outputs.map((p) => p.uri)).toEqual(['s3://bucket/async/result.parquet']);
  });

  it('backfills the same runs the worker recorded into an empty store, following children, continue-as-new and local activities', async () => {
    const parentRun = await execute<number>(postgres, 'parent', []);
    const localRun = await execute<number>(postgres, 'withLocalActivity', [5]);
    const empty = await openPgliteStore({ dataDir: 'memory://' });
    try {
      for (const { workflowId } of [parentRun, localRun]) {
        const counts = await backfill({ client: temporal.client, store: empty, workflowId, activities });
        const recorded = [
          ...(await runsOfWorkflow(postgres.store, workflowId)),
          ...(await runsOfWorkflow(postgres.store, `${workflowId}-child`)),
        ];
        expect(counts.created).toBe(recorded.length);
        for (const r of recorded) {
          const rebuilt = await empty.run(r.runKey);
          expect(rebuilt).toMatchObject({ component: r.component, status: r.status, attempt: r.attempt });
          expect(rebuilt.workflow).toEqual(r.workflow);
          expect(rebuilt.metadata).toMatchObject({ isLocal: r.metadata.isLocal, backfilled: true });
        }
      }
      expect(counts(await runsOfWorkflow(empty, `${parentRun.workflowId}-child`))).toBe(2);
    } finally {
      await empty.close();
    }
  });

  it('adds the I/O an activity declares at run time', async () => {
    const { workflowId } = await execute<number>(postgres, 'runtimeIo', ['daily']);
    const [r] = await runsOfWorkflow(postgres.store, workflowId);
    expect(r!.inputs.map((p) => p.uri)).toEqual(['s3://bucket/daily/input.parquet']);
    expect(r!.outputs.map((p) => [p.uri, p.version])).toEqual([
      ['s3://bucket/daily/output.parquet', 'etag-1'],
    ]);
  });

  it("applies component() names, extractors and checks, and a failing 'fail' check fails the attempt", async () => {
    const { result, workflowId } = await execute<string>(postgres, 'declared', ['models:/taxi/7']);
    expect(result).toBe('strict failed');
    const runs = await runsOfWorkflow(postgres.store, workflowId);
    expect(runs.map((r) => [r.component, r.status])).toEqual([
      ['evaluation', 'succeeded'],
      ['strict-evaluation', 'failed'],
    ]);
    const [evaluation, strict] = runs;
    expect(evaluation!.inputs.map((p) => [p.uri, p.version, p.type])).toEqual([
      ['models:/taxi/7', '7', 'model'],
    ]);
    expect(evaluation!.outputs.map((p) => p.uri)).toEqual(['models:/taxi/7/metrics.json']);
    expect(evaluation!.metadata.checks).toEqual([
      { name: 'thresholdInRange', phase: 'before', passed: true },
      { name: 'aucAboveThreshold', phase: 'after', passed: true },
    ]);
    expect(strict!.error).toMatchObject({ type: 'MltraceCheckFailed' });
    expect(strict!.metadata.checks).toEqual([{ name: 'aucAboveHalf', phase: 'after', passed: false }]);
    expect(strict!.attempt).toBe(1);
  });

  it('keeps the pipeline context through a child workflow and its continue-as-new', async () => {
    const { workflowId, runId } = await execute<number>(postgres, 'parent', []);
    const childId = `${workflowId}-child`;
    const [parentStep] = await runsOfWorkflow(postgres.store, workflowId);
    expect(parentStep!.workflow).toMatchObject({ workflowId, rootWorkflowId: workflowId });
    const childRuns = await runsOfWorkflow(postgres.store, childId);
    expect(childRuns).toHaveLength(2);
    expect(new Set(childRuns.map((r) => r.workflow.runId)).size).toBe(2); // two runs of the chain
    for (const r of childRuns) {
      expect(r.workflow).toMatchObject({
        workflowId: childId,
        workflowType: 'chain',
        parentWorkflowId: workflowId,
        rootWorkflowId: workflowId,
      });
      expect(r.metadata.pipelineRun).toEqual({ workflowId, runId });
    }
    const childLineage = await temporal.client.workflow.getHandle(childId).query(lineageQuery);
    expect(childLineage.pipelineRun).toEqual({ workflowId, runId });
    expect(childLineage.parent).toEqual({ workflowId, runId });
    expect(childLineage.continuedFromRunId).toBe(childRuns[0]!.workflow.runId);
    const parentLineage = await temporal.client.workflow.getHandle(workflowId).query(lineageQuery);
    expect(parentLineage.children).toEqual([
      {
        workflowId: childId,
        workflowType: 'chain',
        runId: childRuns[0]!.workflow.runId,
        status: 'succeeded',
      },
    ]);
  });

  it("lets a workflow started from inside an activity join that activity's pipeline run", async () => {
    const {
      result: followUpId,
      workflowId,
      runId,
    } = await execute<string>(postgres, 'followUp', [postgres.taskQueue]);
    await temporal.client.workflow.getHandle(followUpId).result();
    await postgres.plugin.writer.flush();
    const [r] = await runsOfWorkflow(postgres.store, followUpId);
    expect(r!.metadata.pipelineRun).toEqual({ workflowId, runId });
    expect(r!.workflow).toMatchObject({
      workflowId: followUpId,
      parentWorkflowId: workflowId,
      rootWorkflowId: workflowId,
    });
    const lineage = await temporal.client.workflow.getHandle(followUpId).query(lineageQuery);
    expect(lineage.pipelineRun).toEqual({ workflowId, runId });
    expect(lineage.parent).toEqual({ workflowId, runId });
  });

  it('returns activity results byte-identical to a worker without the plugin', async () => {
    const value = {
      model: 'models:/taxi/3',
      metrics: { auc: 0.91, rows: [1, 2, 3] },
      note: 'ünïcode ✓',
      empty: null,
    };
    const plainQueue = unique('plain');
    const plainWorker = await Worker.create({
      connection: temporal.native,
      taskQueue: plainQueue,
      workflowBundle: await bundle(),
      activities,
    });
    const plain = await plainWorker.runUntil(async () => {
      const handle = await temporal.client.workflow.start('echoValue', {
        taskQueue: plainQueue,
        workflowId: unique('echo-plain'),
        args: [value],
      });
      await handle.result();
      return handle;
    });
    const traced = (await execute<unknown>(postgres, 'echoValue', [value])).handle;
    const resultOf = async (handle: WorkflowHandle) => {
      const history = await handle.fetchHistory();
      const completed = history.events?.find((e) => e.activityTaskCompletedEventAttributes);
      const payload = completed!.activityTaskCompletedEventAttributes!.result!.payloads![0]!;
      return { data: Buffer.from(payload.data!).toString('hex'), metadata: payload.metadata };
    };
    expect(await resultOf(traced)).toEqual(await resultOf(plain));
    expect(await traced.result()).toEqual(await plain.result());
  });

  it('redacts secrets in arguments and results, scrubs credentials from pointers, and cuts huge payloads down', async () => {
    const blob = 'x'.repeat(300_000);
    const secretArgs = {
      user: 'ana',
      password: 'hunter2-password',
      token: 'tok-0123456789',
      apiKey: 'sk-live-abcdef',
      nested: { headers: { authorization: 'Bearer abcdefghijklmnopqrstuvwxyz' } },
      dbUrl: 'postgres://app:hunter2-db@db.internal:5432/lineage',
      blob,
    };
    const { workflowId, handle } = await execute<unknown>(postgres, 'echoValue', [secretArgs]);
    const [r] = await runsOfWorkflow(postgres.store, workflowId);
    const stored = JSON.stringify(await postgres.store.run(r!.id));
    for (const secret of ['hunter2', 'tok-0123456789', 'sk-live-abcdef', 'abcdefghijklmnopqrstuvwxyz']) {
      expect(stored).not.toContain(secret);
      expect(JSON.stringify(await handle.query(lineageQuery))).not.toContain(secret);
      expect(postgres.logger.text()).not.toContain(secret);
    }
    expect(stored.length).toBeLessThan(30_000);
    const args = r!.metadata.args as Array<Record<string, unknown>>;
    expect(args[0]).toMatchObject({
      user: 'ana',
      password: '[REDACTED]',
      token: '[REDACTED]',
      apiKey: '[REDACTED]',
    });
    expect(args[0]!.blob).toMatchObject({ length: 300_000 });
    // The store strips a pointer's credentials outright: the same pointer with and without them.
    expect(r!.inputs.map((p) => p.uri)).toContain('postgres://db.internal:5432/lineage');
  });

  it('sends the lineage header to activities of a child workflow, and none where it would only repeat the workflow', async () => {
    // The header is visible in the history (not codec-encoded): ids only, no values.
    const headerOf = async (handle: WorkflowHandle) => {
      const history = await handle.fetchHistory();
      const scheduled = history.events?.find(
        (e) => e.activityTaskScheduledEventAttributes,
      )?.activityTaskScheduledEventAttributes;
      expect(scheduled).toBeDefined();
      const header = scheduled?.header?.fields?.[LINEAGE_HEADER];
      return header
        ? (JSON.parse(Buffer.from(header.data!).toString()) as Record<string, unknown>)
        : undefined;
    };
    // A workflow that is its own pipeline run and root: its activities' own info says as much.
    const {
      handle: remote,
      workflowId: ownId,
      runId: ownRunId,
    } = await execute<unknown>(postgres, 'echoValue', ['x']);
    expect(await headerOf(remote)).toBeUndefined();
    await postgres.plugin.writer.flush();
    const [own] = await runsOfWorkflow(postgres.store, ownId);
    expect(own!.metadata.pipelineRun).toEqual({ workflowId: ownId, runId: ownRunId });
    expect(own!.workflow.rootWorkflowId).toBe(ownId);
    // A child: the header names the pipeline run, the root and the parent.
    const { workflowId, runId } = await execute<number>(postgres, 'parent', []);
    const child = await headerOf(temporal.client.workflow.getHandle(`${workflowId}-child`));
    expect(child).toEqual({
      v: 1,
      pipelineRun: { workflowId, runId },
      root: { workflowId, runId },
      parent: { workflowId, runId },
    });
  });

  it('never needed the spool, and counts every record it wrote', async () => {
    await postgres.plugin.writer.flush();
    const stats = postgres.plugin.stats();
    expect(stats).toMatchObject({ queued: 0, spooled: 0, dropped: 0, degraded: false });
    expect(stats.written).toBeGreaterThan(0);
    expect(await runByKey(postgres.store, 'temporal:default/nope/nope/1/1')).toBeUndefined();
  });
});
