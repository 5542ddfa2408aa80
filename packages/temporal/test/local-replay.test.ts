/**
 * Replay safety where the committed histories cannot show it: a worker hands a workflow the
 * results of local activities that finish at different times in several activations, but a
 * replay hands it the results of one workflow task at once. Anything the interceptors decide per
 * activation (v3's batched upserts did) then differs on replay. Recorded live on the run's real
 * Temporal dev server (its default namespace has the mltrace search attributes), replayed at once.
 */
import type { LineageStore } from '@mltrace/store';
import { openPgliteStore } from '@mltrace/store/pglite';
import { defaultPayloadConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMltracePlugin } from '../src/plugin.js';
import { MLTRACE_OUTPUTS, ORDERED_SEARCH_ATTRIBUTES_PATCH } from '../src/workflow/index.js';
import * as activities from './test-activities.js';
import { bundle, connectTemporal, unique } from './test-support.js';

let store: LineageStore;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;

beforeAll(async () => {
  store = await openPgliteStore({ dataDir: 'memory://' });
  temporal = await connectTemporal();
});

afterAll(async () => {
  await temporal?.close();
  await store?.close();
});

describe('local activities with search attributes on', { timeout: 180_000 }, () => {
  it('finishing at different times, replay from their own histories and upsert what they produced when the workflow ends', async () => {
    const plugin = () => createMltracePlugin({ store, searchAttributes: true, spoolDir: false });
    const workflowBundle = await bundle(plugin());
    const taskQueue = unique('local-replay');
    const worker = await Worker.create({
      connection: temporal.native,
      taskQueue,
      workflowBundle,
      activities,
      plugins: [plugin()],
    });
    const ids = Array.from({ length: 3 }, () => unique('local-fan-out'));
    const histories = await worker.runUntil(async () => {
      const handles = await Promise.all(
        ids.map((workflowId) =>
          temporal.client.workflow.start('localFanOut', { taskQueue, workflowId, args: [8, 30] }),
        ),
      );
      await Promise.all(handles.map((h) => h.result()));
      const described = await handles[0]!.describe();
      // What the local activities returned is on the workflow once it has ended.
      expect([...(described.typedSearchAttributes.get(MLTRACE_OUTPUTS) ?? [])].sort()).toEqual(
        Array.from({ length: 8 }, (_, i) => `s3://fan/local-${i}.parquet`),
      );
      return Promise.all(handles.map((h) => h.fetchHistory()));
    });
    for (const history of histories) {
      const upserts = (history.events ?? []).flatMap((e) => {
        const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
        return fields ? [fields] : [];
      });
      // The run took the v4 patch (the server lists patches in TemporalChangeVersion)...
      const patches = upserts.flatMap((fields) =>
        fields.TemporalChangeVersion
          ? defaultPayloadConverter.fromPayload<string[]>(fields.TemporalChangeVersion)
          : [],
      );
      expect(patches).toContain(ORDERED_SEARCH_ATTRIBUTES_PATCH);
      // ...and upserted its outputs: the replay below checks those commands.
      expect(upserts.some((fields) => fields[MLTRACE_OUTPUTS.name])).toBe(true);
    }
    const results = [];
    for await (const result of Worker.runReplayHistories(
      { workflowBundle, plugins: [plugin()] },
      histories.map((history, i) => ({ workflowId: ids[i]!, history })),
    )) {
      results.push(result);
    }
    expect(results.filter((r) => r.error).map((r) => String(r.error))).toEqual([]);
    expect(results).toHaveLength(3);
  });
});
