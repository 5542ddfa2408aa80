import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMltracePlugin, type MltracePlugin } from '../src/plugin.js';
import { historyFromJson, quietRuntime, workflowsPath } from './test-support.js';

const dir = fileURLToPath(new URL('./test-histories/', import.meta.url));

interface Recorded {
  file: string;
  workflowId: string;
  history: unknown;
}

/** The committed histories recorded with one plugin configuration (see record-histories.recorder.ts). */
async function recorded(config: string): Promise<Recorded[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(`.${config}.json`)).sort();
  return Promise.all(
    files.map(async (file) => {
      const { workflowId, ...json } = JSON.parse(await readFile(`${dir}${file}`, 'utf8')) as {
        workflowId: string;
      };
      return { file, workflowId, history: historyFromJson(json) };
    }),
  );
}

/** Replays histories with a replay worker that bundles the workflows itself, with `plugins`. */
async function replay(
  histories: Recorded[],
  plugins: MltracePlugin[],
): Promise<Array<{ file: string; error?: unknown }>> {
  const out: Array<{ file: string; error?: unknown }> = [];
  for await (const result of Worker.runReplayHistories(
    { workflowsPath, plugins, bundlerOptions: { ignoreModules: [] } },
    histories.map(({ workflowId, history }) => ({ workflowId, history })),
  )) {
    const file = histories.find((h) => h.workflowId === result.workflowId)?.file ?? result.workflowId;
    out.push({ file, ...(result.error ? { error: result.error } : {}) });
  }
  return out;
}

// The replay worker gets the workflow interceptors from the plugin (configureReplayWorker); no
// server and no store are involved: activity interceptors never run on replay.
describe('committed event histories of the test workflows', () => {
  const unused = async () => Promise.reject(new Error('replay never writes lineage'));
  const withSearchAttributes = createMltracePlugin({
    store: unused,
    searchAttributes: true,
    spoolDir: false,
  });
  const byDefault = createMltracePlugin({ store: unused, spoolDir: false });

  beforeAll(() => quietRuntime());

  it('replay with the plugin that recorded them (search attributes on)', { timeout: 180_000 }, async () => {
    const histories = await recorded('sa');
    expect(histories.length).toBeGreaterThanOrEqual(10);
    const results = await replay(histories, [withSearchAttributes]);
    expect(results.filter((r) => r.error)).toEqual([]);
    expect(results).toHaveLength(histories.length);
  });

  it('recorded with the activity summaries and MltraceInputs replay with the plugin, with or without search attributes', {
    timeout: 180_000,
  }, async () => {
    const histories = await recorded('ui');
    expect(histories.length).toBeGreaterThanOrEqual(10);
    for (const plugin of [withSearchAttributes, byDefault]) {
      const results = await replay(histories, [plugin]);
      expect(results.filter((r) => r.error)).toEqual([]);
      expect(results).toHaveLength(histories.length);
    }
  });

  it.each([
    ['batched search-attribute upserts (v3)', 'batched', 'fan-out.batched.json'],
    ['ordered search-attribute upserts (v4)', 'ordered', 'local-fan-out.ordered.json'],
  ])(
    'recorded with %s replay with the plugin, with or without search attributes',
    {
      timeout: 180_000,
    },
    async (_, config, mustHave) => {
      const histories = await recorded(config);
      expect(histories.map((h) => h.file)).toContain(mustHave);
      expect(histories.length).toBeGreaterThanOrEqual(10);
      for (const plugin of [withSearchAttributes, byDefault]) {
        const results = await replay(histories, [plugin]);
        expect(results.filter((r) => r.error)).toEqual([]);
        expect(results).toHaveLength(histories.length);
      }
    },
  );

  it('replay with the default plugin', { timeout: 180_000 }, async () => {
    const histories = await recorded('default');
    const results = await replay(histories, [byDefault]);
    expect(results.filter((r) => r.error)).toEqual([]);
    expect(results).toHaveLength(histories.length);
  });

  it('recorded without the plugin still replay once it is added, with or without search attributes', {
    timeout: 180_000,
  }, async () => {
    const histories = await recorded('none');
    expect(histories.length).toBeGreaterThanOrEqual(5);
    for (const plugin of [byDefault, withSearchAttributes]) {
      const results = await replay(histories, [plugin]);
      expect(results.filter((r) => r.error)).toEqual([]);
      expect(results).toHaveLength(histories.length);
    }
  });

  it('fail to replay when the search-attribute upserts are taken away (the check has teeth)', {
    timeout: 180_000,
  }, async () => {
    const histories = (await recorded('sa')).filter((h) => h.file.startsWith('pipeline.'));
    // Without the plugin's workflow interceptors, nothing upserts what the history recorded.
    const results = await replay(histories, []);
    expect(results).toHaveLength(1);
    expect(results[0]!.error).toBeDefined();
  });
});
