import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { type ComponentRunInput, InvalidInputError, NotFoundError } from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';
import { examples, type Register } from '../command.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { parseRunLine } from '../ndjson.js';
import { positiveInt } from '../options.js';
import { plural } from '../render/format.js';

interface ImportOptions {
  fromMltrace?: string;
  batchSize: number;
  json?: boolean;
}

/** What an NDJSON import did. */
export interface ImportSummary {
  imported: number;
  created: number;
  updated: number;
  badLines: Array<{ line: number; error: string }>;
}

async function openInput(
  ctx: CommandContext,
  file: string,
): Promise<{ stream: Readable; close(): Promise<void> }> {
  if (file === '-') {
    const stdin = ctx.io.stdin;
    if (!stdin) throw new UsageError('`import -` reads standard input, but there is none');
    const stream = stdin instanceof Readable ? stdin : Readable.from(stdin);
    return { stream, close: async () => {} };
  }
  const path = resolve(ctx.io.cwd, file);
  try {
    const handle = await open(path, 'r');
    return {
      stream: handle.createReadStream({ encoding: 'utf8' }),
      close: () => handle.close().catch(() => {}),
    };
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    if (code === 'ENOENT') throw new NotFoundError(`no such file: ${file}`, { cause });
    throw new InvalidInputError(`cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
}

/** A store error about one run, without the run key prefix (the line number says which). */
function lineMessage(error: Error): string {
  return error.message.replace(/^run \S+: /, '');
}

/**
 * Imports NDJSON runs: each line is checked first; good lines are written in batches; a batch the
 * store refuses is retried line by line, so a bad line is pinpointed and nothing of it is written,
 * while every good line is.
 */
export async function importNdjson(
  store: LineageStore,
  input: Readable,
  options: { batchSize: number; onProgress?: (summary: ImportSummary) => void },
): Promise<ImportSummary> {
  const summary: ImportSummary = { imported: 0, created: 0, updated: 0, badLines: [] };
  let batch: Array<{ line: number; run: ComponentRunInput }> = [];
  const count = (results: Array<{ created: boolean }>) => {
    summary.imported += results.length;
    for (const result of results) {
      if (result.created) summary.created++;
      else summary.updated++;
    }
  };
  const flush = async () => {
    const lines = batch;
    batch = [];
    if (lines.length === 0) return;
    try {
      count((await store.logRuns(lines.map((l) => l.run))).runs);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      for (const { line, run } of lines) {
        try {
          count((await store.logRuns([run])).runs);
        } catch (lineError) {
          if (!(lineError instanceof InvalidInputError)) throw lineError;
          summary.badLines.push({ line, error: lineMessage(lineError) });
        }
      }
    }
  };
  const reader = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  for await (const text of reader) {
    lineNumber++;
    if (text.trim() === '') continue;
    const parsed = parseRunLine(text);
    if (!parsed.ok) summary.badLines.push({ line: lineNumber, error: parsed.error });
    else batch.push({ line: lineNumber, run: parsed.run });
    if (batch.length >= options.batchSize) {
      await flush();
      options.onProgress?.(summary);
    }
  }
  await flush();
  summary.badLines.sort((a, b) => a.line - b.line);
  return summary;
}

/** `mltrace import FILE | -` and `mltrace import --from-mltrace URL`. */
export const registerImport: Register = (program, wrap) => {
  program
    .command('import')
    .description('import runs from an NDJSON file (one run per line), or copy an mltrace 0.17 database')
    .argument('[file]', 'the NDJSON file, or - for standard input')
    .option(
      '--from-mltrace <url>',
      "copy an mltrace (Python, 0.17) PostgreSQL database's runs into this store",
    )
    .option('--batch-size <n>', 'runs written per transaction', positiveInt, 1000)
    .option('--json', 'print the summary as JSON (see the README)')
    .addHelpText(
      'after',
      `${examples(
        'mltrace import runs.ndjson',
        'some-exporter | mltrace import -',
        'mltrace import --from-mltrace postgresql://admin:admin@localhost:5432/sqlalchemy',
      )}
One NDJSON line:
  {"component": "train", "startedAt": "2024-05-01T10:00:00Z", "endedAt": "2024-05-01T10:20:00Z",
   "runKey": "train-2024-05-01", "inputs": ["features.parquet"], "outputs": [{"uri": "model.pkl", "version": "3"}]}
Fields: component, startedAt (required); endedAt, runKey, source, status, inputs, outputs, notes,
gitCommit, attempt, error {message, type}, metadata, dependsOn (run keys), workflow, codeSnapshot.
`,
    )
    .action(
      wrap(async (ctx, file: string | undefined, options: ImportOptions) => {
        if (options.fromMltrace !== undefined) {
          if (file !== undefined) throw new UsageError('give a FILE or --from-mltrace URL, not both');
          // Loaded here: it brings postgres.js, which the other commands do without.
          const { importFromMltrace } = await import('./mltrace-import.js');
          return importFromMltrace(ctx, options.fromMltrace, {
            batchSize: options.batchSize,
            json: options.json ?? false,
          });
        }
        if (file === undefined) {
          throw new UsageError(
            'give the NDJSON file to import (- for standard input), or --from-mltrace URL',
            'mltrace import --help',
          );
        }
        const store = await ctx.store();
        const input = await openInput(ctx, file);
        let summary: ImportSummary;
        try {
          summary = await importNdjson(store, input.stream, {
            batchSize: options.batchSize,
            onProgress: (s) => ctx.progress(`imported ${s.imported} runs, ${s.badLines.length} bad lines…`),
          });
        } finally {
          ctx.progress(undefined);
          await input.close();
        }
        const bad = summary.badLines.length;
        if (options.json) ctx.json(summary);
        else {
          for (const { line, error } of summary.badLines) ctx.err(`line ${line}: ${error}`);
          ctx.out(
            `imported ${plural(summary.imported, 'run')} (${summary.created} new, ${summary.updated} updated), ${plural(bad, 'bad line')}`,
          );
        }
        if (bad === 0) return 0;
        ctx.err(
          `mltrace: error: ${plural(bad, 'bad line')} in ${file === '-' ? 'standard input' : file} not imported (the good lines were)`,
        );
        return 2;
      }),
    );
};
