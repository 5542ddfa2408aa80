/**
 * Resolving a DVC-tracked path at one revision to a versioned pointer, from git objects alone
 * (plus the local cache for a file inside a tracked directory).
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidInputError, NotFoundError } from '@mltrace/core';
import { type DvcConfig, mergeDvcConfigs, parseDvcConfig, remoteLocation } from './config.js';
import { DvcFileError, shortSha } from './errors.js';
import {
  type DvcEntry,
  type DvcImport,
  dvcFileKind,
  type HashAlgorithm,
  parseDvcFile,
  parseDvcYaml,
  parseLockFile,
} from './formats.js';
import { checkRev, git, ObjectReader, openGitRepo, resolveCommit } from './git.js';
import { repoPathUri } from './pointers.js';

/** One output declared at a commit, with where it is declared. */
export interface TrackedOutput {
  entry: DvcEntry;
  /** The declaring file (`data/raw.csv.dvc`, `dvc.lock`). */
  file: string;
  /** The stage name, for a lock file output. */
  stage?: string;
  /** The import source, for a `dvc import`. */
  import?: DvcImport;
}

/** Every output declared by the `.dvc` and `dvc.lock` files of a commit. */
export interface CommitOutputs {
  commit: string;
  outputs: TrackedOutput[];
  /** Files that could not be read. */
  errors: DvcFileError[];
  /** The root `.dvc/config` at the commit, merged with the working tree's `config.local` when asked. */
  config: DvcConfig | undefined;
}

/** Reads every output declared at a commit (one `git ls-tree`, one batch of object reads). */
export async function readCommitOutputs(
  root: string,
  reader: ObjectReader,
  commit: string,
  options: { localConfig?: boolean } = {},
): Promise<CommitOutputs> {
  const listing = await git(root, ['ls-tree', '-r', '-z', '--name-only', commit]);
  const files = listing.split('\0').filter((path) => path && dvcFileKind(path));
  const yamlFiles = files
    .filter((f) => dvcFileKind(f) === 'lock')
    .map((f) => posix.join(posix.dirname(f), 'dvc.yaml'));
  const objects = await reader.readMany([
    ...files.map((f) => `${commit}:${f}`),
    ...yamlFiles.map((f) => `${commit}:${f}`),
    `${commit}:.dvc/config`,
  ]);
  const errors: DvcFileError[] = [];
  const outputs: TrackedOutput[] = [];
  const text = (i: number) => objects[i]?.content.toString('utf8');
  files.forEach((file, i) => {
    const content = text(i);
    if (content === undefined) return;
    try {
      if (dvcFileKind(file) === 'dvc') {
        const parsed = parseDvcFile(content, { file, commit });
        for (const entry of parsed.outs) {
          outputs.push({ entry, file, ...(parsed.import ? { import: parsed.import } : {}) });
        }
      } else {
        const yamlFile = posix.join(posix.dirname(file), 'dvc.yaml');
        const yamlText = text(files.length + yamlFiles.indexOf(yamlFile));
        let definitions: ReturnType<typeof parseDvcYaml>['stages'] | undefined;
        try {
          definitions =
            yamlText === undefined ? undefined : parseDvcYaml(yamlText, { file: yamlFile, commit }).stages;
        } catch {
          definitions = undefined;
        }
        const lock = parseLockFile(content, { file, commit }, definitions);
        for (const stage of lock.stages)
          for (const entry of stage.outs) outputs.push({ entry, file, stage: stage.address });
      }
    } catch (error) {
      if (!(error instanceof DvcFileError)) throw error;
      errors.push(error);
    }
  });
  const configText = text(files.length + yamlFiles.length);
  let config = configText === undefined ? undefined : parseDvcConfig(configText);
  if (config && (options.localConfig ?? true)) {
    const local = await readFile(join(root, '.dvc', 'config.local'), 'utf8').catch(() => undefined);
    if (local !== undefined) config = mergeDvcConfigs(config, parseDvcConfig(local));
  }
  return { commit, outputs, errors, config };
}

/** Options of {@link resolveDvcPointer}. */
export interface ResolveDvcPointerOptions {
  /** The repository (any directory of its working tree). */
  repo: string;
  /**
   * The tracked path: relative to the repository root, absolute inside the working tree, or a
   * `file://` URI.
   */
  path: string;
  /** The revision to read. @default 'HEAD' */
  rev?: string;
  /** Merge the working tree's `.dvc/config.local` when computing the remote URL. @default true */
  localConfig?: boolean;
}

/** A DVC data version as a versioned pointer (JSON-serialisable: an activity can return it). */
export interface DvcPointer {
  /** `file:///abs/path` in the working tree: the URI the store and every other source use. */
  uri: string;
  /** The DVC hash (`.dir` suffix kept for directories). */
  version: string;
  /** How the hash was computed (`md5` for DVC 3, `md5-dos2unix` for DVC 2 entries). */
  algorithm: HashAlgorithm;
  /** Working tree root. */
  repo: string;
  /** The commit the revision resolved to (full sha). */
  commit: string;
  /** Repo-relative POSIX path. */
  path: string;
  size?: number;
  nfiles?: number;
  isDir: boolean;
  /** The file that declares it (`data/raw.csv.dvc`, `dvc.lock`). */
  declaredIn: string;
  /** The stage that outputs it, when a `dvc.lock` declares it. */
  stage?: string;
  /** The object's URL on the remote, as `dvc get --show-url` prints it, when a remote is configured. */
  remoteUrl?: string;
  /** Where it was imported from (`dvc import`). */
  import?: DvcImport;
  /** For a file inside a tracked directory: the directory's path and hash. */
  directory?: { path: string; version: string };
}

function repoRelative(root: string, path: string): string {
  let p = path;
  if (/^file:/i.test(p)) p = fileURLToPath(p);
  p = p.replace(/\\/g, '/');
  if (isAbsolute(p)) {
    const rel = relative(root, p).replace(/\\/g, '/');
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw new InvalidInputError(`${path} is outside the repository ${root}`);
    }
    p = rel;
  }
  const normalized = posix.normalize(p).replace(/\/+$/, '');
  if (normalized === '' || normalized === '.' || normalized.startsWith('../')) {
    throw new InvalidInputError(`${path} is not a path inside the repository ${root}`);
  }
  return normalized;
}

/** Finds the output declaring `repoPath` exactly, or the tracked directory holding it. */
export function findOutput(
  outputs: TrackedOutput[],
  repoPath: string,
): { output: TrackedOutput; inside: boolean } | undefined {
  const exact = outputs.find((o) => o.entry.repoPath === repoPath);
  if (exact) return { output: exact, inside: false };
  const dir = outputs
    .filter((o) => o.entry.isDir && o.entry.repoPath && repoPath.startsWith(`${o.entry.repoPath}/`))
    .sort((a, b) => (b.entry.repoPath?.length ?? 0) - (a.entry.repoPath?.length ?? 0))[0];
  return dir ? { output: dir, inside: true } : undefined;
}

/** A `.dir` manifest: the md5 of every file, by relative path. */
async function readManifest(
  root: string,
  hash: string,
  algorithm: HashAlgorithm | undefined,
  config: DvcConfig | undefined,
  remoteUrl: string | undefined,
): Promise<Array<{ md5: string; relpath: string; size?: number }> | undefined> {
  const dvcDir = join(root, '.dvc');
  const cacheDirSetting = config?.get('cache')?.get('dir');
  const cacheDir = cacheDirSetting ? resolve(dvcDir, cacheDirSetting) : join(dvcDir, 'cache');
  const prefix = algorithm === 'md5' ? join('files', 'md5') : '';
  const candidates = [join(cacheDir, prefix, hash.slice(0, 2), hash.slice(2))];
  if (remoteUrl && isAbsolute(remoteUrl)) candidates.push(remoteUrl);
  for (const file of candidates) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    try {
      const list = JSON.parse(text) as unknown;
      if (Array.isArray(list)) return list as Array<{ md5: string; relpath: string; size?: number }>;
    } catch {
      // A corrupt cache object: try the next place.
    }
  }
  return undefined;
}

/**
 * Resolves a DVC-tracked path at a revision to its versioned pointer `{ uri, version, ... }`, from
 * git alone: the `.dvc` or `dvc.lock` file declaring it at that commit gives the hash. A file inside
 * a tracked directory is found in the directory's `.dir` manifest, read from the local cache (or a
 * local remote). Meant as a Temporal activity: the result is plain JSON.
 *
 * @throws {NotFoundError} when no DVC file at that revision tracks the path
 * @throws {InvalidInputError} for a path outside the repository or an unknown revision
 */
export async function resolveDvcPointer(options: ResolveDvcPointerOptions): Promise<DvcPointer> {
  const repo = await openGitRepo(options.repo);
  const rev = options.rev ?? 'HEAD';
  checkRev(rev);
  const commit = await resolveCommit(repo.root, rev);
  const repoPath = repoRelative(repo.root, options.path);
  const reader = new ObjectReader(repo.root);
  let found: Awaited<ReturnType<typeof readCommitOutputs>>;
  try {
    found = await readCommitOutputs(repo.root, reader, commit, { localConfig: options.localConfig ?? true });
  } finally {
    await reader.close();
  }
  const match = findOutput(found.outputs, repoPath);
  if (!match) {
    const broken = found.errors.map((e) => e.message).join('; ');
    throw new NotFoundError(
      `${repoPath} is not tracked by DVC at ${shortSha(commit)} (${rev}) in ${repo.root}`,
      {
        hint: broken
          ? `some DVC files could not be read: ${broken}`
          : 'check the path (relative to the repository root) and the revision',
      },
    );
  }
  const { entry, file, stage } = match.output;
  if (!entry.hash || !entry.algorithm) {
    throw new NotFoundError(`${repoPath} has no recorded hash at ${shortSha(commit)} (declared in ${file})`, {
      hint: 'run `dvc commit` or `dvc repro` and commit the result',
    });
  }
  const dvcDir = join(repo.root, '.dvc');
  const remoteUrl = match.output.import ? undefined : remoteLocation(entry, found.config, dvcDir)?.url;
  const pointer: DvcPointer = {
    uri: repoPathUri(repo.root, repoPath),
    version: entry.hash,
    algorithm: entry.algorithm,
    repo: repo.root,
    commit,
    path: repoPath,
    isDir: entry.isDir,
    declaredIn: file,
  };
  if (stage) pointer.stage = stage;
  if (match.output.import) pointer.import = match.output.import;
  if (!match.inside) {
    if (entry.size !== undefined) pointer.size = entry.size;
    if (entry.nfiles !== undefined) pointer.nfiles = entry.nfiles;
    if (remoteUrl) pointer.remoteUrl = remoteUrl;
    return pointer;
  }
  const dirPath = entry.repoPath!;
  const manifest = await readManifest(repo.root, entry.hash, entry.algorithm, found.config, remoteUrl);
  if (!manifest) {
    throw new NotFoundError(
      `${repoPath} is inside the tracked directory ${dirPath} (${entry.hash} at ${shortSha(commit)}), whose .dir manifest is not in the local cache`,
      { hint: `run \`dvc pull ${dirPath}\` (or \`dvc fetch\`), or resolve the directory ${dirPath} itself` },
    );
  }
  const relpath = repoPath.slice(dirPath.length + 1);
  const item = manifest.find((f) => f.relpath === relpath);
  if (!item) {
    throw new NotFoundError(`${repoPath} is not in the tracked directory ${dirPath} at ${shortSha(commit)}`);
  }
  pointer.version = item.md5;
  pointer.isDir = false;
  if (typeof item.size === 'number') pointer.size = item.size;
  pointer.directory = { path: dirPath, version: entry.hash };
  const fileRemote = match.output.import
    ? undefined
    : remoteLocation({ ...entry, hash: item.md5 }, found.config, dvcDir);
  if (fileRemote) pointer.remoteUrl = fileRemote.url;
  return pointer;
}
