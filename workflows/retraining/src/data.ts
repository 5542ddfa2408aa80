/**
 * Files on the Node side: a local copy of exactly one DVC data version, content digests, and the
 * default feature reader of the drift check (numeric CSV columns).
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, rename, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidInputError, NotFoundError } from '@mltrace/core';
import type { DvcPointer } from '@mltrace/dvc';
import { execa } from 'execa';
import type { FeatureColumns } from './drift.js';
import type { DatasetRef } from './types.js';

/** A local path from a `file://` URI or a path. */
export function localPathOf(uri: string): string {
  return uri.startsWith('file:') ? fileURLToPath(uri) : uri;
}

/** The hex digest of a file's content. */
export function fileDigest(path: string, algorithm: 'md5' | 'sha256' = 'sha256'): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash(algorithm);
    createReadStream(path)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolvePromise(hash.digest('hex')));
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Where DVC keeps a file's content in a cache or a local remote (DVC 3 layout, then DVC 2). */
function objectPaths(root: string, md5: string): string[] {
  return [
    join(root, 'files', 'md5', md5.slice(0, 2), md5.slice(2)),
    join(root, md5.slice(0, 2), md5.slice(2)),
  ];
}

/** The cache directory a repository's `.dvc/config` names (`[cache] dir = ...`), else `.dvc/cache`. */
async function cacheDir(repo: string): Promise<string> {
  const dvcDir = join(repo, '.dvc');
  for (const file of ['config.local', 'config']) {
    const text = await readFile(join(dvcDir, file), 'utf8').catch(() => '');
    const section = /\[cache\]([^[]*)/.exec(text)?.[1] ?? '';
    const dir = /^\s*dir\s*=\s*(.+?)\s*$/m.exec(section)?.[1];
    if (dir) return resolve(dvcDir, dir);
  }
  return join(dvcDir, 'cache');
}

/** Options of {@link materializeDvcVersion}. */
export interface MaterializeOptions {
  /** Where copies are kept: `<dir>/<md5>/<file name>`. */
  dir: string;
  /** The `dvc` executable, used when the version is in neither the cache nor a local remote. @default 'dvc' */
  dvcCommand?: string;
  /** Environment of `dvc`. @default process.env */
  env?: Record<string, string | undefined>;
}

/**
 * A local copy of exactly one DVC data version: from the repository's cache, else from a local
 * remote, else through `dvc get --rev`; the content is checked against the DVC md5. The copy lives
 * at `<dir>/<md5>/<file name>`, so a version is copied once and never overwritten.
 *
 * @throws {NotFoundError} when no source has the content
 */
export async function materializeDvcVersion(
  pointer: DvcPointer,
  options: MaterializeOptions,
): Promise<string> {
  if (pointer.isDir) {
    throw new InvalidInputError(`${pointer.path} is a tracked directory; pin one file inside it`);
  }
  const target = join(options.dir, pointer.version, basename(pointer.path));
  if (await exists(target)) return target;
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.partial-${process.pid}`;
  const candidates = objectPaths(await cacheDir(pointer.repo), pointer.version);
  if (pointer.remoteUrl && isAbsolute(pointer.remoteUrl)) candidates.push(pointer.remoteUrl);
  let copied = false;
  for (const source of candidates) {
    if (!(await exists(source))) continue;
    await copyFile(source, partial);
    copied = true;
    break;
  }
  if (!copied) {
    try {
      await execa(
        options.dvcCommand ?? 'dvc',
        ['get', pointer.repo, pointer.path, '--rev', pointer.commit, '-o', partial, '--force'],
        { env: { ...(options.env ?? process.env), DVC_NO_ANALYTICS: '1' }, stdin: 'ignore' },
      );
    } catch (cause) {
      throw new NotFoundError(
        `the content of ${pointer.path}@${pointer.version} (commit ${pointer.commit.slice(0, 8)}) is in neither the DVC cache nor a local remote, and \`dvc get\` failed`,
        { cause, hint: `run \`dvc pull ${pointer.path}\` in ${pointer.repo}` },
      );
    }
  }
  if (pointer.algorithm === 'md5') {
    const digest = await fileDigest(partial, 'md5');
    if (digest !== pointer.version) {
      throw new InvalidInputError(
        `the cached content of ${pointer.path} has md5 ${digest}, not the recorded ${pointer.version}: the DVC cache is corrupt`,
        { hint: 'run `dvc fetch` or `dvc pull --force` in the repository' },
      );
    }
  }
  await rename(partial, target);
  return target;
}

/**
 * The default feature reader of the drift check: every column of a CSV file (header line, comma
 * separated, no quoted fields) whose cells are all numbers.
 */
export async function readCsvFeatures(dataset: DatasetRef): Promise<FeatureColumns> {
  const text = await readFile(localPathOf(dataset.uri), 'utf8');
  const lines = text.split(/\r?\n/).filter((line) => line.length > 0);
  const header = (lines[0] ?? '').split(',').map((name) => name.trim());
  const columns = header.map(() => [] as number[]);
  const numeric = header.map(() => true);
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i]!.split(',');
    for (let j = 0; j < header.length; j++) {
      if (!numeric[j]) continue;
      const cell = cells[j]?.trim() ?? '';
      const value = Number(cell);
      if (cell === '' || Number.isNaN(value)) numeric[j] = false;
      else columns[j]!.push(value);
    }
  }
  const out: Record<string, number[]> = {};
  header.forEach((name, j) => {
    if (numeric[j] && name !== '') out[name] = columns[j]!;
  });
  return out;
}
