/**
 * From DVC entries to the store's pointers: the URI is the file's absolute path in the repo's
 * working tree (`file:///repo/data/raw.csv`, the form every other source logs), the version is
 * the DVC hash; the rest (algorithm, size, nfiles, remote URL) goes to run metadata.
 */
import { realpathSync } from 'node:fs';
import { posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { normalizeUri, type PointerInput } from '@mltrace/core';
import { type DvcConfig, remoteLocation } from './config.js';
import type { DvcEntry, DvcImport, HashAlgorithm } from './formats.js';

/** What run metadata records of one dependency or output. */
export interface EntryDetails {
  /** Repo-relative path, or the path as written for an external one. */
  path: string;
  uri: string;
  hash?: string;
  algorithm?: HashAlgorithm;
  size?: number;
  nfiles?: number;
  isDir?: true;
  cache?: false;
  remote?: string;
  /** The object's URL on its remote, as `dvc get --show-url` prints it. */
  remoteUrl?: string;
  cloudVersioned?: true;
}

/** The absolute `file://` URI of a repo-relative path. */
export function repoPathUri(root: string, repoPath: string): string {
  return normalizeUri(repoPath === '.' ? root : `${root}/${repoPath}`, { cwd: root });
}

/** The canonical URI of an entry declared in a file of directory `declaringDir` (repo-relative). */
export function entryUri(entry: DvcEntry, root: string, declaringDir: string): string {
  if (entry.repoPath !== undefined) return repoPathUri(root, entry.repoPath);
  return normalizeUri(entry.path, { cwd: posix.join(root, declaringDir) });
}

/** Where an entry's remote URL is computed from: the config in effect and its `.dvc/` directory. */
export interface RemoteContext {
  config: DvcConfig | undefined;
  dvcDir: string;
}

/** The pointer and the metadata details of an entry. */
export function describeEntry(
  entry: DvcEntry,
  root: string,
  declaringDir: string,
  remote: RemoteContext | undefined,
): { pointer: PointerInput; details: EntryDetails } {
  const uri = entryUri(entry, root, declaringDir);
  const details: EntryDetails = { path: entry.repoPath ?? entry.path, uri };
  if (entry.hash !== undefined) details.hash = entry.hash;
  if (entry.algorithm !== undefined) details.algorithm = entry.algorithm;
  if (entry.size !== undefined) details.size = entry.size;
  if (entry.nfiles !== undefined) details.nfiles = entry.nfiles;
  if (entry.isDir) details.isDir = true;
  if (entry.cache === false) details.cache = false;
  if (entry.remote !== undefined) details.remote = entry.remote;
  if (entry.cloudVersioned) details.cloudVersioned = true;
  if (remote && entry.repoPath !== undefined) {
    const location = remoteLocation(entry, remote.config, remote.dvcDir);
    if (location) details.remoteUrl = location.url;
  }
  return { pointer: { uri, version: entry.hash ?? '' }, details };
}

/** The real path of an existing local path (symlinks resolved, as git reports a repo root), else the path. */
function realOrSame(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * The upstream pointer of a `dvc import`: the imported path in the source repository, at the same
 * hash. A local source (a path or `file://` URL) gives the `file://` URI that syncing the source
 * repository produces, so the two lineages join; a remote one gives `<url>#<path>`.
 */
export function importSourcePointer(
  source: DvcImport,
  hash: string | undefined,
  root: string,
  declaringDir: string,
): PointerInput {
  const version = hash ?? '';
  const url = source.url;
  if (/^file:/i.test(url)) {
    let base = normalizeUri(url, { cwd: root });
    try {
      base = `file://${realOrSame(fileURLToPath(base))}`;
    } catch {
      // file://host/...: not a local path.
    }
    return { uri: normalizeUri(`${base}/${source.path}`, { cwd: root }), version, type: 'data' };
  }
  const hasScheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(url);
  const scpLike = /^([^/\\@]+@[^/:]+):(.*)$/.exec(url);
  if (!hasScheme && !scpLike) {
    const base = realOrSame(resolve(root, declaringDir, url.replace(/\\/g, '/')));
    return { uri: normalizeUri(`${base}/${source.path}`, { cwd: root }), version, type: 'data' };
  }
  const remote = scpLike && !hasScheme ? `ssh://${scpLike[1]}/${scpLike[2]?.replace(/^\//, '')}` : url;
  return { uri: `${remote}#${source.path}`, version, type: 'data' };
}
