/**
 * Packs the packages meant for users with `npm pack`, as a registry would get them, and reads
 * what is in each tarball. Shared by the pack check and the outside-install test.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '@mltrace/test-helpers';

const run = promisify(execFile);

/** Every package meant for users, by workspace folder. */
export const USER_PACKAGES = [
  'packages/core',
  'packages/store',
  'packages/temporal',
  'packages/cli',
  'packages/server',
  'bridges/dvc',
  'bridges/mlflow',
  'workflows/retraining',
] as const;

/** One packed package. */
export interface Tarball {
  /** `@mltrace/core`... */
  name: string;
  version: string;
  /** Absolute path of the `.tgz`. */
  file: string;
  /** Size of the `.tgz`, bytes. */
  size: number;
  unpackedSize: number;
  /** Paths inside the package (`dist/index.js`, `package.json`...). */
  files: string[];
}

interface PackJson {
  name: string;
  version: string;
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

/** Packs every user package (built already: `npm test` builds first) into `dir`. */
export async function packAll(dir: string): Promise<Tarball[]> {
  await mkdir(dir, { recursive: true });
  const args = ['pack', '--json', '--pack-destination', dir, ...USER_PACKAGES.flatMap((p) => ['-w', p])];
  const { stdout } = await run('npm', args, { cwd: repoRoot(), maxBuffer: 64 * 1024 * 1024 });
  const packed = JSON.parse(stdout) as PackJson[];
  return packed.map((p) => ({
    name: p.name,
    version: p.version,
    file: join(dir, p.filename),
    size: p.size,
    unpackedSize: p.unpackedSize,
    files: p.files.map((f) => f.path).sort(),
  }));
}

/** The `package.json` of a workspace package, as packed. */
export async function manifestOf(folder: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(repoRoot(), folder, 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;
}
