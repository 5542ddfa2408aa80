import type { ComponentRun, IOPointer } from '@mltrace/core';
import type { LineageGraph, Review, RunSummary } from '@mltrace/store';
import { durationMs } from './format.js';

/**
 * The `--json` shapes. They are a public interface (documented in the README): add fields,
 * never rename or remove them. Dates are ISO 8601 strings.
 */
export interface PointerJson {
  id: number;
  uri: string;
  version: string;
  type: string;
  flag: boolean;
}

export interface RunJson {
  id: number;
  runKey: string;
  component: string;
  source: string;
  status: string;
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  attempt: number | null;
  gitCommit: string | null;
  codeHash: string | null;
  error: { message: string; type: string | null } | null;
  notes: string;
  stale: string[];
  workflow: Record<string, string>;
  metadata: Record<string, unknown>;
  inputs: PointerJson[];
  outputs: PointerJson[];
  dependsOn: number[];
}

export function pointerJson(pointer: IOPointer): PointerJson {
  return {
    id: pointer.id,
    uri: pointer.uri,
    version: pointer.version,
    type: pointer.type,
    flag: pointer.flag,
  };
}

export function runJson(run: RunSummary | ComponentRun): RunJson {
  return {
    id: run.id,
    runKey: run.runKey,
    component: run.component,
    source: run.source,
    status: run.status,
    startedAt: run.startedAt.toISOString(),
    endedAt: run.endedAt ? run.endedAt.toISOString() : null,
    durationMs: durationMs(run),
    attempt: run.attempt,
    gitCommit: run.gitCommit,
    codeHash: run.codeHash,
    error: run.error,
    notes: run.notes,
    stale: run.stale,
    workflow: Object.fromEntries(Object.entries(run.workflow).filter(([, v]) => typeof v === 'string')),
    metadata: run.metadata,
    inputs: run.inputs.map(pointerJson),
    outputs: run.outputs.map(pointerJson),
    dependsOn: run.dependsOn,
  };
}

export function graphJson(graph: LineageGraph, direction: 'upstream' | 'downstream') {
  return {
    direction,
    roots: graph.roots.map(pointerJson),
    runs: graph.runs.map((run) => ({ ...runJson(run), depth: run.depth })),
    pointers: graph.pointers.map(pointerJson),
    dependencies: graph.dependencies,
    truncated: graph.truncated,
  };
}

export function reviewJson(review: Review) {
  return {
    flagged: review.flagged.map(pointerJson),
    comparedUnflagged: review.comparedUnflagged,
    suspects: review.suspects.map((suspect) => ({
      run: runJson(suspect.run),
      score: suspect.score,
      flaggedCount: suspect.flaggedCount,
      coverage: suspect.coverage,
      unflaggedCount: suspect.unflaggedCount,
    })),
  };
}
