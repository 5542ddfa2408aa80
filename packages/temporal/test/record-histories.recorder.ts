/**
 * Records the event histories that replay.test.ts replays. Not a test: vitest includes
 * `*.recorder.ts` files only when MLTRACE_RECORD_HISTORIES=1. Run it once after changing the
 * test workflows (`MLTRACE_RECORD_HISTORIES=1 npx vitest run packages/temporal/test/record-histories.recorder.ts`),
 * and commit the
 * files under test/test-histories/ (named `<case>.<plugin config>.json`, config being `sa`
 * (search attributes on, recorded before the UI patch), `ui` (search attributes on, with the
 * activity summaries and `MltraceInputs`), `batched` (search attributes on, upserts batched: the
 * v3 patch), `ordered` (search attributes on, upserts ordered by the history: the v4 patch),
 * `default` or `none` (no plugin); each is the JSON history of
 * `temporal workflow show -o json` with the `workflowId` added; then `npx biome check --write` formats them).
 * `MLTRACE_RECORD_CONFIGS=batched` records only the configurations named (committed histories of the
 * others are what proves older histories still replay: do not record them again).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openPgliteStore } from '@mltrace/store/pglite';
import { temporalAddress, toolPath } from '@mltrace/test-helpers';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { createMltracePlugin, type MltracePlugin } from '../src/plugin.js';
import * as activities from './test-activities.js';
import { bundle, connectTemporal, unique } from './test-support.js';

const run = promisify(execFile);
const dir = fileURLToPath(new URL('./test-histories/', import.meta.url));

describe('recording the replay histories', () => {
  it('runs each test workflow and saves its histories', { timeout: 300_000 }, async () => {
    await mkdir(dir, { recursive: true });
    const store = await openPgliteStore({ dataDir: 'memory://' });
    const temporal = await connectTemporal();
    const raw = join(await mkdtemp(join(tmpdir(), 'mltrace-history-')), 'raw.csv');
    await writeFile(raw, 'a,b\n1,2\n3,4\n');
    const only = process.env.MLTRACE_RECORD_CONFIGS?.split(',').map((c) => c.trim());
    const configs: Array<[string, MltracePlugin | undefined]> = (
      [
        ['sa', createMltracePlugin({ store, searchAttributes: true, spoolDir: false })],
        ['ui', createMltracePlugin({ store, searchAttributes: true, spoolDir: false })],
        ['batched', createMltracePlugin({ store, searchAttributes: true, spoolDir: false })],
        ['ordered', createMltracePlugin({ store, searchAttributes: true, spoolDir: false })],
        ['default', createMltracePlugin({ store, spoolDir: false })],
        ['none', undefined],
      ] as Array<[string, MltracePlugin | undefined]>
    ).filter(([name]) => !only || only.includes(name));
    const cases: Array<[string, string, unknown[], string[]]> = [
      ['pipeline', 'pipeline', [raw], []],
      ['retries', 'retries', [2], []],
      ['failing', 'failing', ['bad input'], []],
      ['cancelling', 'cancelling', [], []],
      ['local', 'withLocalActivity', [1], []],
      ['declared', 'declared', ['models:/taxi/7'], []],
      ['runtime-io', 'runtimeIo', ['daily'], []],
      ['parent', 'parent', [], ['-child']],
      ['fan-out', 'fanOut', [4], []],
      ['local-fan-out', 'localFanOut', [6, 40], []],
    ];
    for (const [config, plugin] of configs) {
      const taskQueue = unique(`record-${config}`);
      const worker = await Worker.create({
        connection: temporal.native,
        taskQueue,
        workflowBundle: await bundle(plugin),
        activities,
        ...(plugin ? { plugins: [plugin] } : {}),
      });
      await worker.runUntil(async () => {
        for (const [name, workflowType, args, children] of cases) {
          if (
            !['sa', 'ui', 'batched', 'ordered'].includes(config) &&
            !['pipeline', 'parent', 'local', 'cancelling'].includes(name)
          )
            continue;
          const workflowId = unique(name);
          const handle = await temporal.client.workflow.start(workflowType, { taskQueue, workflowId, args });
          await handle.result();
          for (const [suffix, id] of [
            ['', workflowId],
            ...children.map((c) => [c, `${workflowId}${c}`]),
          ] as const) {
            // Every run of the id (a continue-as-new chain has several), oldest first.
            const { stdout: list } = await run(toolPath('temporal'), [
              'workflow',
              'list',
              '--address',
              temporalAddress(),
              '--query',
              `WorkflowId = "${id}"`,
              '--output',
              'json',
            ]);
            const runs = (
              JSON.parse(list) as Array<{ execution: { runId: string }; startTime: string }>
            ).sort((a, b) => a.startTime.localeCompare(b.startTime));
            expect(runs.length).toBeGreaterThan(0);
            for (const [i, { execution }] of runs.entries()) {
              const { stdout } = await run(
                toolPath('temporal'),
                [
                  'workflow',
                  'show',
                  '--address',
                  temporalAddress(),
                  '-w',
                  id,
                  '-r',
                  execution.runId,
                  '--output',
                  'json',
                ],
                { maxBuffer: 64 * 1024 * 1024 },
              );
              const file = `${name}${suffix}${runs.length > 1 ? `-run${i + 1}` : ''}.${config}.json`;
              // The workflow id goes with the history: replay needs it (the parent derives its child's id from it).
              const history = JSON.parse(stdout) as Record<string, unknown>;
              await writeFile(
                join(dir, file),
                `${JSON.stringify({ workflowId: id, ...history }, null, 2)}\n`,
              );
            }
          }
        }
      });
    }
    await temporal.close();
    await store.close();
  });
});
