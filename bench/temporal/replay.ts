/**
 * The workflow side of each configuration's cost, without the noise of a live server: histories
 * a worker just made (main.ts hands every configuration the baseline's, so that only the
 * interceptors differ) are replayed (`Worker.runReplayHistories`) in this process, in rounds, the
 * configurations interleaved, and the process CPU per replayed activity is compared with the
 * baseline's. A replay runs what a worker runs for those activations (the SDK,
 * the workflow interceptors, the commands and payloads they make, the codec runner's visit of
 * every payload) and nothing else: no activity, no polling, no store. Live, the same work is
 * spread over the worker's main and workflow threads and mixed with the rest; here it is alone,
 * so its differences are steadier than the live rounds' (bench/results/temporal-breakdown.md).
 */
import type { LineageStore } from '@mltrace/store';
import { createMltracePlugin } from '@mltrace/temporal';
import type { WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, Worker, type WorkerPlugin } from '@temporalio/worker';
import { median } from '../lib/report.js';
import { openTelemetryPlugin } from './peers.js';

/** The workflow side of a worker configuration: no plugin, mltrace's, OpenTelemetry's. */
export type ReplayConfig = 'baseline' | 'mltrace' | 'otel';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

/** The histories of one configuration, by workload. */
export type RecordedHistories = Record<string, History[]>;

/** Per configuration and workload: CPU per replayed activity, and the median added over baseline's. */
export interface ReplayResult {
  config: ReplayConfig;
  workload: string;
  cpuUs: number;
  addedUs: number;
  rounds: number[];
}

/** Activities replayed per replay worker, at least. */
const MIN_REPLAYED = 10_000;

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

// Replays never run activities, so the plugin's store is never written.
const unused = (async () => Promise.reject(new Error('replays write no lineage'))) as unknown as LineageStore;

/** The workflow-side plugins of a configuration, as its worker had them. */
function pluginsOf(config: ReplayConfig): WorkerPlugin[] {
  if (config === 'mltrace') return [createMltracePlugin({ store: unused, spoolDir: false })];
  if (config === 'otel') return [openTelemetryPlugin().plugin];
  return [];
}

/**
 * Replays each configuration's histories `rounds` times after one warm-up round (the order of
 * the configurations rotating), and returns the CPU per replayed activity.
 */
export async function measureReplays(
  workflowsPath: string,
  recorded: Partial<Record<ReplayConfig, RecordedHistories>>,
  options: { rounds: number; activitiesPerWorkflow: number },
): Promise<ReplayResult[]> {
  const configs = (['baseline', 'mltrace', 'otel'] as const).filter((c) => recorded[c]);
  const bundles = new Map<ReplayConfig, { code: string }>();
  for (const config of configs) {
    const plugins = pluginsOf(config);
    bundles.set(
      config,
      await bundleWorkflowCode({ workflowsPath, logger: silent, ...(plugins.length ? { plugins } : {}) }),
    );
  }

  async function replay(config: ReplayConfig, histories: History[]): Promise<number> {
    const plugins = pluginsOf(config);
    // Each replay starts a replay worker (a fixed cost of ~100 ms): the histories are replayed
    // enough times in one to make that small next to the activities.
    const repeat = Math.max(1, Math.ceil(MIN_REPLAYED / (histories.length * options.activitiesPerWorkflow)));
    const all = Array.from({ length: repeat }, () => histories).flat();
    const start = process.cpuUsage();
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: bundles.get(config)!, ...(plugins.length ? { plugins } : {}) },
      all.map((history, i) => ({ workflowId: `replayed-${i}`, history })),
    )) {
      if (result.error) throw result.error;
    }
    const cpu = process.cpuUsage(start);
    return (cpu.user + cpu.system) / (all.length * options.activitiesPerWorkflow);
  }

  const results: ReplayResult[] = [];
  const workloads = Object.keys(recorded[configs[0]!] ?? {});
  for (const workload of workloads) {
    const per = new Map<ReplayConfig, number[]>(configs.map((c) => [c, []]));
    for (let r = -1; r < options.rounds; r++) {
      const order = configs.map((_, i) => configs[(i + Math.max(r, 0)) % configs.length]!);
      for (const config of order) {
        const us = await replay(config, recorded[config]![workload]!);
        if (r >= 0) per.get(config)!.push(us);
      }
    }
    const base = per.get('baseline');
    for (const config of configs) {
      const values = per.get(config)!;
      results.push({
        config,
        workload,
        cpuUs: median(values),
        addedUs: base ? median(values.map((v, i) => v - base[i]!)) : Number.NaN,
        rounds: values,
      });
    }
  }
  return results;
}
