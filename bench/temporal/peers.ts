/**
 * What the benchmark's configurations are made of, shared by the live workers (worker.ts), the
 * replays (replay.ts) and the activity side (activity-side.ts).
 */
import type { LineageStore } from '@mltrace/store';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { OpenTelemetryPlugin, type OpenTelemetryPluginOptions } from '@temporalio/interceptors-opentelemetry';

/**
 * For the breakdown: a store that accepts every batch and keeps only the run keys, so that the
 * plugin's own cost (interceptors, records, the writer's queue) shows without any store's.
 */
export function discardingStore(): LineageStore {
  const keys = new Set<string>();
  const store = {
    async logRuns(runs: Array<{ runKey?: string }>) {
      for (const run of runs) if (run.runKey) keys.add(run.runKey);
      return { runs: runs.map((run, i) => ({ id: i + 1, runKey: run.runKey ?? '', created: true })) };
    },
    async recent() {
      return { runs: [...keys].map((runKey) => ({ runKey })), nextCursor: undefined };
    },
    async close() {},
  };
  return store as unknown as LineageStore;
}

/** The peer: OpenTelemetry's plugin with a span processor exporting each span in-process. */
export function openTelemetryPlugin(): { plugin: OpenTelemetryPlugin; exporter: InMemorySpanExporter } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider();
  const spanProcessor = new SimpleSpanProcessor(exporter);
  provider.addSpanProcessor(spanProcessor);
  provider.register();
  const plugin = new OpenTelemetryPlugin({
    resource: provider.resource as unknown as OpenTelemetryPluginOptions['resource'],
    spanProcessor,
    tracer: provider.getTracer('mltrace-bench'),
  });
  return { plugin, exporter };
}
