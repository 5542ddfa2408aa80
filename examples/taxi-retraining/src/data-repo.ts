/**
 * The example's data, versioned the way a team would: a git repository with DVC, where
 * `data/trips.csv` gets a new version each month (`dvc add`, a commit, a tag `YYYY-MM`).
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { generateTrips } from './generate.js';
import { toolCommand } from './tools.js';

/** Options of {@link createTripsRepo}. */
export interface TripsRepoOptions {
  /** The repository directory (created). */
  dir: string;
  /** The months to commit, in order. @default ['2020-01', '2020-02', '2020-03'] */
  months?: string[];
  /** Trips per month. @default 12000 */
  rows?: number;
  /** @default 7 */
  seed?: number;
  /** Environment of git and dvc. @default process.env */
  env?: Record<string, string | undefined>;
}

/** A repository made by {@link createTripsRepo}. */
export interface TripsRepo {
  dir: string;
  /** Month tag → commit sha. */
  commits: Record<string, string>;
}

/** The environment git and DVC run with: quiet, offline, no user or system configuration. */
export function isolatedEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return {
    ...env,
    DVC_NO_ANALYTICS: '1',
    DVC_STUDIO_OFFLINE: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'mltrace demo',
    GIT_AUTHOR_EMAIL: 'demo@mltrace.invalid',
    GIT_COMMITTER_NAME: 'mltrace demo',
    GIT_COMMITTER_EMAIL: 'demo@mltrace.invalid',
  };
}

/**
 * Creates the trips repository: `git init`, `dvc init`, then for each month the generated trips
 * as `data/trips.csv`, `dvc add`, a commit and a tag named after the month.
 */
export async function createTripsRepo(options: TripsRepoOptions): Promise<TripsRepo> {
  const env = isolatedEnv(options.env ?? process.env);
  const dir = options.dir;
  const dvc = toolCommand('dvc', env);
  const run = async (command: string, args: string[]) =>
    (await execa(command, args, { cwd: dir, env, stdin: 'ignore' })).stdout.trim();
  await mkdir(join(dir, 'data'), { recursive: true });
  await run('git', ['init', '-q', '-b', 'main']);
  await run(dvc, ['init', '-q']);
  await run('git', ['commit', '-q', '-m', 'Initialize DVC']);
  const commits: Record<string, string> = {};
  for (const month of options.months ?? ['2020-01', '2020-02', '2020-03']) {
    await writeFile(
      join(dir, 'data', 'trips.csv'),
      generateTrips({ month, rows: options.rows ?? 12_000, seed: options.seed ?? 7 }),
    );
    await run(dvc, ['add', '-q', 'data/trips.csv']);
    await run('git', ['add', 'data/trips.csv.dvc', 'data/.gitignore']);
    await run('git', ['commit', '-q', '-m', `Yellow-taxi trips of ${month}`]);
    await run('git', ['tag', month]);
    commits[month] = await run('git', ['rev-parse', 'HEAD']);
  }
  return { dir, commits };
}
