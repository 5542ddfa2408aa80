import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import type { IOPointer } from '@mltrace/core';
import type { LineageStore, RunSummary } from '@mltrace/store';
import { examples, type Register } from '../command.js';
import type { CommandContext } from '../context.js';
import { plural } from '../render/format.js';

/** A pointer as `mltrace import` reads it. */
function pointerLine(pointer: IOPointer): Record<string, string> {
  return {
    uri: pointer.uri,
    ...(pointer.version ? { version: pointer.version } : {}),
    ...(pointer.type && pointer.type !== 'unknown' ? { type: pointer.type } : {}),
  };
}

/** One run as an `mltrace import` line; `keys` names its dependencies by run key. */
export function runLine(run: RunSummary, keys: Map<number, string>): Record<string, unknown> {
  const workflow = Object.fromEntries(
    Object.entries(run.workflow ?? {}).filter(([, value]) => typeof value === 'string' && value !== ''),
  );
  const dependsOn = run.dependsOn.map((id) => keys.get(id)).filter((key): key is string => key !== undefined);
  return {
    component: run.component,
    runKey: run.runKey,
    source: run.source,
    status: run.status,
    startedAt: run.startedAt.toISOString(),
    endedAt: run.endedAt ? run.endedAt.toISOString() : null,
    inputs: run.inputs.map(pointerLine),
    outputs: run.outputs.map(pointerLine),
    ...(run.notes ? { notes: run.notes } : {}),
    ...(run.gitCommit ? { gitCommit: run.gitCommit } : {}),
    ...(run.attempt !== null ? { attempt: run.attempt } : {}),
    ...(run.error
      ? { error: { message: run.error.message, ...(run.error.type ? { type: run.error.type } : {}) } }
      : {}),
    ...(Object.keys(run.metadata ?? {}).length > 0 ? { metadata: run.metadata } : {}),
    ...(Object.keys(workflow).length > 0 ? { workflow } : {}),
    ...(dependsOn.length > 0 ? { dependsOn } : {}),
  };
}

/** Every run of the store, oldest first (so a run's dependencies come before it). */
async function allRuns(store: LineageStore): Promise<RunSummary[]> {
  const runs: RunSummary[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.recent({ limit: 1_000, ...(cursor ? { cursor } : {}) });
    runs.push(...page.runs);
    cursor = page.nextCursor;
  } while (cursor);
  return runs.reverse();
}

async function exportRuns(ctx: CommandContext, file: string | undefined): Promise<number> {
  const store = await ctx.store();
  const runs = await allRuns(store);
  const keys = new Map(runs.map((run) => [run.id, run.runKey]));
  const lines = runs.map((run) => `${JSON.stringify(runLine(run, keys))}\n`);
  if (file === undefined || file === '-') {
    for (const line of lines) ctx.io.stdout.write(line);
    return 0;
  }
  const path = resolve(ctx.io.cwd, file);
  await new Promise<void>((done, fail) => {
    const out = createWriteStream(path);
    out.once('error', fail);
    for (const line of lines) out.write(line);
    out.end(() => done());
  });
  ctx.err(`exported ${plural(runs.length, 'run')} to ${file}`);
  return 0;
}

/** `mltrace export`: every run as NDJSON that `mltrace import` reads, e.g. into PostgreSQL. */
export const registerExport: Register = (program, wrap) => {
  program
    .command('export [file]')
    .description(
      'write every run as NDJSON lines that `mltrace import` reads (to move a store, e.g. the embedded one to PostgreSQL); FILE or - (stdout, the default)',
    )
    .addHelpText(
      'after',
      examples(
        'mltrace export runs.ndjson',
        'mltrace --db postgres://mltrace@db:5432/lineage import runs.ndjson',
      ),
    )
    .action(wrap((ctx, file: string | undefined) => exportRuns(ctx, file)));
};
