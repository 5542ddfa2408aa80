import { execFileSync } from 'node:child_process';

/**
 * The worker's git commit: `MLTRACE_GIT_COMMIT`, else `git rev-parse HEAD` in `cwd`, else
 * undefined (not a repository, no git). Called once per worker start, never per activity.
 */
export function resolveGitCommit(env: Record<string, string | undefined>, cwd: string): string | undefined {
  const fromEnv = env.MLTRACE_GIT_COMMIT?.trim();
  if (fromEnv) return fromEnv;
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd,
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return /^[0-9a-f]{7,64}$/.test(out) ? out : undefined;
  } catch {
    return undefined;
  }
}

/** The commit the plugin records: the `gitCommit` option, or {@link resolveGitCommit}. */
export function gitCommitOf(options: {
  gitCommit: string | false | undefined;
  env: Record<string, string | undefined>;
  cwd: string;
}): string | undefined {
  if (options.gitCommit === false) return undefined;
  return options.gitCommit ?? resolveGitCommit(options.env, options.cwd);
}
