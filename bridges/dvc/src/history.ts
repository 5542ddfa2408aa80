/**
 * Reads DVC lineage from git history: one `git log` lists every commit that changed a `.dvc` file
 * or a `dvc.lock` (with the blob ids before and after), one `git cat-file --batch` process reads
 * every blob, and each stage entry or `.dvc` file that changed at a commit becomes a ComponentRun.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { type ComponentRunInput, dvcRunKey, InvalidInputError, type PointerInput } from '@mltrace/core';
import { type DvcConfig, mergeDvcConfigs, parseDvcConfig } from './config.js';
import { DvcFileError, shortSha } from './errors.js';
import {
  type DvcEntry,
  type DvcFile,
  dvcFileKind,
  type LockFile,
  parseDvcFile,
  parseDvcYaml,
  parseLockFile,
  type StageDefinition,
} from './formats.js';
import {
  checkRev,
  DVC_PATHSPECS,
  type GitRepo,
  git,
  ObjectReader,
  openGitRepo,
  resolveCommit,
} from './git.js';
import { describeEntry, importSourcePointer, type RemoteContext } from './pointers.js';

/** One problem met while reading history: the file and commit it concerns, and what to do. */
export interface DvcSyncIssue {
  /** Full sha of the commit. */
  commit: string;
  /** Repo-relative path of the file, when the problem is in one file. */
  file?: string;
  message: string;
  hint?: string;
}

/** Options of {@link readDvcHistory}. */
export interface ReadDvcHistoryOptions {
  /** Path of the git repository (any directory inside its working tree). */
  repo: string;
  /**
   * A revision (`HEAD`, `main`, a sha) or a range (`A..B`), as `git log` takes it.
   * @default 'HEAD'
   */
  rev?: string;
  /** Commits already read: they and their ancestors are skipped (`git log <rev> --not <exclude>`). */
  exclude?: string[];
  /**
   * The repository's name in run keys (`dvc:<repoId>/<commit>/<stage>`).
   * @default the absolute path of the working tree root
   */
  repoId?: string;
  /** Merge the working tree's `.dvc/config.local` over the committed config when computing remote URLs. @default true */
  localConfig?: boolean;
  /** Called after each commit is read. */
  onCommit?: (done: number, total: number) => void;
}

/**
 * The identity of a recorded lock entry or `.dvc` file version: a hash of the file, the stage and
 * the entry's canonical content. Two commits holding the same entry (an experiment and the commit
 * that applied it) hold the same execution. Recorded as `metadata.dvc.entry`.
 */
export function entryId(file: string, stage: string, fingerprint: string): string {
  return createHash('sha256').update(`${file}\0${stage}\0${fingerprint}`).digest('hex').slice(0, 32);
}

/** {@link readDvcHistory}'s options, plus reading an explicit list of commits (experiments). */
export interface ReadCommitsOptions extends ReadDvcHistoryOptions {
  /** Read exactly these commits (each against its parents) instead of walking `rev`. */
  commits?: string[];
  /** Read with this reader (kept open by the caller). */
  reader?: ObjectReader;
}

/** What {@link readDvcHistory} found. */
export interface DvcHistory {
  /** Absolute path of the working tree root. */
  root: string;
  repoId: string;
  /** The commit `rev` resolves to; undefined for a range. */
  head: string | undefined;
  /** Commits that changed a DVC file, read in this walk. */
  commitsRead: number;
  /** The runs, oldest commit first, producers before consumers within a commit. */
  runs: ComponentRunInput[];
  /** How many of {@link DvcHistory.runs} are stage runs and how many `.dvc` file runs. */
  counts: { stages: number; data: number };
  errors: DvcSyncIssue[];
  /** Shallow clone boundaries met: their changes could not be told from older history. */
  shallowBoundaries: string[];
}

const ZERO = /^0+$/;

interface Change {
  path: string;
  kind: 'dvc' | 'lock';
  /** The blob in each parent (undefined: absent there). */
  before: Array<string | undefined>;
  /** The blob at the commit (undefined: deleted). */
  after: string | undefined;
}

interface LoggedCommit {
  sha: string;
  parents: string[];
  time: Date;
  subject: string;
  changes: Change[];
}

/** Parses `git log -c --raw -z --format=%x1e%H%x00%P%x00%ct%x00%s%x00`. */
export function parseRawLog(out: string): LoggedCommit[] {
  const commits: LoggedCommit[] = [];
  for (const record of out.split('\x1e')) {
    if (record === '') continue;
    const fields = record.split('\0');
    const [sha, parents, time, subject] = fields;
    if (!sha || time === undefined) continue;
    const commit: LoggedCommit = {
      sha,
      parents: parents ? parents.split(' ').filter(Boolean) : [],
      time: new Date(Number(time) * 1000),
      subject: subject ?? '',
      changes: [],
    };
    const tokens = fields.slice(4).map((t) => t.replace(/^\n+/, ''));
    for (let i = 0; i < tokens.length; i++) {
      const meta = tokens[i];
      if (!meta?.startsWith(':')) continue;
      const path = tokens[i + 1];
      i++;
      if (!path) continue;
      const kind = dvcFileKind(path);
      if (!kind) continue;
      const colons = /^:+/.exec(meta)?.[0].length ?? 1;
      const parts = meta.slice(colons).split(' ');
      // `colons` parents: their modes, the result's mode, their blobs, the result's blob, status.
      const blobs = parts.slice(colons + 1, 2 * colons + 2).map((b) => (ZERO.test(b) ? undefined : b));
      commit.changes.push({ path, kind, before: blobs.slice(0, colons), after: blobs[colons] });
    }
    commits.push(commit);
  }
  return commits;
}

function isRange(rev: string): boolean {
  return rev.includes('..') || rev.startsWith('^') || /\s/.test(rev);
}

/** Fingerprints of a lock file's stages by name, or undefined when it cannot be read. */
function lockFingerprints(text: string, file: string): Map<string, string> | undefined {
  try {
    const lock = parseLockFile(text, { file, commit: 'parent' });
    return new Map(lock.stages.map((stage) => [stage.name, stage.fingerprint]));
  } catch {
    return undefined;
  }
}

function dirOf(path: string): string {
  const dir = posix.dirname(path);
  return dir === '.' ? '' : dir;
}

/** `dir/.dvc/config`, `parent/.dvc/config`, ..., `.dvc/config`: where the config of a file may be. */
function configCandidates(dir: string): string[] {
  const out: string[] = [];
  let d = dir;
  for (;;) {
    out.push(d ? `${d}/.dvc/config` : '.dvc/config');
    if (!d) return out;
    d = dirOf(d);
  }
}

/** Orders runs so that every producer of an input comes before its consumers (stable otherwise). */
export function orderProducersFirst(runs: ComponentRunInput[]): ComponentRunInput[] {
  const key = (p: string | PointerInput) =>
    typeof p === 'string' ? `${p}\0` : `${p.uri}\0${p.version ?? ''}`;
  const producers = new Map<string, number>();
  runs.forEach((run, i) => {
    for (const out of run.outputs ?? []) producers.set(key(out), i);
  });
  const done = new Set<number>();
  const visiting = new Set<number>();
  const ordered: ComponentRunInput[] = [];
  const visit = (i: number) => {
    if (done.has(i) || visiting.has(i)) return;
    visiting.add(i);
    for (const input of runs[i]?.inputs ?? []) {
      const producer = producers.get(key(input));
      if (producer !== undefined && producer !== i) visit(producer);
    }
    visiting.delete(i);
    done.add(i);
    ordered.push(runs[i]!);
  };
  for (let i = 0; i < runs.length; i++) visit(i);
  return ordered;
}

/**
 * Reads the DVC lineage of a repository's history. Commits that changed no DVC file cost nothing;
 * each other one is read from git objects. A file that cannot be read at a commit (malformed YAML,
 * an unknown lock schema) is reported in `errors` and skipped at that commit only.
 */
export async function readDvcHistory(options: ReadDvcHistoryOptions): Promise<DvcHistory> {
  return readDvcCommits(options);
}

/** {@link readDvcHistory}, or the given commits only (`options.commits`). */
export async function readDvcCommits(options: ReadCommitsOptions): Promise<DvcHistory> {
  const repo = await openGitRepo(options.repo);
  if (options.reader) return readWith(repo, options.reader, options);
  const reader = new ObjectReader(repo.root);
  try {
    return await readWith(repo, reader, options);
  } finally {
    await reader.close();
  }
}

async function readWith(
  repo: GitRepo,
  reader: ObjectReader,
  options: ReadCommitsOptions,
): Promise<DvcHistory> {
  const { root } = repo;
  const rev = options.rev ?? 'HEAD';
  checkRev(rev);
  const listed = options.commits !== undefined;
  const range = !listed && isRange(rev);
  const head = range || listed ? undefined : await resolveCommit(root, rev);
  const repoId = options.repoId ?? root;
  const exclude = range || listed ? [] : (options.exclude ?? []);
  const revArgs = listed
    ? (options.commits ?? []).filter((sha) => /^[0-9a-f]{40,64}$/.test(sha))
    : range
      ? rev.split(/\s+/).filter(Boolean)
      : [head!];
  for (const arg of revArgs) checkRev(arg);
  if (exclude.length > 0) revArgs.push('--not', ...exclude);
  const log =
    listed && revArgs.length === 0
      ? ''
      : await git(root, [
          'log',
          ...(listed ? ['--no-walk=unsorted'] : ['--topo-order', '--reverse']),
          '--full-history',
          '-c',
          '--raw',
          '--no-abbrev',
          '--no-renames',
          '-z',
          '--format=%x1e%H%x00%P%x00%ct%x00%s%x00',
          ...revArgs,
          '--',
          ...DVC_PATHSPECS,
        ]);
  const commits = parseRawLog(log);
  const history: DvcHistory = {
    root,
    repoId,
    head,
    commitsRead: commits.length,
    runs: [],
    counts: { stages: 0, data: 0 },
    errors: [],
    shallowBoundaries: [],
  };

  if (commits.length === 0 && exclude.length === 0 && head) {
    const dvcDir = await reader.read(`${head}:.dvc`);
    if (!dvcDir) {
      throw new InvalidInputError(
        `${root} at ${shortSha(head)} is not a DVC repository: no .dvc/ directory, and no .dvc or dvc.lock file in its history`,
        { hint: 'run `dvc init` there, or pass the path of a DVC project' },
      );
    }
  }
  if (commits.length === 0) return history;

  // Round 1: every blob before and after each change.
  const blobIds = new Set<string>();
  for (const commit of commits)
    for (const change of commit.changes) {
      if (change.after) blobIds.add(change.after);
      for (const b of change.before) if (b) blobIds.add(b);
    }
  const blobList = [...blobIds];
  const blobObjects = await reader.readMany(blobList);
  const blobs = new Map<string, string>();
  blobList.forEach((id, i) => {
    const object = blobObjects[i];
    if (object) blobs.set(id, object.content.toString('utf8'));
  });

  // Round 2: the dvc.yaml beside each changed lock file and the .dvc/config in effect.
  const requests: string[] = [];
  const requestIndex = new Map<string, number>();
  const want = (name: string) => {
    if (!requestIndex.has(name)) {
      requestIndex.set(name, requests.length);
      requests.push(name);
    }
  };
  for (const commit of commits) {
    for (const change of commit.changes) {
      if (!change.after) continue;
      const dir = dirOf(change.path);
      if (change.kind === 'lock') want(`${commit.sha}:${dir ? `${dir}/` : ''}dvc.yaml`);
      for (const candidate of configCandidates(dir)) want(`${commit.sha}:${candidate}`);
    }
  }
  const round2 = await reader.readMany(requests);
  const read2 = (name: string) => {
    const index = requestIndex.get(name);
    return index === undefined ? undefined : round2[index];
  };

  const parsedDvc = new Map<string, DvcFile>();
  const dvcFingerprints = new Map<string, string | undefined>();
  const lockPrints = new Map<string, Map<string, string> | undefined>();
  const yamlCache = new Map<string, Map<string, StageDefinition> | undefined>();
  const configCache = new Map<string, DvcConfig>();
  const localConfigs = new Map<string, DvcConfig | undefined>();
  const useLocal = options.localConfig ?? true;

  const remoteFor = (commit: string, dir: string): RemoteContext | undefined => {
    for (const candidate of configCandidates(dir)) {
      const object = read2(`${commit}:${candidate}`);
      if (!object) continue;
      let config = configCache.get(object.sha);
      if (!config) {
        config = parseDvcConfig(object.content.toString('utf8'));
        configCache.set(object.sha, config);
      }
      const dvcDir = join(root, posix.dirname(candidate));
      if (useLocal) {
        if (!localConfigs.has(dvcDir)) {
          const file = join(dvcDir, 'config.local');
          localConfigs.set(dvcDir, existsSync(file) ? parseDvcConfig(readFileSync(file, 'utf8')) : undefined);
        }
        const local = localConfigs.get(dvcDir);
        if (local) config = mergeDvcConfigs(config, local);
      }
      return { config, dvcDir };
    }
    return undefined;
  };

  const definitionsAt = (commit: string, lockPath: string): Map<string, StageDefinition> | undefined => {
    const dir = dirOf(lockPath);
    const file = `${dir ? `${dir}/` : ''}dvc.yaml`;
    const object = read2(`${commit}:${file}`);
    if (!object) return undefined;
    if (!yamlCache.has(object.sha)) {
      try {
        yamlCache.set(object.sha, parseDvcYaml(object.content.toString('utf8'), { file, commit }).stages);
      } catch (error) {
        yamlCache.set(object.sha, undefined);
        if (error instanceof DvcFileError) {
          history.errors.push({
            commit,
            file,
            message: `${error.message} (its stages' wdir and cache flags are ignored)`,
          });
        }
      }
    }
    return yamlCache.get(object.sha);
  };

  let done = 0;
  for (const commit of commits) {
    const boundary = repo.shallowCommits.has(commit.sha);
    const runs: ComponentRunInput[] = [];
    if (boundary) {
      history.shallowBoundaries.push(commit.sha);
      const files = commit.changes.filter((c) => c.after).map((c) => c.path);
      history.errors.push({
        commit: commit.sha,
        file: files.join(', '),
        message: `${files.join(', ')} at ${shortSha(commit.sha)}: this commit is the boundary of a shallow clone (its parents are missing), so its DVC files cannot be compared with the versions before them; they are used as the baseline of later commits and not recorded`,
        hint: 'run `git fetch --unshallow` and sync again to record the full history',
      });
    }
    for (const change of boundary ? [] : commit.changes) {
      if (!change.after) continue; // deleted: nothing new to record
      const text = blobs.get(change.after);
      if (text === undefined) continue;
      const origin = { file: change.path, commit: commit.sha };
      try {
        if (change.kind === 'dvc') {
          const run = dvcFileRun(change, text, commit, origin);
          if (run) runs.push(run);
        } else {
          runs.push(...lockRuns(change, text, commit, origin));
        }
      } catch (error) {
        if (!(error instanceof DvcFileError)) throw error;
        history.errors.push({
          commit: commit.sha,
          file: change.path,
          message: error.message,
          ...(error.hint ? { hint: error.hint } : {}),
        });
      }
    }
    history.runs.push(...orderProducersFirst(runs));
    done++;
    options.onCommit?.(done, commits.length);
  }
  return history;

  function dvcFileRun(
    change: Change,
    text: string,
    commit: LoggedCommit,
    origin: { file: string; commit: string },
  ) {
    let parsed = parsedDvc.get(change.after!);
    if (!parsed) {
      try {
        parsed = parseDvcFile(text, origin);
      } catch (error) {
        dvcFingerprints.set(change.after!, undefined);
        throw error;
      }
      parsedDvc.set(change.after!, parsed);
      dvcFingerprints.set(change.after!, parsed.fingerprint);
    }
    const current = parsed;
    const changed = change.before.every((blob) => {
      if (!blob) return true;
      if (!dvcFingerprints.has(blob)) {
        let print: string | undefined;
        try {
          const before = blobs.get(blob);
          print = before === undefined ? undefined : parseDvcFile(before, origin).fingerprint;
        } catch {
          print = undefined;
        }
        dvcFingerprints.set(blob, print);
      }
      return dvcFingerprints.get(blob) !== current.fingerprint;
    });
    if (!changed) return undefined;
    return buildDvcFileRun(current, commit, remoteFor(commit.sha, dirOf(change.path)));
  }

  function lockRuns(
    change: Change,
    text: string,
    commit: LoggedCommit,
    origin: { file: string; commit: string },
  ) {
    const definitions = definitionsAt(commit.sha, change.path);
    let lock: LockFile;
    try {
      lock = parseLockFile(text, origin, definitions);
    } catch (error) {
      lockPrints.set(change.after!, undefined);
      throw error;
    }
    const parents = change.before.map((blob) => {
      if (!blob) return new Map<string, string>();
      if (!lockPrints.has(blob)) {
        const before = blobs.get(blob);
        lockPrints.set(blob, before === undefined ? undefined : lockFingerprints(before, change.path));
      }
      return lockPrints.get(blob);
    });
    // DVC drops a stage's lock entry only with its definition (`dvc remove`): an entry that is gone
    // while dvc.yaml still defines the stage means the file was cut short or edited by hand.
    const present = new Set(lock.stages.map((stage) => stage.name));
    for (const prints of parents) {
      for (const name of prints?.keys() ?? []) {
        // foreach and matrix stages (`name@key`) by their definition's name.
        const defined =
          definitions?.has(name) || definitions?.has(name.slice(0, Math.max(0, name.indexOf('@'))));
        if (present.has(name) || !defined) continue;
        lockPrints.set(change.after!, undefined);
        throw new DvcFileError(
          change.path,
          commit.sha,
          `stage ${name} is defined in dvc.yaml and was in the parent commit's dvc.lock, but its entry is gone (DVC removes it only with the stage, \`dvc remove\`): the file looks cut short`,
          {
            hint: 'DVC sees the stage as never run (`dvc status`); run `dvc repro` and commit the lock file it writes',
          },
        );
      }
    }
    lockPrints.set(change.after!, new Map(lock.stages.map((stage) => [stage.name, stage.fingerprint])));
    const remote = remoteFor(commit.sha, dirOf(change.path));
    const runs: ComponentRunInput[] = [];
    for (const stage of lock.stages) {
      // Recorded where its lock entry differs from every parent's (an unreadable parent counts as different).
      const changed = parents.every((prints) => prints?.get(stage.name) !== stage.fingerprint);
      if (changed) runs.push(buildStageRun(lock, stage, commit, remote));
    }
    return runs;
  }

  function buildStageRun(
    lock: LockFile,
    stage: LockFile['stages'][number],
    commit: LoggedCommit,
    remote: RemoteContext | undefined,
  ): ComponentRunInput {
    history.counts.stages++;
    const dir = dirOf(lock.file);
    // A remote URL only for what DVC caches: a dependency gets one when it is a cached output of a
    // stage of this lock (as `dvc get --show-url` finds it); a git-tracked file (`src/train.py`)
    // has none.
    const cached = new Map<string, DvcEntry>();
    for (const other of lock.stages)
      for (const out of other.outs)
        if (out.repoPath !== undefined && out.cache !== false) cached.set(out.repoPath, out);
    const deps = stage.deps.map((entry) => {
      const output = entry.repoPath === undefined ? undefined : cached.get(entry.repoPath);
      if (!output) return describeEntry(entry, root, dir, undefined);
      const withFlags: DvcEntry = { ...entry };
      if (output.remote !== undefined) withFlags.remote = output.remote;
      return describeEntry(withFlags, root, dir, remote);
    });
    const outs = stage.outs.map((entry) => describeEntry(entry, root, dir, remote));
    return {
      component: stage.address,
      runKey: dvcRunKey({ repo: repoId, commit: commit.sha, stage: stage.address }),
      source: 'dvc',
      status: 'succeeded',
      startedAt: commit.time,
      endedAt: commit.time,
      gitCommit: commit.sha,
      codeSnapshot: stage.cmd,
      inputs: deps.map((d) => d.pointer),
      outputs: outs.map((o) => o.pointer),
      metadata: {
        dvc: {
          kind: 'stage',
          repo: root,
          file: lock.file,
          stage: stage.name,
          lockSchema: lock.schema,
          cmd: stage.cmd,
          params: stage.params,
          deps: deps.map((d) => d.details),
          outs: outs.map((o) => o.details),
          commit: { sha: commit.sha, subject: commit.subject, time: commit.time.toISOString() },
          entry: entryId(lock.file, stage.address, stage.fingerprint),
        },
      },
    };
  }

  function buildDvcFileRun(
    file: DvcFile,
    commit: LoggedCommit,
    remote: RemoteContext | undefined,
  ): ComponentRunInput {
    history.counts.data++;
    const dir = dirOf(file.file);
    // Imported data lives on the source repository's remote (where `dvc get --show-url` points too).
    const outRemote = file.kind === 'import' ? undefined : remote;
    const outs = file.outs.map((entry) => describeEntry(entry, root, dir, outRemote));
    const deps = file.deps.map((entry) => describeEntry(entry, root, dir, undefined));
    const tracked = file.file.replace(/\.dvc$/, '');
    let inputs: PointerInput[] = [];
    const dvc: Record<string, unknown> = {
      kind: file.kind,
      repo: root,
      file: file.file,
      outs: outs.map((o) => o.details),
      commit: { sha: commit.sha, subject: commit.subject, time: commit.time.toISOString() },
      entry: entryId(file.file, '', file.fingerprint),
    };
    let component: string;
    if (file.kind === 'import' && file.import) {
      component = `dvc import ${tracked}`;
      inputs = [importSourcePointer(file.import, file.outs[0]?.hash, root, dir)];
      dvc.import = file.import;
    } else if (file.kind === 'import-url') {
      component = `dvc import-url ${tracked}`;
      inputs = deps.map((d) => d.pointer);
      dvc.deps = deps.map((d) => d.details);
    } else if (file.kind === 'stage') {
      component = file.file;
      inputs = deps.map((d) => d.pointer);
      dvc.deps = deps.map((d) => d.details);
      dvc.cmd = file.cmd;
    } else {
      component = `dvc add ${tracked}`;
    }
    if (file.frozen) dvc.frozen = true;
    const run: ComponentRunInput = {
      component,
      runKey: dvcRunKey({ repo: repoId, commit: commit.sha, stage: file.file }),
      source: 'dvc',
      status: 'succeeded',
      startedAt: commit.time,
      endedAt: commit.time,
      gitCommit: commit.sha,
      inputs,
      outputs: outs.map((o) => o.pointer),
      metadata: { dvc },
    };
    if (file.cmd) run.codeSnapshot = file.cmd;
    return run;
  }
}
