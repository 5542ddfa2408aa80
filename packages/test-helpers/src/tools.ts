import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A Python tool installed by `scripts/setup.sh` into the tools virtual environment. */
export type ToolName = 'temporal' | 'mlflow' | 'dvc';

/** A tool the tests need is not installed. */
export class ToolNotFoundError extends Error {
  override readonly name = 'ToolNotFoundError';
  /** The tool, e.g. `temporal` or `chromium`. */
  readonly tool: string;
  /** Where it was looked for. */
  readonly path: string;

  constructor(tool: string, path: string, hint: string) {
    super(`${tool} is not installed: no executable at ${path}. ${hint}`);
    this.tool = tool;
    this.path = path;
  }
}

const SETUP_HINT =
  'Run `bash scripts/setup.sh` at the repository root (idempotent; installs the pinned tools).';

let cachedRoot: string | undefined;

/**
 * The repository root: the nearest directory above this module holding `tools/requirements.txt`.
 */
export function repoRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  const start = dirname(fileURLToPath(import.meta.url));
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'tools', 'requirements.txt'))) {
      cachedRoot = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no tools/requirements.txt in ${start} or any directory above it`);
    dir = parent;
  }
}

/**
 * The tools directory: `$MLTRACE_TOOLS_DIR`, else `<repo>/.tools` (as in `scripts/setup.sh`).
 */
export function toolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.MLTRACE_TOOLS_DIR || join(repoRoot(), '.tools');
}

function assertExecutable(tool: string, path: string, hint: string): string {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new ToolNotFoundError(tool, path, hint);
  }
  return path;
}

/**
 * The absolute path of a tool in `<tools dir>/venv/bin`.
 * @throws {ToolNotFoundError} when it is missing, telling to run `bash scripts/setup.sh`
 */
export function toolPath(name: ToolName, env: NodeJS.ProcessEnv = process.env): string {
  return assertExecutable(name, join(toolsDir(env), 'venv', 'bin', name), SETUP_HINT);
}

/**
 * The Chromium executable: `$MLTRACE_CHROMIUM`, else `/usr/bin/chromium`.
 * @throws {ToolNotFoundError} when it is missing
 */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return assertExecutable(
    'chromium',
    env.MLTRACE_CHROMIUM || '/usr/bin/chromium',
    `${SETUP_HINT} Or set MLTRACE_CHROMIUM to a Chromium binary.`,
  );
}
