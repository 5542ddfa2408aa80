/**
 * What a workflow's page in the Temporal Web UI says about its lineage: the markdown of the
 * workflow's current details (`setCurrentDetails`, shown on the page and by
 * `temporal workflow metadata`), the one-line activity summaries and the links to the mltrace UI.
 * Pure and deterministic (no Node APIs, no clock): shared by the workflow sandbox and the client.
 * Bounded: a workflow with thousands of activities shows counts, the newest rows and a link.
 */

/** A pointer as shown: a URI and, when known, its content version. */
export interface ShownPointer {
  uri: string;
  version?: string;
}

/** The mltrace UI base URL a workflow links to when nobody configured one (`mltrace serve`'s default). */
export const DEFAULT_MLTRACE_UI_URL = 'http://localhost:8000';

/** The newest runs listed in the details (older ones are counted, not listed). */
export const MAX_DETAIL_ROWS = 12;
/** Model versions listed in the details. */
export const MAX_DETAIL_MODELS = 8;
/** Temporal's limit on a summary (bytes); ours stay well under it. */
const MAX_SUMMARY_CHARS = 190;

// Read once: a global read in the workflow sandbox (a `vm` context) is slow (pointers.ts).
const { isArray } = Array;
const { entries } = Object;

/** Keys under which an argument names what the activity writes. */
const OUTPUT_KEY =
  /^(output|out|dest|destination|target)(Path|Uri|File|Dir)?$|^(output|out)_?(path|uri|file|dir)$/i;

/** Pairs each found pointer with its version from `scanPointers`. */
export function withVersions(
  uris: readonly string[],
  versions: Map<string, string> | undefined,
): ShownPointer[] {
  return uris.map((uri) => {
    const version = versions?.get(uri);
    return version ? { uri, version } : { uri };
  });
}

/** The pointer an argument list names as its output (`{ output: ... }`, `outputPath`...), if any. */
export function declaredOutput(args: unknown, found: readonly string[]): string | undefined {
  const first = isArray(args) ? args[0] : args;
  if (first === null || typeof first !== 'object' || isArray(first)) return undefined;
  for (const [key, value] of entries(first as Record<string, unknown>)) {
    if (typeof value === 'string' && OUTPUT_KEY.test(key) && found.includes(value.trim()))
      return value.trim();
  }
  return undefined;
}

/** A short form of a pointer for one line: the last two path segments, a short version. */
export function shortPointer(pointer: ShownPointer): string {
  let uri = pointer.uri;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\/?/i.exec(uri);
  const isFile = !scheme || scheme[1]?.toLowerCase() === 'file';
  if (isFile) {
    const parts = uri
      .replace(/^file:\/\//i, '')
      .split('/')
      .filter(Boolean);
    if (parts.length > 2) uri = `…/${parts.slice(-2).join('/')}`;
  } else if (uri.length > 60) {
    uri = `${uri.slice(0, 28)}…${uri.slice(-28)}`;
  }
  // `models:/taxi/3` at version 3 says it once.
  if (!pointer.version || pointer.uri.endsWith(`/${pointer.version}`)) return uri;
  const version = /^[0-9a-f]{16,}$/i.test(pointer.version) ? pointer.version.slice(0, 8) : pointer.version;
  return `${uri}@${version.length > 24 ? `${version.slice(0, 23)}…` : version}`;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The main one of a call's pointers: a URI with a scheme other than `file:` (`models:/`, `runs:/`,
 * `s3://`: what a step hands the next), then a versioned file (a DVC data version), then a path
 * with a directory, then anything; the first found wins among equals.
 */
export function mainPointer(pointers: readonly ShownPointer[]): ShownPointer | undefined {
  const rank = (p: ShownPointer) =>
    /^[a-z][a-z0-9+.-]*:\//i.test(p.uri) && !/^file:/i.test(p.uri)
      ? 0
      : p.version
        ? 1
        : p.uri.includes('/')
          ? 2
          : 3;
  let best: ShownPointer | undefined;
  for (const p of pointers) if (!best || rank(p) < rank(best)) best = p;
  return best;
}

/**
 * The one-line summary of an activity call, as the event history and the timeline show it next
 * to the activity type: its main input (`←`, and how many more it read) and, when the arguments
 * name it, its main output (`→`). Empty when the call names no pointer.
 */
export function activitySummary(inputs: readonly ShownPointer[], output: ShownPointer | undefined): string {
  const reads = inputs.filter((p) => p.uri !== output?.uri);
  const read = mainPointer(reads);
  const parts: string[] = [];
  if (read) parts.push(`← ${shortPointer(read)}${reads.length > 1 ? ` (+${reads.length - 1} more)` : ''}`);
  if (output) parts.push(`→ ${shortPointer(output)}`);
  return clip(parts.join(' '), MAX_SUMMARY_CHARS);
}

/** The static summary of a workflow started through the plugin's client. */
export function workflowSummary(workflowType: string, inputs: readonly ShownPointer[]): string {
  const main = mainPointer(inputs);
  const read = main ? shortPointer(main) : '';
  return clip(
    `${workflowType} · lineage by mltrace${read ? ` · reads ${read}${inputs.length > 1 ? ` (+${inputs.length - 1} more)` : ''}` : ''}`,
    MAX_SUMMARY_CHARS,
  );
}

/** Links into the mltrace UI at `base` (e.g. `http://localhost:8000`). */
export const mltraceLinks = {
  /** The run card of an activity call's latest attempt (`/go/run` resolves the run key prefix). */
  run(base: string, runKeyPrefix: string): string {
    return `${base}/go/run?key=${encodeURIComponent(runKeyPrefix)}`;
  },
  /** The trace (upstream lineage) of a pointer. */
  trace(base: string, pointer: ShownPointer): string {
    return `${base}/ui/trace?uri=${encodeURIComponent(pointer.uri)}${
      pointer.version ? `&version=${encodeURIComponent(pointer.version)}` : ''
    }`;
  },
};

/** One activity call in the details. */
export interface DetailRow {
  activityType: string;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  runKeyPrefix: string;
  inputs: ShownPointer[];
  outputs: ShownPointer[];
  error?: string;
}

/** A model version the workflow registered (`models:/NAME/N`) or promoted (`models:/NAME@ALIAS`). */
export interface DetailModel {
  pointer: ShownPointer;
  kind: 'registered' | 'promoted';
}

/** What {@link renderDetails} renders. */
export interface DetailsInput {
  /** mltrace UI base URL, without a trailing slash. */
  ui: string;
  counts: Record<DetailRow['status'], number>;
  /** The newest rows, oldest first (at most {@link MAX_DETAIL_ROWS}). */
  rows: readonly DetailRow[];
  /** Rows not listed (older). */
  omitted: number;
  models: readonly DetailModel[];
  /** The pipeline run (root workflow id) when it is not this workflow. */
  pipelineRun?: string;
}

// Words, not emoji: a browser without an emoji font shows emoji as boxes.
const STATUS_MARK: Record<DetailRow['status'], string> = {
  running: 'running',
  succeeded: 'succeeded',
  failed: '**failed**',
  cancelled: '**cancelled**',
};

/** Markdown-safe inline code (table cells: no pipes, no backticks, no newlines). */
function code(text: string): string {
  return `\`${text.replace(/[`|\r\n]/g, ' ')}\``;
}

/** The main pointer of a cell, linked to its trace, and how many more there are. */
function pointerCell(ui: string, pointers: readonly ShownPointer[]): string {
  const main = mainPointer(pointers);
  if (!main) return '';
  const more = pointers.length > 1 ? ` +${pointers.length - 1}` : '';
  return `[${code(shortPointer(main))}](${mltraceLinks.trace(ui, main)})${more}`;
}

/** Whether a pointer names a registered model version or a model alias. */
export function modelKind(uri: string): DetailModel['kind'] | undefined {
  if (/^models:\/[^/@]+\/\d+$/i.test(uri)) return 'registered';
  if (/^models:\/[^/@]+@[\w-]+$/i.test(uri)) return 'promoted';
  return undefined;
}

/** One row of the details: the call's type, status, main input and output, links to its run card and trace. */
export function renderDetailRow(ui: string, row: DetailRow): string {
  const main = mainPointer(row.outputs);
  const links = [`[run card](${mltraceLinks.run(ui, row.runKeyPrefix)})`];
  if (main) links.push(`[trace](${mltraceLinks.trace(ui, main)})`);
  const status = row.error ? `${STATUS_MARK[row.status]}: ${clip(row.error, 80)}` : STATUS_MARK[row.status];
  const io = [pointerCell(ui, row.inputs), pointerCell(ui, row.outputs)];
  const flow = io[0] || io[1] ? ` ${io[0] || '·'} → ${io[1] || '·'}` : '';
  return `- ${code(row.activityType)} ${status.replace(/[\r\n]/g, ' ')}${flow} · ${links.join(' · ')}`;
}

/**
 * The markdown of a workflow's current details: counts, the model versions it registered and
 * promoted, and the newest component runs with their status, main inputs and outputs (URI and
 * version) and links to their mltrace run card and trace. A few KiB at most, however many
 * activities the workflow ran.
 */
export function renderDetails(input: DetailsInput): string {
  const { ui, counts, rows } = input;
  const total = counts.running + counts.succeeded + counts.failed + counts.cancelled;
  const tally = (['succeeded', 'failed', 'cancelled', 'running'] as const)
    .filter((s) => counts[s] > 0)
    .map((s) => `${counts[s]} ${s}`)
    .join(', ');
  const lines = [
    '### Lineage (mltrace)',
    '',
    `**${total} component run${total === 1 ? '' : 's'}**${tally ? `: ${tally}` : ''}${
      input.pipelineRun ? ` · pipeline run ${code(input.pipelineRun)}` : ''
    } · [mltrace UI](${ui}/ui/)`,
  ];
  if (input.models.length > 0) {
    lines.push('', '**Models**');
    for (const model of input.models.slice(0, MAX_DETAIL_MODELS)) {
      lines.push(
        `- ${model.kind} ${code(model.pointer.version ? `${model.pointer.uri} → version ${model.pointer.version}` : model.pointer.uri)}: [trace](${mltraceLinks.trace(ui, model.pointer)})`,
      );
    }
    if (input.models.length > MAX_DETAIL_MODELS) {
      lines.push(`- and ${input.models.length - MAX_DETAIL_MODELS} more (the \`lineage\` query lists them)`);
    }
  }
  if (rows.length > 0) {
    // A list, not a table: the details panel is narrow, and list items wrap.
    lines.push('', '**Component runs** (newest last)');
    for (const row of rows) lines.push(renderDetailRow(ui, row));
  }

  if (input.omitted > 0) {
    lines.push(
      '',
      `${input.omitted} earlier run${input.omitted === 1 ? '' : 's'} not listed here: the \`lineage\` query and [mltrace](${ui}/ui/recent) have them all.`,
    );
  }
  lines.push('', '_Attempts, arguments, results and errors of each run are on its mltrace run card._');
  return lines.join('\n');
}
