/**
 * `syncDvc`: DVC history into the lineage store, incrementally. The cursor (sync state
 * `dvc:<repoId>`) remembers the commits already synced; a sync reads only the commits not
 * reachable from them, logs their runs (idempotent by run key), then the GTO tags not seen yet.
 */
import { type ComponentRunInput, type Logger, runExperiment, silentLogger } from '@mltrace/core';
import type { LineageStore } from '@mltrace/store';
import { shortSha } from './errors.js';
import {
  type ExperimentCursor,
  listExperimentRefs,
  markExperimentRuns,
  mergeExperimentRuns,
} from './experiments.js';
import { checkRev, ObjectReader, openGitRepo } from './git.js';
import { type DvcSyncIssue, readDvcCommits, readDvcHistory } from './history.js';
import { readGtoPromotions } from './promotions.js';

/** Options of {@link syncDvc}. */
export interface SyncDvcOptions {
  /** The store to write to. */
  store: LineageStore;
  /** The repository (any directory of its working tree). @default process.cwd() */
  repo?: string;
  /**
   * What to sync: a revision (`HEAD`, a branch, a sha) or a range (`A..B`). A revision is synced
   * incrementally (commits reachable from an earlier synced revision are skipped) and becomes part
   * of the cursor; a range is synced as given and leaves the cursor alone.
   * @default 'HEAD'
   */
  rev?: string;
  /** Ignore the cursor and read the whole history again (still idempotent). @default false */
  full?: boolean;
  /** Also record GTO tags (model registry promotions). @default true */
  gto?: boolean;
  /** Also record DVC experiments (`dvc exp run`, the refs under `refs/exps/`). @default true */
  experiments?: boolean;
  /** The repository's name in run keys and the sync state. @default the working tree's absolute path */
  repoId?: string;
  /** Merge the working tree's `.dvc/config.local` when computing remote URLs. @default true */
  localConfig?: boolean;
  /** How many runs one store transaction writes. @default 500 */
  batchSize?: number;
  /** Called as the sync goes: for a progress bar. */
  onProgress?: (event: DvcSyncProgress) => void;
  /** @default silentLogger */
  logger?: Logger;
}

/**
 * A progress event: `phase` says what is being done, `done` of `total` units (commits for
 * `read`, runs for `write`, tags for `tags`).
 */
export interface DvcSyncProgress {
  phase: 'read' | 'write' | 'tags' | 'done';
  done: number;
  total: number;
}

/** One problem of a sync: a file that could not be read at a commit, a shallow boundary, ... */
export type DvcSyncError = DvcSyncIssue;

/** What a sync did. */
export interface DvcSyncSummary {
  /** The working tree root. */
  repo: string;
  /** The revision or range synced. */
  rev: string;
  /** The commit `rev` resolved to (undefined for a range). */
  head: string | undefined;
  /** Whether the cursor limited the walk to commits not synced before. */
  incremental: boolean;
  /** Commits that changed a `.dvc` file or a `dvc.lock`, read this time. */
  commitsRead: number;
  /** Runs logged this time (stage runs, `.dvc` file runs, promotions). */
  runsWritten: number;
  /** Of these, how many were new to the store (the rest updated an existing run key). */
  runsCreated: number;
  stageRuns: number;
  dataRuns: number;
  promotionRuns: number;
  /** Experiment commits (`refs/exps/…`) read this time. */
  experimentsRead: number;
  /** Runs of experiments (marked `metadata.experiment`), of {@link DvcSyncSummary.runsWritten}. */
  experimentRuns: number;
  /** Problems met; each names the commit and, where there is one, the file. The rest was synced. */
  errors: DvcSyncError[];
  durationMs: number;
}

/** The sync state stored per repository (`getSyncState('dvc:<repoId>')`). */
export interface DvcSyncCursor {
  version: 1;
  /** Synced revisions: their commits and all their ancestors are done. Newest first. */
  heads: string[];
  /** GTO tag objects already recorded. */
  gtoTags: string[];
  /** Shallow boundaries met: when the clone is deepened, the next sync reads the whole history again. */
  shallow: string[];
  /** Experiments read, and what each experiment run was recorded as (absent before any). */
  experiments?: ExperimentCursor;
  syncedAt: string;
}

/** How many synced heads the cursor keeps. */
const MAX_HEADS = 16;

/** The sync state key of a repository. */
export function dvcSyncSource(repoId: string): string {
  return `dvc:${repoId}`;
}

async function existingCommits(root: string, shas: string[]): Promise<string[]> {
  if (shas.length === 0) return [];
  const reader = new ObjectReader(root);
  try {
    const objects = await reader.readMany(shas.map((sha) => `${sha}^{commit}`));
    return shas.filter((_, i) => objects[i]?.type === 'commit');
  } finally {
    await reader.close();
  }
}

/**
 * Syncs a DVC repository's history into the store: every stage execution recorded in a
 * `dvc.lock` (at the commit where its entry changed), every `.dvc` file version, and every GTO
 * promotion tag. Incremental and idempotent: re-running it writes nothing new. A file that cannot be
 * read at a commit is reported in `errors` and the rest of the history is still synced.
 *
 * @example
 * ```ts
 * const summary = await syncDvc({ store, repo: '/work/taxi', onProgress: (e) => bar.update(e.done, e) });
 * console.log(formatSummary(summary));
 * ```
 * @throws {InvalidInputError} when the path is not a git repository, is not a DVC project, or the revision is unknown
 */
export async function syncDvc(options: SyncDvcOptions): Promise<DvcSyncSummary> {
  const started = performance.now();
  const logger = options.logger ?? silentLogger;
  const rev = options.rev ?? 'HEAD';
  checkRev(rev);
  const repo = await openGitRepo(options.repo ?? process.cwd());
  const repoId = options.repoId ?? repo.root;
  const source = dvcSyncSource(repoId);
  const stored = await options.store.getSyncState<DvcSyncCursor>(source);
  let cursor: DvcSyncCursor | undefined = stored?.version === 1 ? stored : undefined;

  let full = options.full ?? false;
  if (cursor && cursor.shallow.length > 0) {
    const stillShallow = cursor.shallow.filter((sha) => repo.shallowCommits.has(sha));
    if (stillShallow.length < cursor.shallow.length) {
      logger.info('the clone was deepened since the last sync: reading the whole history again', {
        repo: repo.root,
      });
      full = true;
    }
  }
  const exclude = full || !cursor ? [] : await existingCommits(repo.root, cursor.heads);
  if (cursor && exclude.length < cursor.heads.length && !full) {
    logger.warn('some synced commits are gone (history rewritten?); they are no longer excluded', {
      repo: repo.root,
      missing: cursor.heads.filter((h) => !exclude.includes(h)),
    });
  }
  const emit = (event: DvcSyncProgress) => options.onProgress?.(event);

  const history = await readDvcHistory({
    repo: repo.root,
    rev,
    exclude,
    repoId,
    localConfig: options.localConfig ?? true,
    onCommit: (done, total) => emit({ phase: 'read', done, total }),
  });
  logger.debug('read DVC history', {
    repo: repo.root,
    rev,
    commits: history.commitsRead,
    runs: history.runs.length,
  });

  const errors = [...history.errors];
  let promotions: ComponentRunInput[] = [];
  let tagObjects = cursor?.gtoTags ?? [];
  if (options.gto ?? true) {
    const reader = new ObjectReader(repo.root);
    try {
      const seen = new Set(full ? [] : (cursor?.gtoTags ?? []));
      // A tag is recorded once its commit is synced, so that its input links to the run that produced it.
      const synced = history.head ? [history.head, ...exclude] : exclude;
      const gto = await readGtoPromotions({
        root: repo.root,
        reader,
        repoId,
        seen,
        merged: synced,
        localConfig: options.localConfig ?? true,
      });
      promotions = gto.runs;
      tagObjects = [...new Set([...seen, ...gto.tagObjects])];
      errors.push(...gto.errors);
      emit({ phase: 'tags', done: gto.runs.length, total: gto.runs.length });
    } finally {
      await reader.close();
    }
  }

  // Experiments: every ref not read before; runs matched with branch runs by lock entry. What was
  // recorded is kept even with `full`, so an execution keeps the key it was first written under.
  const experiments: ExperimentCursor = {
    commits: cursor?.experiments?.commits ?? [],
    entries: { ...(cursor?.experiments?.entries ?? {}) },
  };
  let experimentRuns: ComponentRunInput[] = [];
  let experimentsRead = 0;
  if (options.experiments ?? true) {
    const listed = await listExperimentRefs(repo.root);
    errors.push(...listed.errors);
    const done = new Set(full ? [] : experiments.commits);
    const todo = listed.refs.filter((ref) => !done.has(ref.commit));
    if (todo.length > 0) {
      const reader = new ObjectReader(repo.root);
      try {
        const read = await readDvcCommits({
          repo: repo.root,
          commits: [...new Set(todo.map((ref) => ref.commit))],
          repoId,
          localConfig: options.localConfig ?? true,
          reader,
        });
        const refOf = new Map(todo.map((ref) => [ref.commit, ref]));
        for (const error of read.errors) {
          const ref = refOf.get(error.commit);
          errors.push(
            ref ? { ...error, message: `experiment ${ref.name} (${ref.ref}): ${error.message}` } : error,
          );
        }
        await markExperimentRuns(read.runs, todo, repo.root, reader);
        experimentRuns = read.runs;
        await matchSyncedCommits(
          repo.root,
          repoId,
          exclude,
          history.runs,
          experimentRuns,
          experiments,
          reader,
        );
      } finally {
        await reader.close();
      }
    }
    experimentsRead = todo.length;
    const current = new Set(listed.refs.map((ref) => ref.commit));
    experiments.commits = [...new Set([...experiments.commits, ...todo.map((ref) => ref.commit)])].filter(
      (c) => current.has(c),
    );
  }
  const merged = mergeExperimentRuns(history.runs, experimentRuns, experiments.entries);
  const runs = [...merged, ...promotions];
  const batchSize = Math.max(1, options.batchSize ?? 500);
  let created = 0;
  emit({ phase: 'write', done: 0, total: runs.length });
  for (let i = 0; i < runs.length; i += batchSize) {
    const result = await options.store.logRuns(runs.slice(i, i + batchSize));
    created += result.runs.filter((r) => r.created).length;
    emit({ phase: 'write', done: Math.min(i + batchSize, runs.length), total: runs.length });
  }

  if (history.head !== undefined) {
    const shallow = [...new Set([...(full ? [] : (cursor?.shallow ?? [])), ...history.shallowBoundaries])];
    cursor = {
      version: 1,
      heads: [history.head, ...(full ? [] : exclude).filter((h) => h !== history.head)].slice(0, MAX_HEADS),
      gtoTags: tagObjects,
      shallow: shallow.filter((sha) => repo.shallowCommits.has(sha)),
      experiments,
      syncedAt: new Date().toISOString(),
    };
    await options.store.setSyncState(source, cursor);
  } else {
    await options.store.setSyncState(source, {
      ...(cursor ?? { version: 1, heads: [], shallow: [] }),
      gtoTags: tagObjects,
      experiments,
      syncedAt: new Date().toISOString(),
    } satisfies DvcSyncCursor);
  }

  // Returned in the summary for the caller to show; logged at debug only, so nothing prints twice.
  for (const error of errors) logger.debug(error.message, { commit: error.commit, file: error.file });
  const summary: DvcSyncSummary = {
    repo: repo.root,
    rev,
    head: history.head,
    incremental: exclude.length > 0,
    commitsRead: history.commitsRead,
    runsWritten: runs.length,
    runsCreated: created,
    stageRuns: merged.filter((r) => !experimentOf(r) && dvcKind(r) === 'stage').length,
    dataRuns: merged.filter((r) => !experimentOf(r) && dvcKind(r) !== 'stage').length,
    promotionRuns: promotions.length,
    experimentsRead,
    experimentRuns: merged.filter(experimentOf).length,
    errors,
    durationMs: performance.now() - started,
  };
  emit({ phase: 'done', done: runs.length, total: runs.length });
  return summary;
}

const entryOf = (run: ComponentRunInput) => (run.metadata?.dvc as { entry?: string } | undefined)?.entry;

/**
 * An experiment applied and committed on a branch synced before the experiment was seen (its refs
 * fetched later, `dvc exp pull`): the branch run is that execution. Looks for the experiment's
 * lock entries in the synced commits after its baseline, and gives such a run the branch run's key.
 */
async function matchSyncedCommits(
  root: string,
  repoId: string,
  syncedHeads: string[],
  branchRuns: ComponentRunInput[],
  experimentRuns: ComponentRunInput[],
  experiments: ExperimentCursor,
  reader: ObjectReader,
): Promise<void> {
  if (syncedHeads.length === 0) return;
  const inSync = new Set(branchRuns.map(entryOf));
  const unmatched = experimentRuns.flatMap((run) => {
    const entry = entryOf(run);
    const mark = runExperiment(run.metadata);
    return entry && mark && experiments.entries[entry] === undefined && !inSync.has(entry)
      ? [{ run, entry, mark }]
      : [];
  });
  for (const baseline of new Set(unmatched.map((u) => u.mark.baseline))) {
    const later = await readDvcCommits({
      repo: root,
      rev: `^${baseline} ${syncedHeads.join(' ')}`,
      repoId,
      localConfig: false,
      reader,
    }).catch(() => undefined); // a baseline gone from history: nothing to match
    const byEntry = new Map((later?.runs ?? []).map((run) => [entryOf(run), run]));
    for (const { run, entry, mark } of unmatched) {
      const twin = mark.baseline === baseline ? byEntry.get(entry) : undefined;
      if (!twin?.runKey || !twin.gitCommit) continue;
      run.runKey = twin.runKey;
      run.metadata = { ...run.metadata, experiment: { ...mark, committedIn: [twin.gitCommit] } };
    }
  }
}

const experimentOf = (run: ComponentRunInput) => runExperiment(run.metadata) !== undefined;
const dvcKind = (run: ComponentRunInput) => (run.metadata?.dvc as { kind?: string } | undefined)?.kind;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The summary as text: one line (what was read and written, how long), then one indented line per
 * error with its hint. What `mltrace sync dvc` prints.
 */
export function formatSummary(summary: DvcSyncSummary): string {
  const head = summary.head ? ` at ${shortSha(summary.head)}` : '';
  const parts = [
    `${plural(summary.commitsRead, 'commit')} read`,
    `${plural(summary.runsWritten, 'run')} written (${summary.runsCreated} new; ${summary.stageRuns} stage, ${summary.dataRuns} data, ${summary.promotionRuns} promotion${summary.experimentRuns > 0 ? `, ${summary.experimentRuns} experiment` : ''})`,
    ...(summary.experimentsRead > 0 ? [`${plural(summary.experimentsRead, 'experiment')} read`] : []),
    plural(summary.errors.length, 'error'),
  ];
  const line = `dvc ${summary.repo} ${summary.rev}${head}${summary.incremental ? ' (incremental)' : ''}: ${parts.join(', ')} in ${(summary.durationMs / 1000).toFixed(1)} s`;
  const details = summary.errors.map((e) => `  ${e.message}${e.hint ? `\n    hint: ${e.hint}` : ''}`);
  return [line, ...details].join('\n');
}
