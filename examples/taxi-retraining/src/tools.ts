/**
 * Where the example finds the real tools it drives: the Temporal CLI, MLflow and DVC installed by
 * the repository's `scripts/setup.sh` into `.tools/venv/bin`, else on `PATH`.
 * @module
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A tool the demo runs. */
export type Tool = 'temporal' | 'mlflow' | 'dvc' | 'git';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The repository root above this module (the directory holding `tools/requirements.txt`), if any. */
export function repositoryRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'tools', 'requirements.txt'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * The command to run a tool: `$MLTRACE_TOOLS_DIR/venv/bin/<tool>`, else the repository's
 * `.tools/venv/bin/<tool>`, else the bare name (looked up on `PATH`).
 */
export function toolCommand(tool: Tool, env: Record<string, string | undefined> = process.env): string {
  if (tool === 'git') return 'git';
  const root = repositoryRoot();
  const dirs = [env.MLTRACE_TOOLS_DIR, root ? join(root, '.tools') : undefined].filter(
    (d): d is string => typeof d === 'string' && d !== '',
  );
  for (const dir of dirs) {
    const path = join(dir, 'venv', 'bin', tool);
    if (executable(path)) return path;
  }
  return tool;
}

/**
 * The Python of the taxi worker (scikit-learn, the Temporal Python SDK, mltrace-temporal):
 * `$MLTRACE_TOOLS_DIR/python-venv/bin/python`, else the repository's `.tools/python-venv`, made
 * by `scripts/setup.sh` from `python/requirements.txt`.
 * @throws Error naming the set-up step when neither exists
 */
export function pythonCommand(env: Record<string, string | undefined> = process.env): string {
  const root = repositoryRoot();
  const dirs = [env.MLTRACE_TOOLS_DIR, root ? join(root, '.tools') : undefined].filter(
    (d): d is string => typeof d === 'string' && d !== '',
  );
  for (const dir of dirs) {
    const path = join(dir, 'python-venv', 'bin', 'python');
    if (executable(path)) return path;
  }
  throw new Error(
    `the Python environment of the taxi worker is missing (looked in ${dirs.map((d) => join(d, 'python-venv')).join(', ') || 'no tools directory'}): run bash scripts/setup.sh`,
  );
}
