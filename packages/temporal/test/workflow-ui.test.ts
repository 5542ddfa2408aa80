/**
 * What the plugin puts where Temporal users look, on the run's real Temporal dev server: the
 * static summary, the current details (bounded for a 1,000-activity workflow), and the search
 * attributes, turned on when the namespace has them (`mltrace temporal setup` registers them).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { eventually, repoRoot, temporalAddress } from '@mltrace/test-helpers';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMltracePlugin, type MltracePlugin } from '../src/plugin.js';
import {
  lineageQuery,
  MAX_SUMMARIES_PER_TYPE,
  MLTRACE_INPUTS,
  MLTRACE_MODEL_VERSIONS,
  MLTRACE_OUTPUTS,
} from '../src/workflow/index.js';
import * as activities from './test-activities.js';
import { bundle, quietRuntime, unique } from './test-support.js';

const exec = promisify(execFile);

let store: LineageStore;
let connection: Connection;
let code: WorkflowBundle;
let raw: string;

/** The workflow's current details, as the Web UI and `temporal workflow metadata` read them. */
async function currentDetails(client: Client, workflowId: string): Promise<string> {
  const metadata = (await client.workflow.getHandle(workflowId).query('__temporal_workflow_metadata')) as {
    currentDetails?: string;
  };
  return metadata.currentDetails ?? '';
}

/** Runs `workflowType` on a worker with `plugin`, started through a client with the same plugin. */
async function runWith<T>(
  plugin: MltracePlugin,
  namespace: string,
  workflowType: string,
  args: unknown[],
  inspect: (client: Client, workflowId: string, result: T) => Promise<void>,
): Promise<void> {
  const taskQueue = unique('ui');
  const native = await NativeConnection.connect({ address: temporalAddress() });
  const worker = await Worker.create({
    connection: native,
    namespace,
    taskQueue,
    workflowBundle: code,
    activities,
    plugins: [plugin],
  });
  const client = new Client({ connection, namespace, plugins: [plugin] });
  await worker.runUntil(async () => {
    const workflowId = unique(workflowType);
    const result = (await client.workflow.execute(workflowType, { taskQueue, workflowId, args })) as T;
    await inspect(client, workflowId, result);
  });
  await native.close();
}

/** `mltrace temporal setup`, the built CLI, as a user runs it. */
async function mltraceSetup(namespace: string): Promise<string> {
  const { stdout } = await exec(
    process.execPath,
    [join(repoRoot(), 'packages/cli/dist/bin.js'), 'temporal', 'setup', '--namespace', namespace],
    { env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress() } },
  );
  return stdout;
}

beforeAll(async () => {
  quietRuntime();
  store = await openPgliteStore({ dataDir: 'memory://' });
  connection = await Connection.connect({ address: temporalAddress() });
  code = await bundle(createMltracePlugin({ store, spoolDir: false }));
  const dir = await mkdtemp(join(tmpdir(), 'mltrace-ui-'));
  raw = join(dir, 'raw.csv');
  await writeFile(raw, 'a,b\n1,2\n3,4\n');
}, 180_000);

afterAll(async () => {
  await connection?.close();
  await store?.close();
});

describe("the workflow's page in Temporal", { timeout: 240_000 }, () => {
  it('gets a static summary from the plugin client, and current details linking to the configured mltrace UI', async () => {
    const plugin = createMltracePlugin({ store, spoolDir: false, uiUrl: 'http://mltrace.test:8000/' });
    await runWith(plugin, 'default', 'pipeline', [raw], async (client, workflowId) => {
      const description = await client.workflow.getHandle(workflowId).describe();
      expect(await description.staticSummary()).toBe(
        `pipeline · lineage by mltrace · reads …/${basename(dirname(raw))}/raw.csv`,
      );
      const details = await currentDetails(client, workflowId);
      expect(details).toContain('**4 component runs**: 4 succeeded');
      for (const component of ['cleaning', 'featuregen', 'split', 'train'])
        expect(details).toContain(`\`${component}\``);
      expect(details).toContain(
        `[run card](http://mltrace.test:8000/go/run?key=${encodeURIComponent(`temporal:default/${workflowId}/`)}`,
      );
      expect(details).toContain('http://mltrace.test:8000/ui/trace?uri=');
    });
  });

  it("keeps the workflow's own details above the lineage, and out of what the workflow reads back", async () => {
    const plugin = createMltracePlugin({ store, spoolDir: false });
    await runWith<string>(
      plugin,
      'default',
      'ownDetails',
      ['**my notes**'],
      async (client, workflowId, seen) => {
        // Rendered for the metadata query only: the workflow's getCurrentDetails() is its own, so
        // its code runs the same whether a query came or not.
        expect(seen).toBe('**my notes**');
        const details = await currentDetails(client, workflowId);
        expect(details.startsWith('**my notes**\n\n---\n\n### Lineage (mltrace)')).toBe(true);
        expect(details).toContain('**1 component run**: 1 succeeded');
      },
    );
  });

  it('shows counts and the newest runs, not 1,000 lines, for a workflow of 1,000 activities', async () => {
    const plugin = createMltracePlugin({ store, spoolDir: false });
    await runWith<number>(plugin, 'default', 'many', [1000, 100], async (client, workflowId, sum) => {
      expect(sum).toBe((1000 * 1001) / 2); // step(i) returns i + 1
      const details = await currentDetails(client, workflowId);
      expect(details).toContain('**1000 component runs**: 1000 succeeded');
      expect(details).toContain('988 earlier runs not listed here');
      expect(details.match(/^- `step` /gm)).toHaveLength(12);
      expect(details.length).toBeLessThan(8 * 1024);
      // Unconfigured, the links go to `mltrace serve`'s default address.
      expect(details).toContain('(http://localhost:8000/ui/)');
    });
  });

  it('summarises the first calls of each activity type in the event history, not every call of a fan-out', async () => {
    const plugin = createMltracePlugin({ store, spoolDir: false });
    const n = MAX_SUMMARIES_PER_TYPE + 4;
    await runWith<string[]>(plugin, 'default', 'fanOut', [n], async (client, workflowId, result) => {
      expect(result).toHaveLength(n);
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      const summaries = (history.events ?? [])
        .filter((e) => e.activityTaskScheduledEventAttributes)
        .map((e) => {
          const summary = e.userMetadata?.summary;
          return summary ? defaultPayloadConverter.fromPayload<string>(summary) : undefined;
        });
      expect(summaries).toHaveLength(n);
      expect(summaries.slice(0, MAX_SUMMARIES_PER_TYPE)).toEqual(
        Array.from({ length: MAX_SUMMARIES_PER_TYPE }, (_, i) => `← s3://fan/out-${i}.parquet`),
      );
      expect(summaries.slice(MAX_SUMMARIES_PER_TYPE)).toEqual([undefined, undefined, undefined, undefined]);
      // The lineage query still has every call.
      const lineage = await client.workflow.getHandle(workflowId).query(lineageQuery);
      expect(lineage.runs.map((r) => r.inputs[0])).toEqual(result);
    });
  });
});

describe('the search attributes', { timeout: 240_000 }, () => {
  const namespace = `mltrace-setup-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    await connection.workflowService.registerNamespace({
      namespace,
      // A number is what protobufjs takes; the type says Long.
      workflowExecutionRetentionPeriod: { seconds: 86_400 as never },
    });
  });

  it('are off on a namespace without them, registered by `mltrace temporal setup` (idempotent), then on', async () => {
    const plugin = () => createMltracePlugin({ store, spoolDir: false });
    // Before: the worker finds them missing at start, and its workflows do not write them.
    await runWith(plugin(), namespace, 'pipeline', [raw], async (client, workflowId) => {
      const attributes = (await client.workflow.getHandle(workflowId).describe()).typedSearchAttributes;
      expect(attributes.get(MLTRACE_OUTPUTS)).toBeUndefined();
    });

    const first = await mltraceSetup(namespace);
    expect(first).toContain(`namespace ${namespace} at ${temporalAddress()}:`);
    expect(first).toContain(
      'registered MltraceOutputs (KeywordList), MltraceModelVersions (KeywordList), MltraceInputs (KeywordList), MltracePipelineRun (Keyword)',
    );
    const second = await mltraceSetup(namespace);
    expect(second).toContain('already registered: MltraceOutputs (KeywordList)');
    expect(second).toContain('Nothing to do.');

    // After: a new worker sees them, and its workflows write them.
    await runWith<{ modelPath: string }>(
      plugin(),
      namespace,
      'pipeline',
      [raw],
      async (client, workflowId, result) => {
        const attributes = (await client.workflow.getHandle(workflowId).describe()).typedSearchAttributes;
        expect(attributes.get(MLTRACE_OUTPUTS)).toContain(result.modelPath);
        expect(attributes.get(MLTRACE_INPUTS)).toContain(raw);
        // The visibility query the README documents finds it.
        const listed = await eventually(async () => {
          const ids: string[] = [];
          for await (const wf of client.workflow.list({ query: `MltraceOutputs = "${result.modelPath}"` })) {
            ids.push(wf.workflowId);
          }
          return ids.length > 0 ? ids : undefined;
        }, 'the workflow in the visibility store');
        expect(listed).toEqual([workflowId]);
        expect(attributes.get(MLTRACE_MODEL_VERSIONS)).toEqual([result.modelPath]);
      },
    );
  });
});
