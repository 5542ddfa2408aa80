import { readFile as fsReadFile, writeFile as fsWriteFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { makeTempDir, removeDir } from './process.js';
import { toolPath } from './tools.js';

/** Options of {@link createDvcWorkspace}. */
export interface CreateDvcWorkspaceOptions {
  /** Add a local default remote named `local` at `<tmp>/remote`. @default true */
  remote?: boolean;
  /** Base environment (`MLTRACE_TOOLS_DIR` locates dvc). @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** A throwaway git + DVC repository in a temp dir, isolated from the user's git and DVC config. */
export interface DvcWorkspace {
  /** The temp dir holding everything (repo, remote, DVC site cache, configs). */
  root: string;
  /** The git + DVC repository (working tree). */
  dir: string;
  /** The local remote's directory (objects under `files/md5/<2>/<30>`); undefined without a remote. */
  remoteDir: string | undefined;
  /** The environment every git and dvc call gets (isolated configs, no analytics, offline). */
  env: Record<string, string>;
  /** Runs `git <args>` in the repository; resolves to its trimmed stdout. */
  git(...args: string[]): Promise<string>;
  /** Runs `dvc <args>` in the repository; resolves to its trimmed stdout. */
  dvc(...args: string[]): Promise<string>;
  /** Writes a file (creating directories) relative to the repository; resolves to its absolute path. */
  writeFile(relativePath: string, content: string | Uint8Array): Promise<string>;
  /** Reads a file relative to the repository as UTF-8. */
  readFile(relativePath: string): Promise<string>;
  /** `git add -A` and `git commit -m message`; resolves to the new commit's sha. */
  commit(message: string): Promise<string>;
  /** Deletes the temp dir. */
  cleanup(): Promise<void>;
}

/**
 * Creates a git repository (`main` branch, a test user) with `dvc init` committed and, by default,
 * a local default remote. Every call runs with `DVC_NO_ANALYTICS`, `DVC_STUDIO_OFFLINE`, a private
 * DVC site cache and global/system config dirs, and git without global/system config.
 *
 * @example
 * const ws = await createDvcWorkspace();
 * await ws.writeFile('data/raw.csv', 'id,val\n1,a\n');
 * await ws.dvc('add', 'data/raw.csv');
 * await ws.commit('data v1');
 * await ws.dvc('push');
 */
export async function createDvcWorkspace(options: CreateDvcWorkspaceOptions = {}): Promise<DvcWorkspace> {
  const baseEnv = options.env ?? process.env;
  const dvcBin = toolPath('dvc', baseEnv);
  const root = await makeTempDir('dvc');
  const dir = join(root, 'repo');
  const remoteDir = options.remote === false ? undefined : join(root, 'remote');
  const configDir = join(root, 'config');
  await Promise.all([
    mkdir(dir),
    mkdir(join(configDir, 'dvc-global'), { recursive: true }),
    mkdir(join(configDir, 'dvc-system'), { recursive: true }),
  ]);
  const gitConfig = join(configDir, 'gitconfig');
  await fsWriteFile(gitConfig, '[user]\n\tname = mltrace tests\n\temail = tests@mltrace.invalid\n');
  const env: Record<string, string> = {
    DVC_NO_ANALYTICS: '1',
    DVC_STUDIO_OFFLINE: '1',
    DVC_IGNORE_ISATTY: '1',
    DVC_SITE_CACHE_DIR: join(root, 'site-cache'),
    DVC_GLOBAL_CONFIG_DIR: join(configDir, 'dvc-global'),
    DVC_SYSTEM_CONFIG_DIR: join(configDir, 'dvc-system'),
    GIT_CONFIG_GLOBAL: gitConfig,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
  };
  const run = async (command: string, args: string[]) => {
    const result = await execa(command, args, { cwd: dir, env: { ...baseEnv, ...env }, stdin: 'ignore' });
    return result.stdout.trim();
  };
  const git = (...args: string[]) => run('git', args);
  const dvc = (...args: string[]) => run(dvcBin, args);
  const inRepo = (relativePath: string) => {
    const path = resolve(dir, relativePath);
    if (!path.startsWith(`${dir}/`)) throw new Error(`${relativePath} is outside the workspace ${dir}`);
    return path;
  };
  const workspace: DvcWorkspace = {
    root,
    dir,
    remoteDir,
    env,
    git,
    dvc,
    async writeFile(relativePath, content) {
      const path = inRepo(relativePath);
      await mkdir(dirname(path), { recursive: true });
      await fsWriteFile(path, content);
      return path;
    },
    readFile: (relativePath) => fsReadFile(inRepo(relativePath), 'utf8'),
    async commit(message) {
      await git('add', '-A');
      await git('commit', '-q', '-m', message);
      return git('rev-parse', 'HEAD');
    },
    cleanup: () => removeDir(root),
  };
  try {
    await git('init', '-q', '-b', 'main');
    await dvc('init', '-q');
    if (remoteDir !== undefined) await dvc('remote', 'add', '-d', 'local', remoteDir);
    await workspace.commit('Initialize DVC');
  } catch (error) {
    await workspace.cleanup();
    throw error;
  }
  return workspace;
}
