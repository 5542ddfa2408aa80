import { experimentLabel, runExperiment } from '@mltrace/core';
import type { RunSummary } from '@mltrace/store';
import { formatTime, pointerLabel, runDuration, runLabel } from './format.js';

/** Options of {@link runCard}. */
export interface RunCardOptions {
  cwd: string;
  /** The runs this run depends on, loaded, to name them; ids alone otherwise. */
  dependencies?: RunSummary[];
  /** The code snapshot to print in full (`--code`); absent = a one-line summary. */
  code?: string | null;
  /** Lines printed right under the title (review's coverage line). */
  extra?: string[];
}

const KEY_WIDTH = 12;

/** A field with a value on one or more lines, aligned under the first. */
function field(key: string, values: string[]): string[] {
  if (values.length === 0) return [];
  const pad = ' '.repeat(KEY_WIDTH + 2);
  return values.map((value, i) =>
    i === 0 ? `  ${key.padEnd(KEY_WIDTH)}${value}` : `  ${pad.slice(2)}${value}`,
  );
}

function workflowLines(workflow: RunSummary['workflow']): string[] {
  const lines: string[] = [];
  if (workflow.workflowId) {
    const details = [
      workflow.runId && `run ${workflow.runId}`,
      workflow.workflowType && `type ${workflow.workflowType}`,
    ].filter(Boolean);
    lines.push(`${workflow.workflowId}${details.length ? ` (${details.join(', ')})` : ''}`);
  } else if (workflow.workflowType) {
    lines.push(`type ${workflow.workflowType}`);
  }
  const where = [
    workflow.namespace && `namespace ${workflow.namespace}`,
    workflow.taskQueue && `task queue ${workflow.taskQueue}`,
  ].filter(Boolean);
  if (where.length) lines.push(where.join(', '));
  if (workflow.parentWorkflowId) lines.push(`parent workflow ${workflow.parentWorkflowId}`);
  if (workflow.rootWorkflowId && workflow.rootWorkflowId !== workflow.workflowId) {
    lines.push(`root workflow ${workflow.rootWorkflowId}`);
  }
  return lines;
}

function experimentLines(run: RunSummary): string[] {
  const experiment = runExperiment(run.metadata);
  if (!experiment) return [];
  // `lr05 on 1a2b3c4d, committed in …` under the `experiment` key, then where the tool keeps it.
  const label = experimentLabel(experiment).replace(/^experiment /, '');
  return [label, ...(experiment.ref ? [experiment.ref] : [])];
}

/**
 * A run's card, like mltrace's: component, status, times and a correct duration, attempt, git
 * commit, workflow context, inputs and outputs, dependencies, stale warnings, notes, error, and
 * the code snapshot (its hash, or the text with `--code`).
 */
export function runCard(run: RunSummary, options: RunCardOptions): string[] {
  const { cwd } = options;
  const deps = new Map((options.dependencies ?? []).map((dep) => [dep.id, dep]));
  const lines = [`${run.component}  run ${run.id}`, ...(options.extra ?? []).map((line) => `  ${line}`)];
  lines.push(
    ...field('status', [run.status]),
    ...field('run key', [run.runKey]),
    ...field('source', [run.source]),
    ...field('started', [formatTime(run.startedAt)]),
    ...field('ended', [run.endedAt ? formatTime(run.endedAt) : '-']),
    ...field('duration', [runDuration(run)]),
    ...field('attempt', run.attempt === null ? [] : [String(run.attempt)]),
    ...field('git commit', [run.gitCommit ?? '-']),
    ...field('experiment', experimentLines(run)),
    ...field('workflow', workflowLines(run.workflow)),
    ...field('inputs', run.inputs.length ? run.inputs.map((p) => pointerLabel(p, cwd)) : ['(none)']),
    ...field('outputs', run.outputs.length ? run.outputs.map((p) => pointerLabel(p, cwd)) : ['(none)']),
    ...field(
      'depends on',
      run.dependsOn.length
        ? run.dependsOn.map((id) => {
            const dep = deps.get(id);
            return dep ? runLabel(dep) : `run ${id}`;
          })
        : ['(nothing)'],
    ),
    ...field(
      'stale',
      run.stale.map((warning) => `⚠ ${warning}`),
    ),
    ...field(
      'error',
      run.error ? [`${run.error.type ? `${run.error.type}: ` : ''}${run.error.message}`] : [],
    ),
    ...field('notes', run.notes ? run.notes.split('\n') : []),
    ...field('metadata', Object.keys(run.metadata).length ? [JSON.stringify(run.metadata)] : []),
  );
  if (options.code !== undefined) {
    if (options.code === null) lines.push(...field('code', ['(no code snapshot)']));
    else
      lines.push(
        ...field('code', [`sha256 ${run.codeHash ?? '-'}`]),
        '',
        ...options.code
          .replace(/\s+$/, '')
          .split('\n')
          .map((l) => `    ${l}`),
      );
  } else if (run.codeHash) {
    lines.push(...field('code', [`sha256 ${run.codeHash.slice(0, 12)}… (show it with --code)`]));
  }
  return lines;
}
