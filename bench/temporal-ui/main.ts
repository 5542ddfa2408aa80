/**
 * What lineage in Temporal's UI costs in event-history bytes: the same workflow of N trivial
 * activities (bench/temporal/workflows.ts: each reads one URI and returns one) run with no plugin
 * (baseline), with the mltrace plugin with its UI patch turned off (what the plugin wrote before:
 * the lineage header), with the UI patch on (activity summaries; the current details add no
 * history), and with search attributes on too. History size from Temporal's own count
 * (`historySizeBytes`), per workflow, interleaved rounds, medians. See bench/temporal-ui/README.md.
 *
 *   npm run bench -- temporal-ui [--rounds 3] [--activities 200] [--parallel 10] [--no-write]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openPgliteStore } from '@mltrace/store/pglite';
import { createMltracePlugin, type MltracePluginOptions } from '@mltrace/temporal';
import { startTemporalDevServer } from '@mltrace/test-helpers';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerPlugin } from '@temporalio/worker';
import { median, type Row, writeReport } from '../lib/report.js';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    activities: { type: 'string', default: '200' },
    parallel: { type: 'string', default: '10' },
    'no-write': { type: 'boolean', default: false },
  },
});
const rounds = Number(flags.rounds);
const activities = Number(flags.activities);
const parallel = Number(flags.parallel);

type Config = 'baseline' | 'header_only' | 'ui' | 'ui_and_search_attributes';
const CONFIGS: Config[] = ['baseline', 'header_only', 'ui', 'ui_and_search_attributes'];
const UI_PATCH = 'mltrace-ui-v1';

Runtime.install({ logger: new DefaultLogger('ERROR') });
const server = await startTemporalDevServer();
const store = await openPgliteStore({ dataDir: 'memory://' });
try {
  const connection = await Connection.connect({ address: server.address });
  const native = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection });
  const workflowsPath = fileURLToPath(new URL('../temporal/workflows.js', import.meta.url));
  const base: MltracePluginOptions = { store, spoolDir: false, gitCommit: false, recordValues: false };
  const plugins: Record<Config, WorkerPlugin[]> = {
    baseline: [],
    header_only: [createMltracePlugin({ ...base, searchAttributes: false })],
    ui: [createMltracePlugin({ ...base, searchAttributes: false })],
    ui_and_search_attributes: [createMltracePlugin({ ...base, searchAttributes: 'auto' })],
  };
  const sizes: Record<Config, number[]> = {
    baseline: [],
    header_only: [],
    ui: [],
    ui_and_search_attributes: [],
  };
  const events: Record<Config, number[]> = {
    baseline: [],
    header_only: [],
    ui: [],
    ui_and_search_attributes: [],
  };
  const step = async ({ part }: { part: string }) => ({ output: part.replace('/raw/', '/clean/') });
  for (let round = 0; round < rounds; round++) {
    for (const config of [
      ...CONFIGS.slice(round % CONFIGS.length),
      ...CONFIGS.slice(0, round % CONFIGS.length),
    ]) {
      const taskQueue = `bench-ui-${config}-${round}-${Date.now().toString(36)}`;
      const worker = await Worker.create({
        connection: native,
        taskQueue,
        workflowsPath,
        activities: { step },
        plugins: plugins[config],
        // header_only: the plugin as it was before the UI patch (replays of older histories, too).
        ...(config === 'header_only'
          ? { patchActivationCallback: ({ patchId }) => patchId !== UI_PATCH }
          : {}),
      });
      await worker.runUntil(async () => {
        const workflowId = `${taskQueue}-wf`;
        await client.workflow.execute('benchWorkflow', {
          taskQueue,
          workflowId,
          args: [0, activities, parallel],
        });
        const { raw } = await client.workflow.getHandle(workflowId).describe();
        sizes[config].push(Number(raw.workflowExecutionInfo?.historySizeBytes ?? 0));
        events[config].push(Number(raw.workflowExecutionInfo?.historyLength ?? 0));
      });
    }
  }
  const baseline = median(sizes.baseline);
  const rows: Row[] = CONFIGS.map((config) => ({
    configuration: config,
    'history bytes (median)': median(sizes[config]),
    events: median(events[config]),
    'extra bytes per activity': Number(((median(sizes[config]) - baseline) / activities).toFixed(1)),
    'ratio vs baseline': Number((median(sizes[config]) / baseline).toFixed(3)),
  }));
  const figures: Record<string, number> = { activities_per_workflow: activities };
  for (const config of CONFIGS) {
    figures[`history_bytes_${config}`] = median(sizes[config]);
    figures[`bytes_per_activity_${config}`] = median(sizes[config]) / activities;
    if (config !== 'baseline') figures[`ratio_${config}_vs_baseline`] = median(sizes[config]) / baseline;
  }
  figures.ui_bytes_per_activity_vs_header_only = (median(sizes.ui) - median(sizes.header_only)) / activities;
  const report = {
    title: `Lineage in Temporal's UI: event-history size of a ${activities}-activity workflow`,
    notes: [
      `${rounds} interleaved rounds, one workflow of ${activities} activities (${parallel} in flight) per configuration and round; Temporal's historySizeBytes, medians.`,
      'baseline: no plugin. header_only: the mltrace plugin with its UI patch off (the lineage header on every activity, as before). ui: + activity summaries and the patch marker (the current details are not in the history). ui_and_search_attributes: + the search-attribute upserts and their markers.',
      'Extra bytes per activity are over the baseline. The summaries are at most 190 characters; the details stay a few KiB whatever the number of activities (not in the history: answered by the worker).',
    ],
    rows,
    figures,
  };
  if (flags['no-write']) console.log(JSON.stringify(report, null, 2));
  else writeReport('temporal-ui', report);
  await native.close();
  await connection.close();
} finally {
  await store.close();
  await server.stop();
}
