/**
 * DVC experiments (`dvc exp run`) as lineage. DVC commits each experiment to a hidden ref
 * `refs/exps/<baseline[:2]>/<baseline[2:]>/<name>`, a commit whose parent is the baseline; it is
 * read like any commit (its lock entries that differ from the baseline's are its runs) and its
 * runs are marked with `metadata.experiment`. An experiment applied and committed (`dvc exp
 * apply` + `git commit`), made a branch (`dvc exp branch`) or merged is the same execution: the
 * runs are matched by lock entry (`metadata.dvc.entry`) and written once.
 */
import { readFile } from 'node:fs/promises';
import { posix, resolve } from 'node:path';
import type { ComponentRunInput } from '@mltrace/core';
import { parse as parseYaml } from 'yaml';
import { parseDvcConfig } from './config.js';
import { shortSha } from './errors.js';
import { parseDvcYaml, type StageDefinition } from './formats.js';
import { git, type ObjectReader } from './git.js';
import type { DvcSyncIssue } from './history.js';

/** The experiment a run belongs to: `metadata.experiment` of a DVC run. */
export interface DvcExperimentMark {
  /** The experiment's name (`dvc exp run -n NAME`, or the name DVC made up). */
  name: string;
  /** The full sha of the baseline commit the experiment ran on. */
  baseline: string;
  /** The git ref DVC keeps it under (`refs/exps/…/<name>`). */
  ref: string;
  /** The experiment's commit. */
  commit: string;
  /** Branch commits that hold the same lock entry (the experiment applied and committed), when seen. */
  committedIn?: string[];
}

/** One experiment ref, parsed and checked. */
export interface DvcExperimentRef {
  ref: string;
  name: string;
  baseline: string;
  commit: string;
}

/** What the sync remembers of an experiment run, by lock entry (`metadata.dvc.entry`). */
export interface ExperimentMemo {
  /** The run key the execution was recorded under. */
  runKey: string;
  /** The experiment commit and its time (ISO), the run's `gitCommit` and times. */
  commit: string;
  time: string;
  experiment: DvcExperimentMark;
}

/** The experiments part of the sync cursor. */
export interface ExperimentCursor {
  /** Experiment commits already read. */
  commits: string[];
  /** What each experiment run was recorded as, by lock entry id; kept after `dvc exp remove`. */
  entries: Record<string, ExperimentMemo>;
}

/** Namespaces under `refs/exps/` that DVC uses for its own bookkeeping, not experiments. */
const INTERNAL = new Set(['stash', 'apply', 'celery', 'exec', 'temp']);
const SHA = /^[0-9a-f]{40}$|^[0-9a-f]{64}$/;

/**
 * Lists the experiment refs, oldest commit first. A ref under `refs/exps/` that is not an
 * experiment as DVC writes it (another shape, not a commit, a parent other than its baseline) is
 * reported and skipped.
 */
export async function listExperimentRefs(
  root: string,
): Promise<{ refs: DvcExperimentRef[]; errors: DvcSyncIssue[] }> {
  const out = await git(root, [
    'for-each-ref',
    '--sort=committerdate',
    '--format=%(objectname)%00%(objecttype)%00%(parent)%00%(refname)',
    'refs/exps/',
  ]);
  const refs: DvcExperimentRef[] = [];
  const errors: DvcSyncIssue[] = [];
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [object = '', type = '', parents = '', ref = ''] = line.split('\0');
    const parts = ref.split('/');
    if (INTERNAL.has(parts[2] ?? '')) continue;
    const hint = `DVC writes experiments as refs/exps/<baseline[:2]>/<baseline[2:]>/<name>, a commit on its baseline; if this ref was made by hand, delete it with \`git update-ref -d ${ref}\``;
    const baseline = `${parts[2] ?? ''}${parts[3] ?? ''}`;
    const name = parts[4] ?? '';
    if (parts.length !== 5 || parts[2]?.length !== 2 || !SHA.test(baseline) || name === '') {
      errors.push({
        commit: object,
        message: `experiment ref ${ref}: not an experiment ref (expected refs/exps/<baseline[:2]>/<baseline[2:]>/<name>); skipped`,
        hint,
      });
      continue;
    }
    if (type !== 'commit') {
      errors.push({
        commit: object,
        message: `experiment ref ${ref}: points at a ${type || 'missing object'} (${shortSha(object)}), not a commit; skipped`,
        hint,
      });
      continue;
    }
    const parentList = parents.split(' ').filter(Boolean);
    if (parentList.length !== 1 || parentList[0] !== baseline) {
      errors.push({
        commit: object,
        message: `experiment ref ${ref}: its commit ${shortSha(object)} has ${parentList.length === 0 ? 'no parent' : `parent ${parentList.map(shortSha).join(', ')}`}, not the baseline ${shortSha(baseline)} its name gives; skipped`,
        hint,
      });
      continue;
    }
    refs.push({ ref, name, baseline, commit: object });
  }
  return { refs, errors };
}

const markOf = (run: ComponentRunInput) => run.metadata?.experiment as DvcExperimentMark | undefined;
const entryOf = (run: ComponentRunInput) => (run.metadata?.dvc as { entry?: string } | undefined)?.entry;

function withCommitted(mark: DvcExperimentMark, commits: readonly string[]): DvcExperimentMark {
  const all = [...new Set([...(mark.committedIn ?? []), ...commits])].filter((c) => c !== mark.commit);
  const { committedIn: _, ...rest } = mark;
  return all.length > 0 ? { ...rest, committedIn: all } : rest;
}

/**
 * Writes each execution once. `experimentRuns` (from experiment commits, marked) and `branchRuns`
 * (from the walk of branch history) that hold the same lock entry, in this sync or as remembered
 * in `memo` from an earlier one, become one run under the key it was first recorded with: the
 * branch run's place in the list (producers first) is kept. Updates `memo`. Returns the runs.
 */
export function mergeExperimentRuns(
  branchRuns: ComponentRunInput[],
  experimentRuns: ComponentRunInput[],
  memo: Record<string, ExperimentMemo>,
): ComponentRunInput[] {
  const experimentByEntry = new Map<string, ComponentRunInput>();
  for (const run of experimentRuns) {
    const entry = entryOf(run);
    const mark = markOf(run);
    if (!entry || !mark) continue;
    if (experimentByEntry.has(entry)) continue; // two experiments with one entry: one execution
    experimentByEntry.set(entry, run);
    const known = memo[entry];
    if (known) {
      // Recorded before (maybe under a branch commit's key): the same record again.
      const time = new Date(known.time);
      Object.assign(run, { runKey: known.runKey, gitCommit: known.commit, startedAt: time, endedAt: time });
      run.metadata = { ...run.metadata, experiment: known.experiment };
    } else {
      memo[entry] = {
        runKey: run.runKey!,
        commit: mark.commit,
        time: new Date(run.startedAt ?? 0).toISOString(),
        experiment: mark,
      };
    }
  }
  const placed = new Set<ComponentRunInput>();
  const out: ComponentRunInput[] = [];
  for (const run of branchRuns) {
    const entry = entryOf(run);
    const known = entry ? memo[entry] : undefined;
    if (!entry || !known) {
      out.push(run);
      continue;
    }
    const committed = run.gitCommit && run.gitCommit !== known.commit ? [run.gitCommit] : [];
    known.experiment = withCommitted(known.experiment, committed);
    const twin = experimentByEntry.get(entry);
    if (twin) {
      // Read in this sync too: the experiment's own record, in the branch run's place.
      twin.metadata = { ...twin.metadata, experiment: known.experiment };
      if (!placed.has(twin)) out.push(twin);
      placed.add(twin);
      continue;
    }
    // Recorded by an earlier sync: add the branch commit to its mark; its `dvc` metadata (read at
    // the experiment's commit, with its metrics) stays as it is.
    const time = new Date(known.time);
    out.push({
      ...run,
      runKey: known.runKey,
      gitCommit: known.commit,
      startedAt: time,
      endedAt: time,
      metadata: { experiment: known.experiment },
    });
  }
  for (const run of experimentRuns)
    if (!placed.has(run) && experimentByEntry.get(entryOf(run) ?? '') === run) out.push(run);
  // Same key twice (one execution seen from two experiments): the first.
  const seen = new Set<string>();
  return out.filter((run) => {
    if (!run.runKey || !seen.has(run.runKey)) {
      if (run.runKey) seen.add(run.runKey);
      return true;
    }
    return false;
  });
}

/** The values of a metrics file (JSON or YAML), or undefined when it cannot be read as a map. */
function parseMetrics(text: string, path: string): Record<string, unknown> | undefined {
  try {
    const value = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Marks each run of an experiment commit and adds the values of its stage's metrics files (read
 * from the experiment's commit when git tracks them, `dvc stage add -M`, else from the local
 * cache by hash) as `metadata.dvc.metrics`.
 */
export async function markExperimentRuns(
  runs: ComponentRunInput[],
  refs: readonly DvcExperimentRef[],
  root: string,
  reader: ObjectReader,
): Promise<void> {
  const byCommit = new Map(refs.map((ref) => [ref.commit, ref]));
  const yamlCache = new Map<string, Map<string, StageDefinition> | undefined>();
  let cacheDir: string | undefined;
  for (const run of runs) {
    const ref = run.gitCommit ? byCommit.get(run.gitCommit) : undefined;
    if (!ref) continue;
    const mark: DvcExperimentMark = {
      name: ref.name,
      baseline: ref.baseline,
      ref: ref.ref,
      commit: ref.commit,
    };
    run.metadata = { ...run.metadata, experiment: mark };
    const dvc = run.metadata.dvc as
      | { kind?: string; file?: string; stage?: string; outs?: Array<{ path: string; hash?: string }> }
      | undefined;
    if (dvc?.kind !== 'stage' || !dvc.file || !dvc.stage) continue;
    const dir = posix.dirname(dvc.file) === '.' ? '' : posix.dirname(dvc.file);
    const yamlFile = `${dir ? `${dir}/` : ''}dvc.yaml`;
    const key = `${ref.commit}:${yamlFile}`;
    if (!yamlCache.has(key)) {
      const object = await reader.read(key);
      let stages: Map<string, StageDefinition> | undefined;
      try {
        stages = object
          ? parseDvcYaml(object.content.toString('utf8'), { file: yamlFile, commit: ref.commit }).stages
          : undefined;
      } catch {
        stages = undefined; // reported by the history walk
      }
      yamlCache.set(key, stages);
    }
    const definition = yamlCache.get(key)?.get(dvc.stage);
    if (!definition?.metrics) continue;
    const metrics: Record<string, unknown> = {};
    for (const written of definition.metrics) {
      const path = posix.normalize(posix.join(dir, definition.wdir ?? '', written));
      let text = (await reader.read(`${ref.commit}:${path}`))?.content.toString('utf8');
      const hash = dvc.outs?.find((o) => o.path === path)?.hash;
      if (text === undefined && hash && /^[0-9a-f]{32}$/.test(hash)) {
        cacheDir ??= await localCacheDir(root);
        text = await readFile(
          resolve(cacheDir, 'files', 'md5', hash.slice(0, 2), hash.slice(2)),
          'utf8',
        ).catch(() => undefined);
      }
      const values = text === undefined ? undefined : parseMetrics(text, path);
      if (values) metrics[path] = values;
    }
    if (Object.keys(metrics).length > 0) run.metadata.dvc = { ...dvc, metrics };
  }
}

async function localCacheDir(root: string): Promise<string> {
  const dvcDir = resolve(root, '.dvc');
  let dir: string | undefined;
  for (const file of ['config', 'config.local']) {
    const text = await readFile(resolve(dvcDir, file), 'utf8').catch(() => undefined);
    const setting = text === undefined ? undefined : parseDvcConfig(text).get('cache')?.get('dir');
    if (setting) dir = setting;
  }
  return resolve(dvcDir, dir ?? 'cache');
}
