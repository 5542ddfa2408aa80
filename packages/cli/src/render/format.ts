import { experimentLabel, type IOPointer, normalizeUri, runExperiment } from '@mltrace/core';
import type { RunSummary } from '@mltrace/store';

/**
 * A duration in milliseconds for people: `850ms`, `4.25s`, `12.3s`, `1m 30s`, `2h 05m 00s`,
 * `3d 04h 00m`. (mltrace 0.17 printed minutes + 0.1 × seconds, so 90 s read as "4.0".)
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(Math.floor(ms / 10) / 100).toFixed(2)}s`;
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const total = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const seconds = total % 60;
  const minutes = Math.floor(total / 60) % 60;
  const hours = Math.floor(total / 3600) % 24;
  const days = Math.floor(total / 86_400);
  if (total < 3600) return `${minutes}m ${pad(seconds)}s`;
  if (total < 86_400) return `${hours}h ${pad(minutes)}m ${pad(seconds)}s`;
  return `${days}d ${pad(hours)}h ${pad(minutes)}m`;
}

/** A run's duration in milliseconds, or null while it has no end. */
export function durationMs(run: Pick<RunSummary, 'startedAt' | 'endedAt'>): number | null {
  return run.endedAt ? run.endedAt.getTime() - run.startedAt.getTime() : null;
}

/** A run's duration for people: its length, or what is known while it has no end. */
export function runDuration(run: Pick<RunSummary, 'startedAt' | 'endedAt' | 'status'>): string {
  const ms = durationMs(run);
  if (ms !== null) return formatDuration(ms);
  return run.status === 'running' || run.status === 'pending' ? 'still running' : 'no end time';
}

/** A time in UTC to the second, ISO 8601: `2024-05-01T10:00:03Z`. */
export function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A pointer URI as a person would type it back: a local file under `cwd` as a relative path,
 * another local file as an absolute path, anything else as is. Each form normalises back to the
 * same URI, so it can be pasted into `trace` or `flag` from the same directory.
 */
export function displayUri(uri: string, cwd: string): string {
  if (!uri.startsWith('file:///')) return uri;
  const path = uri.slice('file://'.length);
  const base = cwd.endsWith('/') ? cwd : `${cwd}/`;
  const candidates = path.startsWith(base)
    ? [path.slice(base.length), `./${path.slice(base.length)}`, path]
    : [path];
  for (const candidate of candidates) {
    try {
      if (candidate !== '' && normalizeUri(candidate, { cwd }) === uri) return candidate;
    } catch {
      // not a valid form; try the next one
    }
  }
  return uri;
}

/** `uri@version` for display. */
export function pointerSpec(pointer: Pick<IOPointer, 'uri' | 'version'>, cwd: string): string {
  const uri = displayUri(pointer.uri, cwd);
  return pointer.version ? `${uri}@${pointer.version}` : uri;
}

/** `uri@version  [type]` plus a flag mark. */
export function pointerLabel(pointer: IOPointer, cwd: string): string {
  return `${pointerSpec(pointer, cwd)}  [${pointer.type}]${pointer.flag ? '  ⚑ flagged' : ''}`;
}

/**
 * One line naming a run: `train  run 3  succeeded  2024-05-01T10:00:03Z  1m 30s`, plus
 * `  [experiment lr05 on 1a2b3c4d]` for a run of an experiment (`dvc exp run`).
 */
export function runLabel(run: RunSummary): string {
  const experiment = runExperiment(run.metadata);
  const mark = experiment ? `  [${experimentLabel(experiment)}]` : '';
  return `${run.component}  run ${run.id}  ${run.status}  ${formatTime(run.startedAt)}  ${runDuration(run)}${mark}`;
}

/** `1 run`, `2 runs`. */
export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}
